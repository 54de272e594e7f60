// Tessera's self-service page at /ui/ in headless Chromium, end to end: password sign-in, an
// authenticator app (the secret read off the page, codes from the RFC 6238 implementation
// below, not the server's), a security key (Chromium's virtual authenticator, through the
// DevTools Protocol's WebAuthn domain), sign-in with either as second factor, a wrong code,
// and removal. Then passkeys, on a second user without second factors: one added (a virtual
// authenticator of its own, verifying its user), sign-in with it from the email alone, the
// refusals (no address, an unknown one, an account without a passkey: one message), a passkey
// sign-in not finished reaching no page, and removal.
//
// The tests run in order on one page (the first user's, then the second's). With
// UPDATE_SCREENSHOTS=1 they also write the README's screenshots to docs/screenshots/.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import { PASSWORD, sleep, uniqueEmail, useSelfService } from './harness.mjs';

const ui = useSelfService();
const email = uniqueEmail('ada');
const KEY_NAME = 'Desk key';
const STEP_MS = 30_000;
const passkeyEmail = uniqueEmail('grace'); // the passkey's user: no second factor
const PASSKEY_NAME = 'Work laptop';
const NO_PASSKEY = 'There is no passkey for this account on this site.';

let totpSecret; // base32, from the enrolment page
let lastTotpStep; // the last time step whose code went to the server (each counts once)
let cdp; // the DevTools session of the page
let authenticatorId; // the virtual authenticator
let keyCredential; // the virtual authenticator's credential, as at enrolment
let passkeyAuthenticatorId; // the passkey's virtual authenticator (internal, verifies its user)
let passkeyCredential; // its credential, as at enrolment

/** RFC 4648 base32 (no padding needed) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const digit = alphabet.indexOf(char);
    assert.ok(digit >= 0, `not base32: ${text}`);
    value = ((value << 5) | digit) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP with HMAC-SHA1 (RFC 4226 truncation) for time step `step`. */
function totp(key, step, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits).padStart(digits, '0');
}

const currentStep = () => Math.floor(Date.now() / STEP_MS);

/**
 * A code for a time step no code has been used in yet (waiting for the next step if needed,
 * and away from a step's last second so the code reaches the server in its own step).
 */
async function freshTotpCode() {
  for (;;) {
    const now = Date.now();
    const step = Math.floor(now / STEP_MS);
    const left = (step + 1) * STEP_MS - now;
    if ((lastTotpStep === undefined || step > lastTotpStep) && left > 2_000) {
      lastTotpStep = step;
      return totp(base32(totpSecret), step);
    }
    await sleep(left + 100);
  }
}

/** Waits for the page to arrive at `path` (query included, if given). */
const arrival = (page, path) => page.waitForURL((url) => url.pathname + (path.includes('?') ? url.search : '') === path);

/** Clicks `selector` and waits for the page to arrive at `path`. */
async function clickTo(page, selector, path) {
  await page.click(selector);
  await arrival(page, path);
}

/**
 * Clicks a button the page's script handles (WebAuthn, then a navigation to `path`); fails as
 * soon as the script shows an error in the notice instead.
 */
async function scriptTo(page, selector, path) {
  const state = await page.evaluate(() => ({ href: location.href, notice: document.getElementById('notice')?.textContent ?? null }));
  await page.click(selector);
  const failed = page
    .waitForFunction(
      ({ href, notice }) => location.href === href && (document.getElementById('notice')?.textContent ?? null) !== notice,
      state,
      { polling: 100 },
    )
    .then(async () => {
      throw new Error(`the page's script failed: ${await noticeText(page)}`);
    });
  failed.catch(() => {}); // settles after the race when the page moves on
  await Promise.race([arrival(page, path), failed]);
}

/** The sign-in form, filled in and sent; resolves to the response to the POST. */
async function submitPassword(page, password, address = email) {
  await page.fill('#email', address);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/ui/sign-in'),
    page.click('#sign-in-submit'),
  ]);
  await page.waitForLoadState();
  return response;
}

/** Signs out from the factor list and signs in again with the password: the second factor. */
async function signOutAndIn(page) {
  await clickTo(page, '#sign-out', '/ui/sign-in');
  await submitPassword(page, PASSWORD);
  await page.waitForURL((url) => url.pathname === '/ui/second-factor');
}

/** The factor rows as [kind, text of the first two cells]. */
const factorRows = (page) =>
  page.$$eval('tr.factor', (rows) =>
    rows.map((row) => [row.dataset.kind, ...[...row.cells].slice(0, 2).map((cell) => cell.textContent.trim())]),
  );

/** The passkey rows as the text of their first two cells (name, date added). */
const passkeyRows = (page) =>
  page.$$eval('tr.passkey', (rows) => rows.map((row) => [...row.cells].slice(0, 2).map((cell) => cell.textContent.trim())));

const noticeText = (page) => page.locator('#notice').textContent();

/** The page's session cookie (HttpOnly: read through the browser context), if it has one. */
const sessionCookie = async (page) =>
  (await page.context().cookies()).find((c) => c.name === 'tessera_ui' && c.value !== '')?.value;

/** The UTC date (YYYY-MM-DD), as the factor lists show it. */
const today = () => new Date().toISOString().slice(0, 10);

/**
 * On a fresh sign-in page, "Sign in with a passkey" with `address` typed and no password, for a
 * sign-in the page refuses: resolves to the notice its script shows and the answers to the
 * passkey sign-in requests meanwhile (as [path, status, body]).
 */
async function refusedPasskeySignIn(page, address) {
  await page.goto(`${ui.origin}/ui/sign-in`);
  assert.equal(await page.locator('#notice').count(), 0);
  await page.fill('#email', address);
  assert.equal(await page.inputValue('#password'), '');
  const answers = [];
  const record = (response) => {
    const { pathname } = new URL(response.url());
    if (pathname.startsWith('/ui/sign-in/passkey/')) answers.push(response.text().then((body) => [pathname, response.status(), body]));
  };
  page.on('response', record);
  try {
    await page.click('#passkey-sign-in');
    await page.locator('#notice').waitFor();
    const notice = await noticeText(page);
    assert.equal(page.url(), `${ui.origin}/ui/sign-in`, 'a refused passkey sign-in stays on the sign-in page');
    return { notice, answers: await Promise.all(answers) };
  } finally {
    page.off('response', record);
  }
}

/** `text` as a literal in a regular expression. */
const literal = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the TOTP implementation of this test matches RFC 6238 (SHA-1 test vectors)', () => {
  const key = Buffer.from('12345678901234567890');
  assert.equal(totp(key, Math.floor(59 / 30), 8), '94287082');
  assert.equal(totp(key, Math.floor(1111111109 / 30), 8), '07081804');
  assert.equal(totp(key, Math.floor(2000000000 / 30), 8), '69279037');
  assert.deepEqual(base32('GEZDGNBVGY3TQOJQ'), Buffer.from('1234567890'));
});

test('sign-in: /ui/ leads to the form; a wrong password is refused; the password opens an empty factor list', () =>
  ui.step(async (page) => {
    await ui.rest('/v1/accounts:signUp?key=dev-api-key', { method: 'POST', body: { email, password: PASSWORD } });

    await page.goto(`${ui.origin}/ui/`);
    assert.equal(page.url(), `${ui.origin}/ui/sign-in`);
    await page.fill('#email', email);
    await ui.screenshot('ui-sign-in');

    const refused = await submitPassword(page, 'not the password');
    assert.equal(refused.status(), 401);
    assert.equal(await noticeText(page), 'Wrong email or password.');

    const accepted = await submitPassword(page, PASSWORD);
    assert.equal(accepted.status(), 303);
    await page.waitForURL(`${ui.origin}/ui/factors`);
    assert.equal(await page.locator('#no-factors').count(), 1);
    assert.equal(await page.locator('table#factors').count(), 0);
    assert.match(await page.locator('header').textContent(), new RegExp(literal(email)));
    await ui.screenshot('ui-factors-empty');

    // Signed in, /ui/ is the factor list.
    await page.goto(`${ui.origin}/ui/`);
    assert.equal(page.url(), `${ui.origin}/ui/factors`);
  }));

test('authenticator app: the QR code and secret, a code from the secret, the factor row', () =>
  ui.step(async (page) => {
    await clickTo(page, '#enrol-totp-submit', '/ui/enrol/totp');
    assert.ok(await page.locator('#totp-qr svg').isVisible(), 'the QR code is shown');
    const box = await page.locator('#totp-qr svg').boundingBox();
    assert.ok(box.width >= 200 && box.height >= 200, JSON.stringify(box));
    totpSecret = (await page.locator('code#totp-secret').textContent()).trim();
    assert.match(totpSecret, /^[A-Z2-7]{16,}$/);
    await ui.screenshot('ui-enrol-totp');

    await page.fill('#totp-code', await freshTotpCode());
    await clickTo(page, '#totp-verify-submit', '/ui/factors?notice=totp-added');
    assert.equal(await noticeText(page), 'Your authenticator app is set up.');
    assert.deepEqual(await factorRows(page), [['totp', 'Authenticator app', '']]);
    assert.equal(await page.locator('#no-factors').count(), 0);
    // One authenticator app per user.
    assert.equal(await page.locator('#enrol-totp-submit').isDisabled(), true);
  }));

test('security key: the virtual authenticator creates a credential, the named key is listed', () =>
  ui.step(async (page) => {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: false,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));

    await page.fill('#key-name', KEY_NAME);
    await scriptTo(page, '#enrol-key', '/ui/factors?notice=key-added');
    assert.equal(await noticeText(page), 'Your security key is added.');
    assert.deepEqual(await factorRows(page), [
      ['totp', 'Authenticator app', ''],
      ['key', 'Security key', KEY_NAME],
    ]);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, JSON.stringify(credentials));
    assert.equal(credentials[0].rpId, 'localhost');
    assert.equal(credentials[0].isResidentCredential, false);
    [keyCredential] = credentials;
  }));

test('sign-in with the security key: the password, then the key; the signature counter moved on', () =>
  ui.step(async (page) => {
    assert.ok(keyCredential, 'enrolment failed above');
    await signOutAndIn(page);
    assert.equal(await page.locator('form#totp-form').count(), 1);
    assert.equal(await page.locator('button#key-sign-in').count(), 1);

    await scriptTo(page, '#key-sign-in', '/ui/factors');
    assert.deepEqual((await factorRows(page)).map(([kind]) => kind), ['totp', 'key']);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].credentialId, keyCredential.credentialId);
    assert.ok(
      credentials[0].signCount > keyCredential.signCount,
      `signCount ${keyCredential.signCount} -> ${credentials[0].signCount}`,
    );
  }));

test('a wrong authenticator-app code keeps the visitor at the second factor, with a notice', () =>
  ui.step(async (page) => {
    assert.ok(totpSecret, 'enrolment failed above');
    await signOutAndIn(page);
    assert.match(await page.locator('main').textContent(), new RegExp(`Signed in as ${literal(email)}`));
    assert.equal(await page.locator('form#totp-form').count(), 1);
    assert.equal(await page.locator('button#key-sign-in').count(), keyCredential ? 1 : 0);
    await ui.screenshot('ui-second-factor');

    // Between password and second factor, /ui/ is this page and the factor list is shut.
    await page.goto(`${ui.origin}/ui/`);
    assert.equal(page.url(), `${ui.origin}/ui/second-factor`);
    await page.goto(`${ui.origin}/ui/factors`);
    assert.equal(page.url(), `${ui.origin}/ui/second-factor`);

    // A code no time step near now has (the server accepts adjacent steps).
    const near = new Set(Array.from({ length: 21 }, (_, i) => totp(base32(totpSecret), currentStep() - 10 + i)));
    let wrong = 0;
    while (near.has(String(wrong).padStart(6, '0'))) wrong += 1;
    await page.fill('#totp-code', String(wrong).padStart(6, '0'));
    await clickTo(page, '#totp-submit', '/ui/second-factor?notice=invalid-code');
    assert.equal(await noticeText(page), 'That code is not right. Try again.');
    assert.equal(await page.locator('form#totp-form').count(), 1);
    await page.goto(`${ui.origin}/ui/factors`);
    assert.equal(page.url(), `${ui.origin}/ui/second-factor`, 'a wrong code does not sign in');
  }));

test('sign-in with the authenticator app: after the wrong code, a code from a new time step signs in', () =>
  ui.step(async (page) => {
    assert.ok(totpSecret, 'enrolment failed above');
    assert.equal(new URL(page.url()).pathname, '/ui/second-factor', 'the test above failed');
    await page.fill('#totp-code', await freshTotpCode());
    await clickTo(page, '#totp-submit', '/ui/factors');
    assert.deepEqual((await factorRows(page)).map(([kind]) => kind), keyCredential ? ['totp', 'key'] : ['totp']);
    await ui.screenshot('ui-factors');
  }));

test('removing the security key: its row goes, the authenticator app stays', () =>
  ui.step(async (page) => {
    assert.ok(keyCredential, 'enrolment failed above');
    await page.locator('tr.factor[data-kind=key]').getByRole('button', { name: 'Remove' }).click();
    await page.waitForURL((url) => url.pathname + url.search === '/ui/factors?notice=removed');
    assert.equal(await noticeText(page), 'Removed.');
    assert.deepEqual(await factorRows(page), [['totp', 'Authenticator app', '']]);

    // The next sign-in offers the authenticator app only.
    await signOutAndIn(page);
    assert.equal(await page.locator('form#totp-form').count(), 1);
    assert.equal(await page.locator('button#key-sign-in').count(), 0);
  }));

test('passkey: the virtual authenticator creates one under the name typed; it is listed as a passkey, not a second factor', () =>
  ui.step(async (page) => {
    await ui.rest('/v1/accounts:signUp?key=dev-api-key', { method: 'POST', body: { email: passkeyEmail, password: PASSWORD } });
    await page.goto(`${ui.origin}/ui/sign-in`);
    const accepted = await submitPassword(page, PASSWORD, passkeyEmail);
    assert.equal(accepted.status(), 303);
    await page.waitForURL(`${ui.origin}/ui/factors`);
    assert.match(await page.locator('header').textContent(), new RegExp(literal(passkeyEmail)));
    assert.equal(await page.locator('#no-passkeys').count(), 1);
    assert.equal(await page.locator('table#passkeys').count(), 0);
    assert.equal(await page.inputValue('#passkey-name'), 'Passkey');

    // A platform authenticator that verifies its user (screen lock, biometrics). The security
    // key's authenticator is unplugged first, so that the browser has one to ask.
    if (!cdp) {
      cdp = await page.context().newCDPSession(page);
      await cdp.send('WebAuthn.enable');
    }
    if (authenticatorId) await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    ({ authenticatorId: passkeyAuthenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));

    const before = today();
    await page.fill('#passkey-name', PASSKEY_NAME);
    await scriptTo(page, '#enrol-passkey', '/ui/factors?notice=passkey-added');
    assert.equal(await noticeText(page), 'Your passkey is added. You can sign in with it, without a password.');
    const rows = await passkeyRows(page);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0][0], PASSKEY_NAME);
    assert.ok([before, today()].includes(rows[0][1]), `date added: ${rows[0][1]}`);
    assert.match(await page.locator('tr.passkey').getAttribute('data-id'), /\S/);
    assert.equal(await page.locator('#no-passkeys').count(), 0);
    // Not a second factor: the factor list is still empty.
    assert.equal(await page.locator('#no-factors').count(), 1);
    assert.equal(await page.locator('table#factors').count(), 0);
    assert.equal(await page.locator('tr.factor').count(), 0);
    await ui.screenshot('ui-passkeys');

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: passkeyAuthenticatorId });
    assert.equal(credentials.length, 1, JSON.stringify(credentials));
    assert.equal(credentials[0].rpId, 'localhost');
    [passkeyCredential] = credentials;
  }));

test('a passkey is no second factor: the password alone still signs in, past no second-factor page', () =>
  ui.step(async (page) => {
    assert.ok(passkeyCredential, 'enrolment failed above');
    await clickTo(page, '#sign-out', '/ui/sign-in');
    const accepted = await submitPassword(page, PASSWORD, passkeyEmail);
    assert.equal(accepted.status(), 303);
    await page.waitForURL(`${ui.origin}/ui/factors`);
    assert.equal((await passkeyRows(page)).length, 1);
    assert.equal(await page.locator('#no-factors').count(), 1);
    await page.goto(`${ui.origin}/ui/second-factor`);
    assert.equal(page.url(), `${ui.origin}/ui/factors`);
  }));

test('sign-in with the passkey: the email alone, no password; the factors page, signed in; the signature counter moved on', () =>
  ui.step(async (page) => {
    assert.ok(passkeyCredential, 'enrolment failed above');
    await clickTo(page, '#sign-out', '/ui/sign-in');
    assert.equal(await sessionCookie(page), undefined, 'signed out');
    await page.goto(`${ui.origin}/ui/factors`);
    assert.equal(new URL(page.url()).pathname, '/ui/sign-in', 'signed out, the factor list is shut');

    await page.fill('#email', passkeyEmail);
    assert.equal(await page.inputValue('#password'), '');
    await scriptTo(page, '#passkey-sign-in', '/ui/factors');
    assert.match(await page.locator('header').textContent(), new RegExp(literal(passkeyEmail)));
    assert.deepEqual((await passkeyRows(page)).map(([name]) => name), [PASSKEY_NAME]);
    assert.equal(await page.locator('#no-factors').count(), 1);

    // Signed in, for good: /ui/ and the second-factor page lead to the list.
    await page.goto(`${ui.origin}/ui/`);
    assert.equal(page.url(), `${ui.origin}/ui/factors`);
    await page.goto(`${ui.origin}/ui/second-factor`);
    assert.equal(page.url(), `${ui.origin}/ui/factors`);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: passkeyAuthenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].credentialId, passkeyCredential.credentialId);
    assert.ok(
      credentials[0].signCount > passkeyCredential.signCount,
      `signCount ${passkeyCredential.signCount} -> ${credentials[0].signCount}`,
    );
  }));

test('passkey sign-in refusals: no address typed; an unknown address and an account without a passkey get one answer', () =>
  ui.step(async (page) => {
    if (await page.locator('#sign-out').count()) await clickTo(page, '#sign-out', '/ui/sign-in');

    const empty = await refusedPasskeySignIn(page, '');
    assert.equal(empty.notice, 'Type your email address first.');
    assert.deepEqual(empty.answers, [], 'nothing is sent without an address');

    const unknown = await refusedPasskeySignIn(page, uniqueEmail('nobody'));
    assert.equal(unknown.notice, NO_PASSKEY);
    assert.equal(unknown.answers.length, 1, JSON.stringify(unknown.answers));
    assert.equal(unknown.answers[0][0], '/ui/sign-in/passkey/start');
    assert.equal(unknown.answers[0][1], 400);
    assert.equal(await sessionCookie(page), undefined, 'a refused passkey sign-in starts no session');

    // The first user exists, with an authenticator app and no passkey: the same answer, byte
    // for byte, so the page tells nobody which addresses have accounts.
    const known = await refusedPasskeySignIn(page, email);
    assert.equal(known.notice, NO_PASSKEY);
    assert.deepEqual(known.answers, unknown.answers);
    assert.equal(await sessionCookie(page), undefined, 'a refused passkey sign-in starts no session');
  }));

test('a passkey sign-in started and not finished reaches no page: /ui/, the factor list and the second factor lead to sign-in', () =>
  ui.step(async (page) => {
    assert.ok(passkeyCredential, 'enrolment failed above');
    await page.goto(`${ui.origin}/ui/sign-in`);
    // What the page's script sends first; the browser's authenticator is never asked.
    const started = await page.evaluate(async (address) => {
      const response = await fetch('/ui/sign-in/passkey/start', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': document.getElementById('csrf').dataset.token },
        body: JSON.stringify({ email: address }),
      });
      return { status: response.status, body: await response.json() };
    }, passkeyEmail);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const { publicKey } = started.body.options;
    assert.equal(publicKey.userVerification, 'required');
    assert.deepEqual(
      publicKey.allowCredentials.map((c) => c.id),
      [Buffer.from(passkeyCredential.credentialId, 'base64').toString('base64url')],
      'the challenge is for the passkey',
    );
    assert.ok(await sessionCookie(page), 'the started sign-in is a session');

    for (const path of ['/ui/factors', '/ui/', '/ui/second-factor']) {
      await page.goto(`${ui.origin}${path}`);
      assert.equal(page.url(), `${ui.origin}/ui/sign-in`, `${path} with a passkey sign-in under way`);
      assert.equal(await page.locator('form#sign-in').count(), 1);
    }
  }));

test('removing the passkey: its row goes; a passkey sign-in then finds none, though the authenticator still holds it', () =>
  ui.step(async (page) => {
    assert.ok(passkeyCredential, 'enrolment failed above');
    await page.goto(`${ui.origin}/ui/sign-in`);
    await submitPassword(page, PASSWORD, passkeyEmail);
    await page.waitForURL(`${ui.origin}/ui/factors`);
    await page.locator('tr.passkey').getByRole('button', { name: 'Remove' }).click();
    await page.waitForURL((url) => url.pathname + url.search === '/ui/factors?notice=removed');
    assert.equal(await noticeText(page), 'Removed.');
    assert.deepEqual(await passkeyRows(page), []);
    assert.equal(await page.locator('#no-passkeys').count(), 1);
    assert.equal(await page.locator('table#passkeys').count(), 0);

    await clickTo(page, '#sign-out', '/ui/sign-in');
    const refused = await refusedPasskeySignIn(page, passkeyEmail);
    assert.equal(refused.notice, NO_PASSKEY);
    assert.deepEqual(refused.answers.map(([path, status]) => [path, status]), [['/ui/sign-in/passkey/start', 400]]);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: passkeyAuthenticatorId });
    assert.equal(credentials.length, 1, 'the server forgot the passkey; the authenticator did not');
  }));
