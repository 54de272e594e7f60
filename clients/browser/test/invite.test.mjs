// Tessera's invitation page (ZITADEL's login path /ui/login/user/invite) in headless Chromium,
// driven as the invited user would: the test process invites a user through ZITADEL's user
// service v2 with dev mode's administrator PAT (CreateUser with a returned code, then
// CreateInviteCode with a returned code), builds the link ZITADEL's login UI takes, and the
// browser opens it. Covers the form for the account; a password the browser itself refuses
// (minlength) and, sent regardless, the server's answer; a wrong code, which leaves the form
// usable; the right code with a good password, which readies the account and proves its
// address; sign-in with the new password on /ui/sign-in; and the used link, refused.
//
// The tests run in order on one user and one page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { uniqueEmail, useSelfService } from './harness.mjs';

const ui = useSelfService();
const email = uniqueEmail('invited');
const NEW_PASSWORD = 'invited horse';
const INVITE_PAGE = '/ui/login/user/invite';
const UNUSABLE_LINK = 'This link does not work: it is wrong, was used already, or has expired. Ask for a new one.';

let userId;
let orgId;
let inviteCode;
let inviteLink; // on the server's origin, as ZITADEL's login UI takes it
let accepted = false; // the invitation was accepted (the tests after it need that)

// ---- the ZITADEL API, from the test process

/** `method path` with the administrator PAT, which must answer `status`; the JSON body. */
async function ok(method, path, body, status = 200) {
  const response = await fetch(new URL(path, ui.origin), {
    method,
    headers: {
      authorization: `Bearer ${ui.adminPat}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const sent = body === undefined ? '' : JSON.stringify(body);
  assert.equal(response.status, status, `${method} ${path} ${sent}\n  -> ${response.status} ${text}`);
  return JSON.parse(text);
}

/** GetUserByID: the user. */
const userOf = async (id) => (await ok('GET', `/v2/users/${id}`)).user;

// ---- the page

/** Waits for the page to arrive at `path` (query included, if given). */
const arrival = (page, path) => page.waitForURL((url) => url.pathname + (path.includes('?') ? url.search : '') === path);

const noticeText = (page) => page.locator('#notice').textContent();

/** The link's query again, with `notice`: where a refused submission sends the browser. */
function againPath(code, notice) {
  const query = new URLSearchParams({ userID: userId, orgID: orgId, loginname: email, code, notice });
  return `${INVITE_PAGE}?${query}`;
}

/** Asserts the invitation form for the user, with `code` in the code field and no password. */
async function assertForm(page, code) {
  assert.ok(await page.locator('form#invite').isVisible(), 'the form shows');
  assert.equal((await page.locator('#invite-account').textContent()).trim(), `Choose a password for ${email}.`);
  assert.equal(await page.inputValue('#invite-code'), code);
  assert.equal(await page.locator('#invite-code').getAttribute('name'), 'code');
  assert.equal(await page.inputValue('#password'), '');
  assert.equal(await page.locator('#password').getAttribute('type'), 'password');
  assert.ok(await page.locator('#invite-code').isEditable(), 'the code can be typed');
  assert.ok(await page.locator('#password').isEditable(), 'the password can be typed');
  assert.ok(await page.locator('#invite-submit').isEnabled(), 'the button can be pressed');
  assert.equal(await page.locator('#invite-message').count(), 0, 'nothing is done yet');
}

/** Fills in the form and presses the button; resolves to the response to the POST. */
async function submitInvite(page, code, password) {
  await page.fill('#invite-code', code);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === INVITE_PAGE),
    page.click('#invite-submit'),
  ]);
  await page.waitForLoadState();
  return response;
}

/** The sign-in form, filled in and sent; resolves to the response to the POST. */
async function submitPassword(page, address, password) {
  await page.fill('#email', address);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/ui/sign-in'),
    page.click('#sign-in-submit'),
  ]);
  await page.waitForLoadState();
  return response;
}

test('an invitation link (CreateInviteCode with a returned code) opens the form for its account, the code filled in', () =>
  ui.step(async (page) => {
    const created = await ok(
      'POST',
      '/v2/users/human',
      { profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: { email, returnCode: {} } },
      201,
    );
    userId = created.userId;
    assert.match(userId ?? '', /^\d+$/, JSON.stringify(created));
    const invited = await ok('POST', `/v2/users/${userId}/invite_code`, { returnCode: {} });
    inviteCode = invited.inviteCode;
    assert.match(inviteCode ?? '', /^\S+$/, JSON.stringify(invited));
    const user = await userOf(userId);
    orgId = user.details?.resourceOwner;
    assert.match(orgId ?? '', /\S/, JSON.stringify(user));
    assert.notEqual(user.human?.email?.isVerified, true, 'not verified before the invitation is accepted');

    const query = new URLSearchParams({ userID: userId, loginname: email, code: inviteCode, orgID: orgId });
    inviteLink = `${ui.origin}${INVITE_PAGE}?${query}`;
    const response = await page.goto(inviteLink);
    assert.equal(response.status(), 200, await page.content());
    await assertForm(page, inviteCode);
    assert.equal(await page.locator('#notice').count(), 0, 'no notice yet');
    assert.equal(await page.locator('form#invite').getAttribute('method'), 'post');
    assert.equal(new URL(await page.$eval('form#invite', (form) => form.action)).pathname, INVITE_PAGE);
  }));

test('a short password: the browser refuses to send it (minlength); sent regardless, the server shows the form again with a notice', () =>
  ui.step(async (page) => {
    assert.ok(inviteLink, 'the invitation failed above');
    await page.goto(inviteLink);
    await page.fill('#password', 'short');
    let posted = false;
    const record = (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === INVITE_PAGE) posted = true;
    };
    page.on('request', record);
    try {
      await page.click('#invite-submit');
      // Give a submission the time to leave, if the browser were to let it.
      await page.waitForTimeout(500);
    } finally {
      page.off('request', record);
    }
    assert.equal(posted, false, 'the browser sent a password shorter than minlength');
    assert.equal(await page.$eval('#password', (input) => input.validity.tooShort), true);
    assert.equal(new URL(page.url()).search, new URL(inviteLink).search, 'the page stays');

    // The server's own answer, without the browser's check.
    await page.$eval('#password', (input) => input.removeAttribute('minlength'));
    const refused = await submitInvite(page, inviteCode, 'short');
    assert.equal(refused.status(), 303);
    await arrival(page, againPath(inviteCode, 'weak-password'));
    assert.equal(await noticeText(page), 'Choose a password of at least 6 characters.');
    await assertForm(page, inviteCode);
  }));

test('a wrong code: the form again, with the notice, still usable; the invitation is not used', () =>
  ui.step(async (page) => {
    assert.ok(inviteLink, 'the invitation failed above');
    await page.goto(inviteLink);
    const wrong = (inviteCode[0] === 'A' ? 'B' : 'A') + inviteCode.slice(1);
    const refused = await submitInvite(page, wrong, NEW_PASSWORD);
    assert.equal(refused.status(), 303);
    await arrival(page, againPath(wrong, 'invalid-code'));
    assert.equal(await noticeText(page), 'That code is not right. Try again.');
    // The code typed stays in its field, to be corrected.
    await assertForm(page, wrong);
    const user = await userOf(userId);
    assert.notEqual(user.human?.email?.isVerified, true, 'a wrong code proves nothing');
  }));

test('the right code and a good password, typed into the form the wrong code left: the account is ready, its address confirmed', () =>
  ui.step(async (page) => {
    assert.ok(inviteLink, 'the invitation failed above');
    assert.equal(new URL(page.url()).pathname, INVITE_PAGE, 'the test above failed');
    const done = await submitInvite(page, inviteCode, NEW_PASSWORD);
    assert.equal(done.status(), 200, await page.content());
    assert.equal(new URL(page.url()).pathname, INVITE_PAGE);
    const message = (await page.locator('#invite-message').textContent()).trim();
    assert.ok(message.startsWith('Your account is ready'), message);
    assert.equal(await page.locator('#invite-next').getAttribute('href'), '/ui/sign-in');
    assert.equal(await page.locator('form#invite').count(), 0, 'the form is gone');
    assert.equal(await page.locator('#notice').count(), 0, 'no notice');
    accepted = true;

    const user = await userOf(userId);
    assert.equal(user.human?.email?.isVerified, true, JSON.stringify(user));
  }));

test('the page’s sign-in link: the email and the new password sign in on /ui/sign-in, to the factor list', () =>
  ui.step(async (page) => {
    assert.ok(accepted, 'the invitation was not accepted above');
    await page.click('#invite-next');
    await arrival(page, '/ui/sign-in');

    const refused = await submitPassword(page, email, 'not the password');
    assert.equal(refused.status(), 401);
    assert.equal(await noticeText(page), 'Wrong email or password.');

    const signedIn = await submitPassword(page, email, NEW_PASSWORD);
    assert.equal(signedIn.status(), 303);
    await page.waitForURL(`${ui.origin}/ui/factors`);
    assert.ok((await page.locator('header').textContent()).includes(email), 'signed in as the invited user');
    assert.equal(await page.locator('#no-factors').count(), 1);
  }));

test('the used link: the form shows, but sending it is refused (400) and changes no password', () =>
  ui.step(async (page) => {
    assert.ok(accepted, 'the invitation was not accepted above');
    await page.click('#sign-out');
    await arrival(page, '/ui/sign-in');

    const response = await page.goto(inviteLink);
    assert.equal(response.status(), 200, 'a visit uses nothing up: the page shows the form');
    await assertForm(page, inviteCode);
    const refused = await submitInvite(page, inviteCode, 'another horse');
    assert.equal(refused.status(), 400);
    assert.equal((await page.locator('#invite-message').textContent()).trim(), UNUSABLE_LINK);
    assert.equal(await page.locator('form#invite').count(), 0, 'no form');
    const html = await page.content();
    assert.ok(!html.includes(email), 'the page names no account');

    // The password chosen with the invitation still signs in; the one sent with the used link does not.
    await page.goto(`${ui.origin}/ui/sign-in`);
    assert.equal((await submitPassword(page, email, 'another horse')).status(), 401);
    assert.equal((await submitPassword(page, email, NEW_PASSWORD)).status(), 303);
    await page.waitForURL(`${ui.origin}/ui/factors`);
  }));
