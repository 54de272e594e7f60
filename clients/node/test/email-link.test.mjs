// Sign-in by email link (accounts:sendOobCode EMAIL_SIGNIN and accounts:signInWithEmailLink)
// through the unmodified JS SDK: sendSignInLinkToEmail, isSignInWithEmailLink,
// signInWithEmailLink, checkActionCode, and linkWithCredential with
// EmailAuthProvider.credentialWithLink; firebase-admin's generateSignInWithEmailLink; the
// self-service page handing the link on to the app's continueUrl; and a user whose sign-in
// then needs a TOTP second factor. Links come from the emulator's oobCodes list (as Firebase
// emulator tests read them) or from firebase-admin; TOTP codes from an independent
// implementation (otpauth).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  checkActionCode,
  createUserWithEmailAndPassword,
  EmailAuthProvider,
  fetchSignInMethodsForEmail,
  getAdditionalUserInfo,
  getIdTokenResult,
  getMultiFactorResolver,
  isSignInWithEmailLink,
  linkWithCredential,
  multiFactor,
  sendSignInLinkToEmail,
  signInAnonymously,
  signInWithEmailLink,
  TotpMultiFactorGenerator,
} from 'firebase/auth';
import { Secret, TOTP } from 'otpauth';

import { PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

// Where the app finishes the sign-in; dev mode accepts and follows any continueUrl.
const CONTINUE_URL = 'http://localhost:5555/finish?state=abc';
const settings = (url = CONTINUE_URL) => ({ url, handleCodeInApp: true });

/** The emulator's outstanding sign-in links for `email`. */
const signInEntries = (email) => tessera.oobEntries(email, 'EMAIL_SIGNIN');

/**
 * The one outstanding sign-in link for `email`, checked parameter by parameter; resolves to
 * `{ code, link }`.
 */
async function signInLink(email, { continueUrl = CONTINUE_URL, apiKey = 'dev-api-key' } = {}) {
  const entries = await signInEntries(email);
  assert.equal(entries.length, 1, `one EMAIL_SIGNIN link for ${email}: ${JSON.stringify(entries)}`);
  const [entry] = entries;
  assert.deepEqual(Object.keys(entry).sort(), ['email', 'oobCode', 'oobLink', 'requestType']);
  const link = new URL(entry.oobLink);
  assert.equal(link.origin, tessera.baseUrl);
  assert.equal(link.searchParams.get('mode'), 'signIn');
  assert.equal(link.searchParams.get('oobCode'), entry.oobCode);
  assert.equal(link.searchParams.get('apiKey'), apiKey);
  assert.equal(link.searchParams.get('lang'), 'en');
  assert.equal(link.searchParams.get('continueUrl'), continueUrl);
  return { code: entry.oobCode, link: entry.oobLink };
}

/** Sends a sign-in link to `email` from a fresh client; resolves to `{ auth, code, link }`. */
async function sendLink(email, auth = tessera.client()) {
  await sendSignInLinkToEmail(auth, email, settings());
  return { auth, ...(await signInLink(email)) };
}

/** The providers firebase-admin lists for `uid`, by id. */
async function providerIds(uid) {
  return (await tessera.admin.getUser(uid)).providerData.map((info) => info.providerId).sort();
}

test('sendSignInLinkToEmail for a new address: signInWithEmailLink creates a verified user (isNewUser)', async () => {
  const email = uniqueEmail('link-new');
  const { auth, code, link } = await sendLink(email);
  // The code is for the address: no user exists until the link is used.
  await assert.rejects(tessera.admin.getUserByEmail(email), { code: 'auth/user-not-found' });

  assert.equal(isSignInWithEmailLink(auth, link), true);
  assert.equal(isSignInWithEmailLink(auth, CONTINUE_URL), false);

  const credential = await signInWithEmailLink(auth, email, link);
  assert.equal(credential.operationType, 'signIn');
  const { user } = credential;
  assert.equal(auth.currentUser, user);
  assert.equal(user.email, email);
  assert.equal(user.emailVerified, true);
  assert.equal(user.isAnonymous, false);
  assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: true, providerId: 'password', profile: {} });

  const { claims, signInProvider } = await getIdTokenResult(user);
  assert.equal(signInProvider, 'password');
  assert.equal(claims.email, email);
  assert.equal(claims.email_verified, true);
  assert.equal(claims.user_id, user.uid);

  const record = await tessera.admin.getUserByEmail(email);
  assert.equal(record.uid, user.uid);
  assert.equal(record.emailVerified, true);
  assert.equal(record.passwordHash, undefined);
  assert.deepEqual(await signInEntries(email), [], `the code ${code} is used up`);
});

test('signInWithEmailLink for an existing password user signs that user in and verifies the address', async () => {
  const email = uniqueEmail('link-existing');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  assert.equal((await tessera.admin.getUser(uid)).emailVerified, false);

  const { auth, link } = await sendLink(email);
  const credential = await signInWithEmailLink(auth, email, link);
  assert.equal(credential.user.uid, uid);
  assert.equal(credential.user.email, email);
  assert.equal(credential.user.emailVerified, true);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, false);
  assert.equal(getAdditionalUserInfo(credential).providerId, 'password');
  assert.equal((await tessera.admin.getUser(uid)).emailVerified, true);
  assert.deepEqual(await providerIds(uid), ['password']);
  assert.deepEqual(await signInEntries(email), []);
});

test('a sign-in link works once: the second signInWithEmailLink is auth/invalid-action-code', async () => {
  const email = uniqueEmail('link-twice');
  const { auth, link } = await sendLink(email);
  const { user } = await signInWithEmailLink(auth, email, link);

  const again = tessera.client();
  await assert.rejects(signInWithEmailLink(again, email, link), { code: 'auth/invalid-action-code' });
  assert.equal(again.currentUser, null);
  // The first sign-in stands, and a new link signs the same user in.
  const { link: next } = await sendLink(email);
  const second = await signInWithEmailLink(tessera.client(), email, next);
  assert.equal(second.user.uid, user.uid);
  assert.equal(getAdditionalUserInfo(second).isNewUser, false);
});

test('a new sign-in link replaces the address\'s earlier one', async () => {
  const email = uniqueEmail('link-replaced');
  const { code: first, link: firstLink } = await sendLink(email);
  const { code: second, link: secondLink } = await sendLink(email);
  assert.notEqual(second, first);
  await assert.rejects(signInWithEmailLink(tessera.client(), email, firstLink), { code: 'auth/invalid-action-code' });
  const { user } = await signInWithEmailLink(tessera.client(), email, secondLink);
  assert.equal(user.email, email);
});

test('signInWithEmailLink with another address than the link\'s is auth/invalid-email and leaves the link usable', async () => {
  const email = uniqueEmail('link-right');
  const wrong = uniqueEmail('link-wrong');
  const { auth, code, link } = await sendLink(email);

  await assert.rejects(signInWithEmailLink(auth, wrong, link), { code: 'auth/invalid-email' });
  assert.equal(auth.currentUser, null);
  await assert.rejects(tessera.admin.getUserByEmail(wrong), { code: 'auth/user-not-found' });
  await assert.rejects(tessera.admin.getUserByEmail(email), { code: 'auth/user-not-found' });

  // A mistyped address does not use the link up.
  assert.deepEqual((await signInEntries(email)).map((entry) => entry.oobCode), [code]);
  const { user } = await signInWithEmailLink(auth, email, link);
  assert.equal(user.email, email);
});

test('the server answers a mismatched address with INVALID_EMAIL and its Identity Toolkit message', async () => {
  const email = uniqueEmail('link-raw');
  const { code } = await sendLink(email);
  const response = await fetch(new URL('/v1/accounts:signInWithEmailLink?key=dev-api-key', tessera.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail('link-raw-wrong'), oobCode: code }),
  });
  assert.equal(response.status, 400);
  assert.equal(
    (await response.json()).error.message,
    'INVALID_EMAIL : The email provided does not match the sign-in email address.',
  );
});

test('checkActionCode on a sign-in code is operation EMAIL_SIGNIN without the address, and does not use it', async () => {
  const email = uniqueEmail('link-check');
  const { auth, code, link } = await sendLink(email);

  const info = await checkActionCode(auth, code);
  assert.equal(info.operation, 'EMAIL_SIGNIN');
  assert.deepEqual(info.data, { email: null, previousEmail: null, multiFactorInfo: null });
  assert.deepEqual((await signInEntries(email)).map((entry) => entry.oobCode), [code]);

  const { user } = await signInWithEmailLink(auth, email, link);
  assert.equal(user.email, email);
  await assert.rejects(checkActionCode(auth, code), { code: 'auth/invalid-action-code' });
});

test('signInWithEmailLink for a disabled user is auth/user-disabled', async () => {
  const email = uniqueEmail('link-disabled');
  await tessera.admin.createUser({ email, password: PASSWORD, disabled: true });
  const { auth, link } = await sendLink(email);
  await assert.rejects(signInWithEmailLink(auth, email, link), { code: 'auth/user-disabled' });
  assert.equal(auth.currentUser, null);
});

test('linkWithCredential(credentialWithLink) gives an anonymous user the address and keeps its uid', async () => {
  const auth = tessera.client();
  const { user: guest } = await signInAnonymously(auth);
  assert.equal(guest.isAnonymous, true);
  const email = uniqueEmail('link-guest');
  const { link } = await sendLink(email, auth);

  const credential = await linkWithCredential(guest, EmailAuthProvider.credentialWithLink(email, link));
  assert.equal(credential.operationType, 'link');
  assert.equal(credential.user.uid, guest.uid);
  assert.equal(auth.currentUser.uid, guest.uid);
  assert.equal(credential.user.email, email);
  assert.equal(credential.user.emailVerified, true);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, false);
  assert.deepEqual(await signInEntries(email), []);

  const record = await tessera.admin.getUser(guest.uid);
  assert.equal(record.email, email);
  assert.equal(record.emailVerified, true);

  // The address now signs in to the same user.
  const { link: next } = await sendLink(email);
  const again = await signInWithEmailLink(tessera.client(), email, next);
  assert.equal(again.user.uid, guest.uid);
  assert.equal(getAdditionalUserInfo(again).isNewUser, false);
});

test('linking the address of another user is auth/email-already-in-use (server: EMAIL_EXISTS)', async () => {
  const email = uniqueEmail('link-taken');
  const { uid: owner } = await tessera.admin.createUser({ email, password: PASSWORD });
  const auth = tessera.client();
  const { user: guest } = await signInAnonymously(auth);
  const { link } = await sendLink(email, auth);

  await assert.rejects(linkWithCredential(guest, EmailAuthProvider.credentialWithLink(email, link)), {
    code: 'auth/email-already-in-use',
  });
  assert.equal((await tessera.admin.getUserByEmail(email)).uid, owner);
  assert.equal((await tessera.admin.getUser(guest.uid)).email, undefined);
});

test('firebase-admin generateSignInWithEmailLink returns a working link for the address', async () => {
  const email = uniqueEmail('link-admin');
  const continueUrl = 'http://localhost:5555/admin-finish';
  const link = await tessera.admin.generateSignInWithEmailLink(email, settings(continueUrl));
  const url = new URL(link);
  assert.equal(url.origin, tessera.baseUrl);
  assert.equal(url.searchParams.get('mode'), 'signIn');
  assert.equal(url.searchParams.get('lang'), 'en');
  assert.equal(url.searchParams.get('continueUrl'), continueUrl);
  assert.ok(url.searchParams.get('apiKey'), `an apiKey in ${link}`);
  const code = url.searchParams.get('oobCode');
  assert.ok(code, `oobCode in ${link}`);
  // A returned link is not emailed, but it is outstanding like any other.
  const { code: listed } = await signInLink(email, { continueUrl, apiKey: url.searchParams.get('apiKey') });
  assert.equal(listed, code);

  const auth = tessera.client();
  assert.equal(isSignInWithEmailLink(auth, link), true);
  const credential = await signInWithEmailLink(auth, email, link);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, true);
  assert.equal(credential.user.email, email);
  assert.equal(credential.user.emailVerified, true);
  assert.equal((await tessera.admin.getUserByEmail(email)).uid, credential.user.uid);

  // For an address that has a user, the link signs that user in.
  const existing = uniqueEmail('link-admin-existing');
  const { uid } = await tessera.admin.createUser({ email: existing, password: PASSWORD });
  const existingLink = await tessera.admin.generateSignInWithEmailLink(existing, settings(continueUrl));
  const signedIn = await signInWithEmailLink(tessera.client(), existing, existingLink);
  assert.equal(signedIn.user.uid, uid);
  assert.equal(getAdditionalUserInfo(signedIn).isNewUser, false);
  assert.equal((await tessera.admin.getUser(uid)).emailVerified, true);
});

test('opening the emailed link hands it on to the continueUrl, where signInWithEmailLink finishes', async () => {
  const email = uniqueEmail('link-follow');
  await sendSignInLinkToEmail(tessera.client(), email, settings());
  const { code, link } = await signInLink(email);

  const response = await fetch(link, { redirect: 'manual' });
  assert.equal(response.status, 303);
  const location = response.headers.get('location');
  assert.ok(location, 'a Location header');
  const landed = new URL(location);
  const expected = new URL(CONTINUE_URL);
  assert.equal(`${landed.origin}${landed.pathname}`, `${expected.origin}${expected.pathname}`);
  assert.equal(landed.searchParams.get('state'), 'abc', 'the continueUrl keeps its own query');
  assert.equal(landed.searchParams.get('apiKey'), 'dev-api-key');
  assert.equal(landed.searchParams.get('oobCode'), code);
  assert.equal(landed.searchParams.get('mode'), 'signIn');
  assert.equal(landed.searchParams.get('lang'), 'en');
  assert.equal(landed.searchParams.get('tenantId'), null);
  // Opening the link does not use the code up (mail scanners open links too).
  assert.deepEqual((await signInEntries(email)).map((entry) => entry.oobCode), [code]);

  // The app, opened at that address, completes the sign-in from it.
  const auth = tessera.client();
  assert.equal(isSignInWithEmailLink(auth, location), true);
  const credential = await signInWithEmailLink(auth, email, location);
  assert.equal(credential.user.email, email);
  assert.equal(credential.user.emailVerified, true);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, true);
  assert.deepEqual(await signInEntries(email), []);

  // A used link no longer hands anything on.
  const stale = await fetch(link, { redirect: 'manual' });
  assert.notEqual(stale.status, 303);
  assert.equal(stale.headers.get('location'), null);
});

// Firebase (and its emulator) list an address that signed in by link under the "password"
// provider: the SDK's and firebase-admin's providerData show it, and an anonymous user that
// links an address this way is no longer anonymous.
const providerSummary = (user) => user.providerData.map((info) => [info.providerId, info.uid, info.email]);

test('a user created by an email link is listed under the "password" provider', async () => {
  const email = uniqueEmail('link-provider');
  const { auth, link } = await sendLink(email);
  const { user } = await signInWithEmailLink(auth, email, link);
  assert.deepEqual(await providerIds(user.uid), ['password']);
  await user.reload();
  assert.deepEqual(providerSummary(user), [['password', email, email]]);
});

test('an anonymous user that links an address by email link is no longer anonymous', async () => {
  const auth = tessera.client();
  const { user: guest } = await signInAnonymously(auth);
  const email = uniqueEmail('link-guest-provider');
  const { link } = await sendLink(email, auth);
  const { user } = await linkWithCredential(guest, EmailAuthProvider.credentialWithLink(email, link));
  assert.equal(user.uid, guest.uid);
  assert.equal(user.isAnonymous, false);
  assert.deepEqual(providerSummary(user), [['password', email, email]]);
  assert.deepEqual(await providerIds(guest.uid), ['password']);
});

// TOTP with the spec's fixed parameters: SHA1, 6 digits, 30 s.
const PERIOD_MS = 30_000;
const currentStep = () => Math.floor(Date.now() / PERIOD_MS);
const totpCode = (secretKey, step) =>
  new TOTP({ secret: Secret.fromBase32(secretKey), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: step * PERIOD_MS,
  });

test('a user with a TOTP second factor: signInWithEmailLink needs it, getMultiFactorResolver finishes', async () => {
  // Enrolment, as in mfa.test.mjs: a verified password user enrols an authenticator app.
  const email = uniqueEmail('link-mfa');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD, emailVerified: true });
  const { user: enrolling } = await tessera.signIn(email);
  const secret = await TotpMultiFactorGenerator.generateSecret(await multiFactor(enrolling).getSession());
  const enrolmentStep = currentStep();
  await multiFactor(enrolling).enroll(
    TotpMultiFactorGenerator.assertionForEnrollment(secret, totpCode(secret.secretKey, enrolmentStep)),
    'Authenticator',
  );
  const [factor] = multiFactor(enrolling).enrolledFactors;
  assert.equal(factor.factorId, 'totp');

  const { auth, link } = await sendLink(email);
  const error = await signInWithEmailLink(auth, email, link).then(
    () => assert.fail('the email link alone must not sign in a user with a second factor'),
    (e) => e,
  );
  assert.equal(error.code, 'auth/multi-factor-auth-required', error.message);
  assert.equal(error.customData.operationType, 'signIn');
  assert.equal(auth.currentUser, null);
  // The link did its part: the code is used up.
  assert.deepEqual(await signInEntries(email), []);
  await assert.rejects(signInWithEmailLink(tessera.client(), email, link), { code: 'auth/invalid-action-code' });

  const resolver = getMultiFactorResolver(auth, error);
  assert.deepEqual(
    resolver.hints.map(({ uid: hint, factorId, displayName }) => ({ hint, factorId, displayName })),
    [{ hint: factor.uid, factorId: 'totp', displayName: 'Authenticator' }],
  );
  // The enrolment consumed its time step; the next one is within the accepted window.
  const credential = await resolver.resolveSignIn(
    TotpMultiFactorGenerator.assertionForSignIn(factor.uid, totpCode(secret.secretKey, enrolmentStep + 1)),
  );
  assert.equal(credential.user.uid, uid);
  assert.equal(auth.currentUser, credential.user);
  assert.equal(credential.user.email, email);
  const result = await getIdTokenResult(credential.user);
  assert.equal(result.signInProvider, 'password');
  assert.equal(result.signInSecondFactor, 'totp');
  assert.equal(result.claims.firebase.second_factor_identifier, factor.uid);
});

test('fetchSignInMethodsForEmail: password, emailLink, both, or none', async () => {
  const auth = tessera.client();
  const linkOnly = uniqueEmail('methods-link');
  const { link } = await sendLink(linkOnly);
  await signInWithEmailLink(tessera.client(), linkOnly, link);
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, linkOnly), ['emailLink']);

  const both = uniqueEmail('methods-both');
  await createUserWithEmailAndPassword(tessera.client(), both, PASSWORD);
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, both), ['password']);
  const second = await sendLink(both);
  await signInWithEmailLink(tessera.client(), both, second.link);
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, both), ['password', 'emailLink']);

  assert.deepEqual(await fetchSignInMethodsForEmail(auth, uniqueEmail('methods-nobody')), []);
});
