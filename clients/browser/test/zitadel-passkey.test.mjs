// Passkeys through ZITADEL's user service v2 with Chromium's own WebAuthn client: the server's
// options go through PublicKeyCredential.parseCreationOptionsFromJSON/parseRequestOptionsFromJSON
// into navigator.credentials.create/get, and the credential's toJSON() back to the server, as a
// login UI in a browser does it. The authenticator is Chromium's virtual one (DevTools
// Protocol's WebAuthn domain), which the test can read: its credential, user handle and sign
// counter. Covers registration, sign-in through a session whose challenge requires user
// verification (twice), the browser's refusal of a second passkey on one authenticator
// (excludeCredentials), removal, and an authenticator that cannot verify its user.
//
// The page is any page of the server's own origin, http://localhost:<port> (the default
// relying-party id is `localhost`, and the allowed origins are http://localhost on any port);
// the test process calls the ZITADEL API with dev mode's administrator PAT, as a login UI's
// backend would. The tests run in order on one user, one page and one authenticator.
//
// Then registration links, on a second user: v1 management's AddPasswordlessRegistration hands
// out a link to Tessera's own page (ZITADEL's login path /ui/login/login/passwordless/init),
// which the browser opens and drives as its visitor would (the name typed, the button, the
// page's script): an authenticator that cannot verify its user stores nothing and leaves the
// link usable; one that verifies adds the passkey, which the ZITADEL API lists and which signs
// in on /ui/sign-in, and uses the link up; a wrong link shows nothing of the account.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { uniqueEmail, useSelfService } from './harness.mjs';

const ui = useSelfService();
const email = uniqueEmail('passkey');
const PASSKEY_NAME = 'Laptop';
const PASSKEY = 'AUTHENTICATION_METHOD_TYPE_PASSKEY';
// Long enough for a virtual authenticator, which answers at once; short enough that a browser
// waiting for an authenticator that never comes fails the test instead of hanging it.
const CEREMONY_MS = 15_000;

let userId;
let cdp; // the DevTools session of the page
let authenticatorId; // the virtual authenticator that verifies its user
let passkeyId; // the registered passkey, as the server names it
let credentialId; // its credential id (base64url), as the browser named it

// ---- the ZITADEL API, from the test process

/** `method path` with the administrator PAT; `{status, body}`, whatever the status. */
async function zitadel(method, path, body) {
  const response = await fetch(new URL(path, ui.origin), {
    method,
    headers: {
      authorization: `Bearer ${ui.adminPat}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  const sent = body === undefined ? '' : JSON.stringify(body);
  const exchange = `${method} ${path} ${sent}\n  -> ${response.status} ${text}`;
  return { status: response.status, body: json, exchange };
}

/** `zitadel` that must answer `status`; the body. */
async function ok(method, path, body, status = 200) {
  const reply = await zitadel(method, path, body);
  assert.equal(reply.status, status, reply.exchange);
  return reply.body;
}

/** Asserts a ZITADEL error: HTTP status, gRPC code, `"<message> (<id>)"` and the ErrorDetail. */
function assertZitadelError(reply, http, code, message, id) {
  assert.equal(reply.status, http, reply.exchange);
  assert.equal(reply.body.code, code, reply.exchange);
  assert.equal(reply.body.message, `${message} (${id})`, reply.exchange);
  assert.deepEqual(
    reply.body.details,
    [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id, message }],
    reply.exchange,
  );
}

/** RegisterPasskey for the user: the answer (passkeyId and the creation options). */
const startRegistration = (body) => ok('POST', `/v2/users/${userId}/passkeys`, body);

/** VerifyPasskeyRegistration of `id` with the browser's credential: the raw reply. */
const finishRegistration = (id, credential, name) =>
  zitadel('POST', `/v2/users/${userId}/passkeys/${id}`, { publicKeyCredential: credential, passkeyName: name });

/** ListPasskeys of the user. */
const listed = () => ok('POST', `/v2/users/${userId}/passkeys/_search`, {});

/**
 * Asserts that ListPasskeys shows no passkey: ZITADEL lists ready passkeys only, and protobuf
 * JSON leaves an empty list out.
 */
async function assertNoneListed() {
  const list = await listed();
  assert.equal(list.result, undefined, JSON.stringify(list));
  assert.equal(list.details.totalResult ?? '0', '0', JSON.stringify(list));
}

/** The user's authentication method types (protobuf JSON leaves an empty list out). */
const authMethods = async () => (await ok('GET', `/v2/users/${userId}/authentication_methods`)).authMethodTypes ?? [];

/** CreateSession for the user with a WebAuthn challenge that requires user verification: the raw reply. */
const passkeyChallenge = () =>
  zitadel('POST', '/v2/sessions', {
    checks: { user: { userId } },
    challenges: {
      webAuthN: { domain: 'localhost', userVerificationRequirement: 'USER_VERIFICATION_REQUIREMENT_REQUIRED' },
    },
  });

/** SetSession with the browser's assertion: the raw reply. */
const answerChallenge = (sessionId, assertion) =>
  zitadel('PATCH', `/v2/sessions/${sessionId}`, { checks: { webAuthN: { credentialAssertionData: assertion } } });

// ---- the browser

/**
 * In the page: navigator.credentials.create with the server's `publicKey` options (JSON, as the
 * server sent them). `{credential}` (its toJSON()) or `{error: {name, message}}`.
 */
const browserCreate = (publicKey) =>
  ui.page.evaluate(
    async ({ publicKey: json, ms }) => {
      try {
        const credential = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json),
          signal: AbortSignal.timeout(ms),
        });
        return { credential: credential.toJSON() };
      } catch (error) {
        return { error: { name: error.name, message: error.message } };
      }
    },
    { publicKey, ms: CEREMONY_MS },
  );

/** In the page: navigator.credentials.get with the server's `publicKey` request options; as `browserCreate`. */
const browserGet = (publicKey) =>
  ui.page.evaluate(
    async ({ publicKey: json, ms }) => {
      try {
        const credential = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json),
          signal: AbortSignal.timeout(ms),
        });
        return { credential: credential.toJSON() };
      } catch (error) {
        return { error: { name: error.name, message: error.message } };
      }
    },
    { publicKey, ms: CEREMONY_MS },
  );

/** `browserCreate`/`browserGet`'s credential, or a failure that says what the browser said. */
function made(outcome) {
  assert.equal(outcome.error, undefined, `the browser refused: ${JSON.stringify(outcome.error)}`);
  return outcome.credential;
}

/** A virtual CTAP2 authenticator with resident keys and user verification; its id. */
async function addAuthenticator(options) {
  const { authenticatorId: id } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      hasResidentKey: true,
      hasUserVerification: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  return id;
}

/** The credentials the virtual authenticator `id` holds. */
const credentialsOf = async (id) => (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;

/** Bytes of a base64 (the DevTools Protocol's) or base64url (WebAuthn JSON's) string. */
const bytes = (encoded) => Buffer.from(encoded, 'base64url');

test('registration: the browser creates a passkey with the server options; unlisted until finished, then listed ready under its name', () =>
  ui.step(async (page) => {
    const created = await ok(
      'POST',
      '/v2/users/human',
      { username: email, profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: { email, isVerified: true } },
      201,
    );
    userId = created.userId;
    assert.match(userId, /^\d+$/, JSON.stringify(created));

    // Any page of the server's origin: the relying party is the origin's host.
    await page.goto(`${ui.origin}/ui/sign-in`);
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    authenticatorId = await addAuthenticator({ transport: 'internal', isUserVerified: true });

    // A platform authenticator asked for: the virtual one is built in (transport internal).
    const started = await startRegistration({ domain: 'localhost', authenticator: 'PASSKEY_AUTHENTICATOR_PLATFORM' });
    const { publicKey } = started.publicKeyCredentialCreationOptions;
    assert.equal(publicKey.rp.id, 'localhost', JSON.stringify(started));
    assert.equal(publicKey.user.name, email);
    assert.equal(publicKey.user.displayName, 'Ada Lovelace');
    assert.equal(bytes(publicKey.user.id).length, 16, 'the user handle: 16 bytes');
    assert.equal(publicKey.authenticatorSelection.userVerification, 'required');
    assert.equal(publicKey.authenticatorSelection.authenticatorAttachment, 'platform');
    assert.deepEqual(publicKey.excludeCredentials ?? [], [], 'no passkey to exclude yet');
    await assertNoneListed();
    assert.ok(!(await authMethods()).includes(PASSKEY), 'an unfinished registration is no way to sign in');

    const credential = made(await browserCreate(publicKey));
    assert.equal(credential.type, 'public-key');
    assert.equal(credential.authenticatorAttachment, 'platform');
    const finished = await finishRegistration(started.passkeyId, credential, PASSKEY_NAME);
    assert.equal(finished.status, 200, finished.exchange);
    assert.equal(typeof finished.body.details?.changeDate, 'string', finished.exchange);
    passkeyId = started.passkeyId;
    credentialId = credential.rawId;

    assert.deepEqual(await listed(), {
      details: { totalResult: '1' },
      result: [{ id: passkeyId, state: 'AUTH_FACTOR_STATE_READY', name: PASSKEY_NAME }],
    });
    assert.ok((await authMethods()).includes(PASSKEY), 'a ready passkey is a way to sign in');

    // The authenticator's side: one credential, for this relying party and this user handle.
    const credentials = await credentialsOf(authenticatorId);
    assert.equal(credentials.length, 1, JSON.stringify(credentials));
    const [held] = credentials;
    assert.equal(held.rpId, 'localhost');
    assert.deepEqual(bytes(held.credentialId), bytes(credentialId));
    assert.ok(held.userHandle, `the authenticator keeps the user handle: ${JSON.stringify(held)}`);
    assert.deepEqual(bytes(held.userHandle), bytes(publicKey.user.id));
    // The server asked for no discoverable credential (residentKey "discouraged"), and the
    // authenticator, which could make one, made none: sign-in names the credential.
    assert.equal(publicKey.authenticatorSelection.residentKey, 'discouraged');
    assert.equal(held.isResidentCredential, false);
  }));

test('sign-in: a session challenge requiring user verification, answered by navigator.credentials.get, twice', () =>
  ui.step(async () => {
    assert.ok(passkeyId, 'registration failed above');
    for (const round of [1, 2]) {
      const [before] = await credentialsOf(authenticatorId);
      const created = await passkeyChallenge();
      assert.equal(created.status, 201, created.exchange);
      const { sessionId } = created.body;
      const { publicKey } = created.body.challenges.webAuthN.publicKeyCredentialRequestOptions;
      assert.equal(publicKey.rpId, 'localhost', created.exchange);
      assert.equal(publicKey.userVerification, 'required', created.exchange);
      assert.deepEqual(
        publicKey.allowCredentials.map((allowed) => allowed.id),
        [credentialId],
        'the challenge names the passkey',
      );

      const assertion = made(await browserGet(publicKey));
      assert.equal(assertion.rawId, credentialId);
      const answered = await answerChallenge(sessionId, assertion);
      assert.equal(answered.status, 200, answered.exchange);
      assert.equal(typeof answered.body.sessionToken, 'string', answered.exchange);

      const { session } = await ok('GET', `/v2/sessions/${sessionId}`);
      assert.equal(session.factors.user.id, userId, JSON.stringify(session));
      assert.equal(typeof session.factors.webAuthN?.verifiedAt, 'string', JSON.stringify(session));
      assert.equal(session.factors.webAuthN.userVerified, true, JSON.stringify(session));

      // The authenticator counted the signature; the server took the new count (a count that
      // did not move on would be refused as a clone on the next round).
      const [after] = await credentialsOf(authenticatorId);
      assert.ok(
        after.signCount > before.signCount,
        `round ${round}: signCount ${before.signCount} -> ${after.signCount}`,
      );
    }
  }));

test('a second passkey on the same authenticator: the browser refuses it (excludeCredentials); the open registration is not listed, and is removed like a passkey', () =>
  ui.step(async () => {
    assert.ok(passkeyId, 'registration failed above');
    const started = await startRegistration({ domain: 'localhost' });
    const { publicKey } = started.publicKeyCredentialCreationOptions;
    assert.deepEqual(
      (publicKey.excludeCredentials ?? []).map((excluded) => excluded.id),
      [credentialId],
      JSON.stringify(started),
    );
    assert.equal(publicKey.authenticatorSelection.authenticatorAttachment, undefined, 'either kind, when not said');

    const outcome = await browserCreate(publicKey);
    assert.equal(outcome.error?.name, 'InvalidStateError', JSON.stringify(outcome));
    assert.equal((await credentialsOf(authenticatorId)).length, 1, 'the authenticator made no second credential');

    // The server saw the start only: the registration stays open, unlisted beside the ready
    // passkey (ZITADEL lists ready passkeys only).
    const readyOnly = {
      details: { totalResult: '1' },
      result: [{ id: passkeyId, state: 'AUTH_FACTOR_STATE_READY', name: PASSKEY_NAME }],
    };
    assert.deepEqual(await listed(), readyOnly);

    // An open registration is removed like a passkey, once (the next test wants it gone).
    const removed = await ok('DELETE', `/v2/users/${userId}/passkeys/${started.passkeyId}`);
    assert.equal(typeof removed.details?.changeDate, 'string', JSON.stringify(removed));
    assertZitadelError(
      await zitadel('DELETE', `/v2/users/${userId}/passkeys/${started.passkeyId}`),
      404,
      5,
      'WebAuthN Token could not be found',
      'COMMAND-2M9ds',
    );
    assert.deepEqual(await listed(), readyOnly);
  }));

test('removal: the passkey leaves the listing and the sign-in methods; its authenticator no longer signs in', () =>
  ui.step(async () => {
    assert.ok(passkeyId, 'registration failed above');
    // A challenge issued before the removal, answered after it.
    const pending = await passkeyChallenge();
    assert.equal(pending.status, 201, pending.exchange);

    const removed = await ok('DELETE', `/v2/users/${userId}/passkeys/${passkeyId}`);
    assert.equal(typeof removed.details?.changeDate, 'string', JSON.stringify(removed));
    assertZitadelError(
      await zitadel('DELETE', `/v2/users/${userId}/passkeys/${passkeyId}`),
      404,
      5,
      'WebAuthN Token could not be found',
      'COMMAND-2M9ds',
    );
    await assertNoneListed();
    assert.ok(!(await authMethods()).includes(PASSKEY), 'no passkey left to sign in with');

    // The browser still holds the credential (no one told the authenticator), and still
    // answers the earlier challenge; the server no longer knows the passkey.
    assert.equal((await credentialsOf(authenticatorId)).length, 1);
    const late = made(await browserGet(pending.body.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey));
    assertZitadelError(
      await answerChallenge(pending.body.sessionId, late),
      400,
      3,
      'Error on parse credential data',
      'WEBAU-sl9dr',
    );
    const { session } = await ok('GET', `/v2/sessions/${pending.body.sessionId}`);
    assert.equal(session.factors?.webAuthN, undefined, JSON.stringify(session));

    // A new challenge requiring user verification finds no passkey: ZITADEL's answer for a
    // WebAuthn challenge with no token to ask for, which login UIs read as "no passkeys".
    assertZitadelError(
      await passkeyChallenge(),
      500,
      13,
      'WebAuthN begin login failed',
      'WEBAU-4G8sw',
    );
  }));

test('an authenticator without user verification: the browser refuses the requirement; a client that lowers it gets a credential the server refuses; one that verifies finishes the registration', () =>
  ui.step(async () => {
    assert.ok(userId, 'registration failed above');
    // This authenticator alone, so that the browser cannot turn to the one that verifies.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    authenticatorId = undefined;
    // One that cannot verify at all, like a plain security key. (One that has verification but
    // fails it, isUserVerified false, gets no credential out of Chromium even with the
    // requirement lowered: Chromium asks it to verify anyway, NotAllowedError.)
    const presenceOnly = await addAuthenticator({
      transport: 'usb',
      hasUserVerification: false,
      isUserVerified: false,
    });

    const started = await startRegistration({
      domain: 'localhost',
      authenticator: 'PASSKEY_AUTHENTICATOR_CROSS_PLATFORM',
    });
    const { publicKey } = started.publicKeyCredentialCreationOptions;
    assert.equal(publicKey.authenticatorSelection.authenticatorAttachment, 'cross-platform');
    assert.equal(publicKey.authenticatorSelection.userVerification, 'required');

    // The browser enforces the server's requirement itself: no authenticator at hand can verify,
    // so none is asked to make a credential.
    const refused = await browserCreate(publicKey);
    assert.equal(refused.error?.name, 'NotAllowedError', JSON.stringify(refused));
    assert.deepEqual(await credentialsOf(presenceOnly), []);

    // A client that lowers the requirement gets a credential without the UV flag; the server
    // checks the flag itself and refuses the registration, which stays open. (The credProtect
    // request goes too: Chromium refuses "userVerificationRequired" protection without
    // verification, NotSupportedError.)
    assert.equal(publicKey.extensions.credentialProtectionPolicy, 'userVerificationRequired');
    const extensions = { ...publicKey.extensions };
    delete extensions.credentialProtectionPolicy;
    delete extensions.enforceCredentialProtectionPolicy;
    const lowered = {
      ...publicKey,
      authenticatorSelection: { ...publicKey.authenticatorSelection, userVerification: 'discouraged' },
      extensions,
    };
    const credential = made(await browserCreate(lowered));
    assert.equal((await credentialsOf(presenceOnly)).length, 1);
    const flags = bytes(credential.response.authenticatorData)[32];
    assert.equal(flags & 0x04, 0, 'the authenticator data has no UV flag');
    assertZitadelError(
      await finishRegistration(started.passkeyId, credential, 'No verification'),
      400,
      3,
      'The security key did not verify the user',
      'TESSERA-WAN02',
    );
    await assertNoneListed();
    assert.ok(!(await authMethods()).includes(PASSKEY));

    // The registration stays open all the same: an authenticator that verifies, alone again,
    // answers the same options, and the server takes its credential.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: presenceOnly });
    authenticatorId = await addAuthenticator({ transport: 'usb', isUserVerified: true });
    const verified = made(await browserCreate(publicKey));
    assert.equal(bytes(verified.response.authenticatorData)[32] & 0x04, 0x04, 'the authenticator data has the UV flag');
    const finished = await finishRegistration(started.passkeyId, verified, 'Security key');
    assert.equal(finished.status, 200, finished.exchange);
    assert.deepEqual(await listed(), {
      details: { totalResult: '1' },
      result: [{ id: started.passkeyId, state: 'AUTH_FACTOR_STATE_READY', name: 'Security key' }],
    });
    assert.ok((await authMethods()).includes(PASSKEY), 'a ready passkey is a way to sign in');
  }));

// ---- registration links: Tessera's own page, driven as a user would

const linkEmail = uniqueEmail('link');
const LINK_PASSKEY_NAME = 'Link laptop';
const REGISTRATION_PAGE = '/ui/login/login/passwordless/init';
const UNUSABLE_LINK = 'This link does not work: it is wrong, was used already, or has expired. Ask for a new one.';
// The page's words for the browser's NotAllowedError: Chromium refuses an authenticator that
// cannot verify its user itself, when the options require it, so the server never sees it.
const NO_VERIFICATION =
  'The authenticator did not answer: it was cancelled or timed out, or it cannot verify you (no PIN or biometrics).';

let linkUserId; // the links' user
let registrationLink; // its link from AddPasswordlessRegistration, on the server's origin
let linkAuthenticatorId; // the virtual authenticator in use on the registration page

/** AddPasswordlessRegistration (v1 management) for `user`: the link, checked to lead to the page. */
async function addPasswordlessRegistration(user) {
  const added = await ok('POST', `/management/v1/users/${user}/passwordless/_link`, {});
  assert.equal(added.expiration, '3600s', JSON.stringify(added));
  assert.equal(typeof added.details?.creationDate, 'string', JSON.stringify(added));
  const link = new URL(added.link);
  // Dev mode: on the origin the request came to (the test process called ui.origin).
  assert.equal(link.origin, ui.origin, added.link);
  assert.equal(link.pathname, REGISTRATION_PAGE, added.link);
  assert.deepEqual([...link.searchParams.keys()].sort(), ['code', 'codeID', 'orgID', 'userID'], added.link);
  assert.equal(link.searchParams.get('userID'), user, added.link);
  for (const key of ['orgID', 'codeID', 'code']) assert.match(link.searchParams.get(key), /\S/, added.link);
  return link.href;
}

/** ListPasskeys of `user`: [id, state, name] each (protobuf JSON leaves an empty list out). */
const passkeysOf = async (user) => {
  const list = await ok('POST', `/v2/users/${user}/passkeys/_search`, {});
  assert.equal(Number(list.details?.totalResult ?? 0), (list.result ?? []).length, JSON.stringify(list));
  return (list.result ?? []).map(({ id, state, name }) => [id, state, name]);
};

/** `authMethods` of another user than the first tests'. */
const authMethodsOf = async (user) =>
  (await ok('GET', `/v2/users/${user}/authentication_methods`)).authMethodTypes ?? [];

/** The page's DevTools session (made here when the tests above did not), and a fresh authenticator alone. */
async function onlyAuthenticator(page, options) {
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
  }
  for (const id of [authenticatorId, linkAuthenticatorId]) {
    if (id) await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: id });
  }
  authenticatorId = undefined;
  linkAuthenticatorId = await addAuthenticator(options);
  return linkAuthenticatorId;
}

/** Opens `link`; asserts the registration form for the links' user, untouched. */
async function openRegistrationForm(page, link) {
  const response = await page.goto(link);
  assert.equal(response.status(), 200, await page.content());
  assert.equal(
    (await page.locator('#registration-account').textContent()).trim(),
    `Add a passkey to the account of ${linkEmail}. A passkey signs you in on its own, without a password: your device's screen lock, or a security key with a PIN.`,
  );
  assert.equal(await page.inputValue('#passkey-name'), 'Passkey');
  assert.ok(await page.locator('#registration').isVisible(), 'the form shows');
  assert.ok(await page.locator('#register-passkey').isVisible(), 'the button shows');
  assert.ok(await page.locator('#registration-done').isHidden(), 'nothing is done yet');
  assert.equal(await page.locator('#notice').count(), 0, 'no notice yet');
}

/** Opens `link`; asserts the page a link that cannot be used shows: 400, and nothing of the account. */
async function openUnusable(page, link) {
  const response = await page.goto(link);
  assert.equal(response.status(), 400);
  assert.equal((await page.locator('#action-message').textContent()).trim(), UNUSABLE_LINK);
  assert.equal(await page.locator('#registration').count(), 0, 'no form');
  assert.equal(await page.locator('#register-passkey').count(), 0, 'no button');
  const html = await page.content();
  assert.ok(!html.includes(linkEmail), 'the page names no account');
  assert.ok(!html.includes(linkUserId), 'the page names no user id');
}

test('a registration link (AddPasswordlessRegistration) opens the page for its account; an authenticator without user verification gets a notice, and the link still works', () =>
  ui.step(async (page) => {
    const created = await ok(
      'POST',
      '/v2/users/human',
      {
        username: linkEmail,
        profile: { givenName: 'Grace', familyName: 'Hopper' },
        email: { email: linkEmail, isVerified: true },
      },
      201,
    );
    linkUserId = created.userId;
    assert.match(linkUserId, /^\d+$/, JSON.stringify(created));
    registrationLink = await addPasswordlessRegistration(linkUserId);

    await openRegistrationForm(page, registrationLink);

    // One that cannot verify at all, like a plain security key, alone.
    const presenceOnly = await onlyAuthenticator(page, {
      transport: 'usb',
      hasUserVerification: false,
      isUserVerified: false,
    });
    await page.click('#register-passkey');
    await page.locator('#notice').waitFor({ timeout: CEREMONY_MS });
    const notice = await page.locator('#notice').textContent();
    assert.ok(await page.locator('#registration').isVisible(), 'the form stays');
    assert.ok(await page.locator('#registration-done').isHidden(), 'nothing is done');
    assert.deepEqual(await passkeysOf(linkUserId), [], 'no passkey stored');
    assert.ok(!(await authMethodsOf(linkUserId)).includes(PASSKEY));

    // The link still works: the form again.
    await openRegistrationForm(page, registrationLink);
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: presenceOnly });
    linkAuthenticatorId = undefined;

    // What the visitor was told (checked last, so that a wrong notice still shows that the rest held).
    assert.equal(notice, NO_VERIFICATION);
  }));

test('a registration link with an authenticator that verifies: the passkey is added under the name typed and listed; the link is used up; the passkey signs in on /ui/sign-in', () =>
  ui.step(async (page) => {
    assert.ok(registrationLink, 'the link failed above');
    await openRegistrationForm(page, registrationLink);
    await ui.screenshot('ui-passkey-registration');
    const verifying = await onlyAuthenticator(page, { transport: 'internal', isUserVerified: true });

    await page.fill('#passkey-name', LINK_PASSKEY_NAME);
    await page.click('#register-passkey');
    const failed = page
      .locator('#notice')
      .waitFor({ timeout: CEREMONY_MS })
      .then(async () => {
        throw new Error(`the page's script failed: ${await page.locator('#notice').textContent()}`);
      });
    failed.catch(() => {}); // settles after the race when the registration is done
    await Promise.race([page.locator('#registration-done').waitFor({ state: 'visible', timeout: CEREMONY_MS }), failed]);
    assert.equal(
      (await page.locator('#registration-done').textContent()).trim(),
      'Your passkey is added. You can sign in with it, without a password.',
    );
    assert.ok(await page.locator('#registration').isHidden(), 'the form is gone');
    assert.equal(new URL(page.url()).pathname, REGISTRATION_PAGE, 'the page stays');

    // The ZITADEL API lists it, ready, under the name typed.
    const listedNow = await passkeysOf(linkUserId);
    assert.equal(listedNow.length, 1, JSON.stringify(listedNow));
    assert.deepEqual(listedNow[0].slice(1), ['AUTH_FACTOR_STATE_READY', LINK_PASSKEY_NAME]);
    assert.ok((await authMethodsOf(linkUserId)).includes(PASSKEY), 'a ready passkey is a way to sign in');
    const [held] = await credentialsOf(verifying);
    assert.equal(held?.rpId, 'localhost', JSON.stringify(held));

    // Used up.
    await openUnusable(page, registrationLink);

    // The passkey signs in: the email, then the passkey, no password.
    await page.goto(`${ui.origin}/ui/sign-in`);
    await page.fill('#email', linkEmail);
    assert.equal(await page.inputValue('#password'), '');
    const refused = page
      .locator('#notice')
      .waitFor({ timeout: CEREMONY_MS })
      .then(async () => {
        throw new Error(`the passkey sign-in failed: ${await page.locator('#notice').textContent()}`);
      });
    refused.catch(() => {});
    await page.click('#passkey-sign-in');
    await Promise.race([page.waitForURL(`${ui.origin}/ui/factors`, { timeout: CEREMONY_MS }), refused]);
    assert.ok((await page.locator('header').textContent()).includes(linkEmail), 'signed in as the link’s user');
    const rows = await page.$$eval('tr.passkey', (trs) => trs.map((tr) => tr.cells[0].textContent.trim()));
    assert.deepEqual(rows, [LINK_PASSKEY_NAME]);
    const [after] = await credentialsOf(verifying);
    assert.ok(after.signCount > held.signCount, `signCount ${held.signCount} -> ${after.signCount}`);
  }));

test('a registration link with a wrong code, code id or user shows the unusable page, without the account; the right one still works', () =>
  ui.step(async (page) => {
    assert.ok(linkUserId, 'the user failed above');
    const link = new URL(await addPasswordlessRegistration(linkUserId));
    const altered = (key, change) => {
      const wrong = new URL(link);
      wrong.searchParams.set(key, change(link.searchParams.get(key)));
      return wrong.href;
    };
    const flip = (text) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    await openUnusable(page, altered('code', flip));
    await openUnusable(page, altered('codeID', flip));
    await openUnusable(page, altered('code', () => ''));
    await openUnusable(page, altered('userID', () => '1'));
    // The user of the earlier, used link: its code is no code of this link's.
    await openUnusable(page, altered('codeID', () => new URL(registrationLink).searchParams.get('codeID')));
    // None of those used it up.
    await page.goto(link.href);
    assert.equal((await page.locator('#registration-account').textContent()).includes(linkEmail), true);
  }));
