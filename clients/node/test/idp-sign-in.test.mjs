// Signing in with, and linking, accounts at identity providers (accounts:signInWithIdp) through
// the JS SDK's credentials, and the same accounts as firebase-admin sees and changes them.
//
// Dev mode takes the Firebase Auth emulator's fake credentials: the provider's ID token is not
// verified, so a test builds it, as an unsigned JWT or as the JSON object the emulator's docs
// show (`sub` required; `email`, `email_verified`, `name`, `picture`, `screen_name`,
// `given_name` and `family_name` used). signInWithPopup and signInWithRedirect need a browser
// (the Node build's are stubs that fail), so everything here goes through signInWithCredential,
// linkWithCredential and their relatives.
//
// Production verifies the ID tokens of the providers in `identity_providers` and, as Firebase
// does, a token's `nonce` against the raw nonce the app passes (OAuthProvider.credential's
// `rawNonce`); the last block plays such a provider (an HTTP server publishing an HS256 key)
// for a production server of its own.

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { deleteApp, initializeApp } from 'firebase/app';
import {
  connectAuthEmulator,
  fetchSignInMethodsForEmail,
  getAdditionalUserInfo,
  getAuth,
  getIdTokenResult,
  getMultiFactorResolver,
  GithubAuthProvider,
  GoogleAuthProvider,
  linkWithCredential,
  multiFactor,
  OAuthProvider,
  reauthenticateWithCredential,
  signInAnonymously,
  signInWithCredential,
  TotpMultiFactorGenerator,
  unlink,
} from 'firebase/auth';
import { Secret, TOTP } from 'otpauth';

import { startTessera } from '../../shared/tessera.mjs';
import { hex, PASSWORD, PROJECT, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

/** An unsigned JWT (alg "none") carrying `claims`: a fake provider ID token. */
const fakeIdToken = (claims) =>
  [{ alg: 'none', typ: 'JWT' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.';

/** A Google account's claims, with a fresh `sub` and address; `overrides` replace any. */
const googleAccount = (overrides = {}) => ({
  sub: `g-${hex()}`,
  email: uniqueEmail('google'),
  email_verified: true,
  name: 'Ada Lovelace',
  given_name: 'Ada',
  family_name: 'Lovelace',
  picture: 'https://example.com/ada.png',
  ...overrides,
});

/** The Google credential of `account`: its claims as a fake ID token. */
const google = (account) => GoogleAuthProvider.credential(fakeIdToken(account));

/** Google sign-in on a fresh client; resolves to the UserCredential. */
const googleSignIn = (account, auth = tessera.client()) => signInWithCredential(auth, google(account));

/** The profile Google's answer carries (`rawUserInfo`, the SDK's AdditionalUserInfo.profile). */
const googleProfile = (account) => ({
  granted_scopes: 'openid https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email',
  id: account.sub,
  name: account.name,
  given_name: account.given_name,
  family_name: account.family_name,
  verified_email: account.email_verified,
  locale: 'en',
  email: account.email,
  picture: account.picture,
});

/** The JS SDK's UserInfo entries, as plain objects. */
const providerData = (user) => user.providerData.map((info) => ({ ...info }));

/** firebase-admin's record of `uid`, as plain JSON (UserInfo.toJSON keeps undefined fields). */
const record = async (uid) => JSON.parse(JSON.stringify(await tessera.admin.getUser(uid)));

/** A rejection, for checking its fields beyond the code. */
const failure = (promise) =>
  promise.then(
    (value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error) => error,
  );

// validSince has one-second resolution: waiting past a second boundary makes "issued before"
// unambiguous.
const nextSecond = () => sleep(1100);

test('signInWithCredential with a Google ID token signs a user up with the Google profile', async () => {
  const account = googleAccount();
  const idToken = fakeIdToken(account);
  const auth = tessera.client();
  const credential = await signInWithCredential(auth, GoogleAuthProvider.credential(idToken));
  const { user } = credential;
  assert.equal(credential.operationType, 'signIn');
  assert.equal(credential.providerId, 'google.com');
  assert.equal(auth.currentUser, user);
  assert.deepEqual(
    { email: user.email, emailVerified: user.emailVerified, displayName: user.displayName, photoURL: user.photoURL },
    { email: account.email, emailVerified: true, displayName: account.name, photoURL: account.picture },
  );
  assert.equal(user.isAnonymous, false);
  assert.deepEqual(providerData(user), [
    {
      providerId: 'google.com',
      uid: account.sub,
      displayName: account.name,
      email: account.email,
      phoneNumber: null,
      photoURL: account.picture,
    },
  ]);
  assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: true, providerId: 'google.com', profile: googleProfile(account) });

  // credentialFromResult rebuilds the Google credential from the answer: the same ID token.
  const rebuilt = GoogleAuthProvider.credentialFromResult(credential);
  assert.equal(rebuilt.providerId, 'google.com');
  assert.equal(rebuilt.signInMethod, 'google.com');
  assert.equal(rebuilt.idToken, idToken);

  const token = await getIdTokenResult(user);
  assert.equal(token.signInProvider, 'google.com');
  assert.equal(token.signInSecondFactor, null);
  assert.deepEqual(token.claims.firebase, {
    identities: { 'google.com': [account.sub], email: [account.email] },
    sign_in_provider: 'google.com',
  });
  assert.deepEqual(
    { sub: token.claims.sub, email: token.claims.email, email_verified: token.claims.email_verified, name: token.claims.name, picture: token.claims.picture },
    { sub: user.uid, email: account.email, email_verified: true, name: account.name, picture: account.picture },
  );
  // A refresh keeps the provider the session began with.
  assert.equal((await getIdTokenResult(user, true)).signInProvider, 'google.com');
});

test('the same Google account signs the same user in again: isNewUser false', async () => {
  const account = googleAccount();
  const first = await googleSignIn(account);
  const again = await googleSignIn(account);
  assert.equal(again.user.uid, first.user.uid);
  assert.deepEqual({ ...getAdditionalUserInfo(again) }, { isNewUser: false, providerId: 'google.com', profile: googleProfile(account) });
  assert.equal((await getIdTokenResult(again.user)).signInProvider, 'google.com');
});

test('a Google credential given as a JSON string, as the emulator docs show, signs a user up', async () => {
  const claims = { sub: `json-${hex()}`, email: uniqueEmail('json'), email_verified: true };
  const credential = await signInWithCredential(tessera.client(), GoogleAuthProvider.credential(JSON.stringify(claims)));
  // The profile has what the claims have: no name or picture entries (the emulator builds it
  // with JSON.stringify, which leaves undefined ones out).
  assert.deepEqual(
    { ...getAdditionalUserInfo(credential) },
    {
      isNewUser: true,
      providerId: 'google.com',
      profile: {
        granted_scopes: 'openid https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email',
        id: claims.sub,
        verified_email: true,
        locale: 'en',
        email: claims.email,
      },
    },
  );
  assert.deepEqual(
    { email: credential.user.email, emailVerified: credential.user.emailVerified, displayName: credential.user.displayName },
    { email: claims.email, emailVerified: true, displayName: null },
  );
  assert.deepEqual(providerData(credential.user).map(({ providerId, uid }) => ({ providerId, uid })), [
    { providerId: 'google.com', uid: claims.sub },
  ]);
  assert.equal(GoogleAuthProvider.credentialFromResult(credential).idToken, JSON.stringify(claims));
});

test('reauthenticateWithCredential with the user\'s Google account works; another account is auth/user-mismatch', async () => {
  const account = googleAccount();
  const { user } = await googleSignIn(account);
  const again = await reauthenticateWithCredential(user, google(account));
  assert.equal(again.operationType, 'reauthenticate');
  assert.equal(again.user, user);
  assert.equal((await getIdTokenResult(user)).signInProvider, 'google.com');
  await assert.rejects(reauthenticateWithCredential(user, google(googleAccount())), { code: 'auth/user-mismatch' });
  assert.equal((await getIdTokenResult(user, true)).claims.sub, user.uid);
});

test('a disabled Google user cannot sign in: auth/user-disabled', async () => {
  const account = googleAccount();
  const { user } = await googleSignIn(account);
  await tessera.admin.updateUser(user.uid, { disabled: true });
  const auth = tessera.client();
  await assert.rejects(googleSignIn(account, auth), { code: 'auth/user-disabled' });
  assert.equal(auth.currentUser, null);
  await tessera.admin.updateUser(user.uid, { disabled: false });
  assert.equal((await googleSignIn(account)).user.uid, user.uid);
});

test('a tenant\'s Auth signs the same Google account up as a user of its own, with the tenant in its token', async () => {
  const account = googleAccount();
  const { user: projectUser } = await googleSignIn(account);
  const tenant = await tessera.admin.tenantManager().createTenant({ displayName: 'Idp-Tenant' });
  const credential = await googleSignIn(account, tessera.client(tenant.tenantId));
  const { user } = credential;
  assert.notEqual(user.uid, projectUser.uid);
  assert.equal(user.tenantId, tenant.tenantId);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, true);
  assert.deepEqual((await getIdTokenResult(user)).claims.firebase, {
    identities: { 'google.com': [account.sub], email: [account.email] },
    sign_in_provider: 'google.com',
    tenant: tenant.tenantId,
  });
  const tenantAdmin = tessera.admin.tenantManager().authForTenant(tenant.tenantId);
  assert.equal((await tenantAdmin.getUserByProviderUid('google.com', account.sub)).uid, user.uid);
  assert.equal((await tessera.admin.getUserByProviderUid('google.com', account.sub)).uid, projectUser.uid);
});

test('OAuthProvider("oidc.corp").credential({ idToken }) signs in with an OIDC provider; the profile is its claims', async () => {
  const claims = { sub: `corp-${hex()}`, email: uniqueEmail('corp'), email_verified: true, name: 'Grace Hopper', department: 'Navy' };
  const idToken = fakeIdToken(claims);
  const provider = new OAuthProvider('oidc.corp');
  const credential = await signInWithCredential(tessera.client(), provider.credential({ idToken }));
  assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: true, providerId: 'oidc.corp', profile: claims });
  assert.deepEqual(providerData(credential.user), [
    { providerId: 'oidc.corp', uid: claims.sub, displayName: claims.name, email: claims.email, phoneNumber: null, photoURL: null },
  ]);
  const rebuilt = OAuthProvider.credentialFromResult(credential);
  assert.deepEqual({ providerId: rebuilt.providerId, signInMethod: rebuilt.signInMethod, idToken: rebuilt.idToken }, {
    providerId: 'oidc.corp',
    signInMethod: 'oidc.corp',
    idToken,
  });
  const token = await getIdTokenResult(credential.user);
  assert.equal(token.signInProvider, 'oidc.corp');
  assert.deepEqual(token.claims.firebase.identities, { 'oidc.corp': [claims.sub], email: [claims.email] });

  const again = await signInWithCredential(tessera.client(), provider.credential({ idToken }));
  assert.equal(again.user.uid, credential.user.uid);
  assert.equal(getAdditionalUserInfo(again).isNewUser, false);
});

// GitHub's credential is an access token only; the emulator (and Tessera in dev mode) reads fake
// claims from it just as from an ID token.
test('GithubAuthProvider.credential(accessToken) with fake claims signs in; username comes from the login claim', async () => {
  const claims = { sub: `gh-${hex()}`, login: 'octocat', screen_name: 'octocat', name: 'The Octocat' };
  const accessToken = JSON.stringify(claims);
  const credential = await signInWithCredential(tessera.client(), GithubAuthProvider.credential(accessToken));
  assert.deepEqual(
    { ...getAdditionalUserInfo(credential) },
    { isNewUser: true, providerId: 'github.com', profile: claims, username: 'octocat' },
  );
  assert.equal(credential.user.email, null);
  assert.deepEqual(providerData(credential.user), [
    { providerId: 'github.com', uid: claims.sub, displayName: claims.name, email: null, phoneNumber: null, photoURL: null },
  ]);
  assert.equal(GithubAuthProvider.credentialFromResult(credential).accessToken, accessToken);
  const token = await getIdTokenResult(credential.user);
  assert.equal(token.signInProvider, 'github.com');
  assert.deepEqual(token.claims.firebase.identities, { 'github.com': [claims.sub] });
});

test('linkWithCredential adds Google to a password user; fetchSignInMethodsForEmail lists both; unlink removes it', async () => {
  const { auth, user, email } = await tessera.signUp();
  const account = googleAccount({ email });
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, email), ['password']);

  const linked = await linkWithCredential(user, google(account));
  assert.equal(linked.operationType, 'link');
  assert.equal(linked.user, user);
  assert.deepEqual({ ...getAdditionalUserInfo(linked) }, { isNewUser: false, providerId: 'google.com', profile: googleProfile(account) });
  assert.deepEqual(user.providerData.map((info) => [info.providerId, info.uid]), [
    ['password', email],
    ['google.com', account.sub],
  ]);
  // Google vouches for the address the user signed up with: it is verified now.
  assert.equal(user.emailVerified, true);
  const token = await getIdTokenResult(user);
  assert.equal(token.signInProvider, 'google.com');
  assert.deepEqual(token.claims.firebase.identities, { 'google.com': [account.sub], email: [email] });
  assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), ['password', 'google.com']);
  assert.equal((await googleSignIn(account)).user.uid, user.uid);
  assert.equal((await tessera.admin.getUserByProviderUid('google.com', account.sub)).uid, user.uid);

  await unlink(user, 'google.com');
  assert.deepEqual(user.providerData.map((info) => info.providerId), ['password']);
  assert.deepEqual((await record(user.uid)).providerData.map((info) => info.providerId), ['password']);
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, email), ['password']);
  await assert.rejects(tessera.admin.getUserByProviderUid('google.com', account.sub), { code: 'auth/user-not-found' });
  // The password still signs in.
  assert.equal((await tessera.signIn(email)).user.uid, user.uid);
});

test('linkWithCredential upgrades an anonymous user with Google: same uid, the Google address and profile', async () => {
  const auth = tessera.client();
  const { user } = await signInAnonymously(auth);
  const account = googleAccount();
  const linked = await linkWithCredential(user, google(account));
  assert.equal(linked.user.uid, user.uid);
  assert.equal(linked.user.isAnonymous, false);
  assert.deepEqual({ email: linked.user.email, emailVerified: linked.user.emailVerified }, { email: account.email, emailVerified: true });
  assert.deepEqual(linked.user.providerData.map((info) => [info.providerId, info.uid]), [['google.com', account.sub]]);
  assert.equal((await getIdTokenResult(linked.user)).signInProvider, 'google.com');

  const again = await googleSignIn(account);
  assert.equal(again.user.uid, user.uid);
  assert.equal(getAdditionalUserInfo(again).isNewUser, false);
  assert.equal((await record(user.uid)).email, account.email);
});

// The Node build has no popup or redirect, the only flows whose requests ask for the credential
// back (`returnIdpCredential`, set in the SDK's IdpCredential._buildIdpRequest); linkWithCredential
// does not ask, so its error carries the server's error body and credentialFromError has nothing
// to rebuild from (the emulator answers the same way).
test('linking a Google account another user holds is auth/credential-already-in-use, nothing changed', async () => {
  const account = googleAccount();
  const holder = (await googleSignIn(account)).user;
  const { user, email } = await tessera.signUp();
  const before = await record(user.uid);

  const error = await failure(linkWithCredential(user, google(account)));
  assert.equal(error.code, 'auth/credential-already-in-use');
  assert.equal(GoogleAuthProvider.credentialFromError(error), null);
  assert.deepEqual(await record(user.uid), before);
  assert.equal((await tessera.admin.getUserByProviderUid('google.com', account.sub)).uid, holder.uid);
  assert.deepEqual(user.providerData.map((info) => info.providerId), ['password']);
  assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), ['password']);

  // What linkWithPopup sends and gets: the refusal as a 200 answer with the credential, which
  // the SDK turns into this error and credentialFromError into the credential.
  const idToken = fakeIdToken(account);
  const answer = await tessera.rest('/identitytoolkit.googleapis.com/v1/accounts:signInWithIdp?key=dev-api-key', {
    method: 'POST',
    body: {
      requestUri: 'http://localhost',
      postBody: `id_token=${idToken}&providerId=google.com`,
      idToken: await user.getIdToken(),
      returnSecureToken: true,
      returnIdpCredential: true,
    },
  });
  assert.deepEqual(
    { errorMessage: answer.errorMessage, providerId: answer.providerId, oauthIdToken: answer.oauthIdToken, idToken: answer.idToken },
    { errorMessage: 'FEDERATED_USER_ID_ALREADY_LINKED', providerId: 'google.com', oauthIdToken: idToken, idToken: undefined },
  );
  assert.equal(GoogleAuthProvider.credentialFromError({ customData: { _tokenResponse: answer } }).idToken, idToken);
  assert.deepEqual(await record(user.uid), before);
});

test('linking a Google account whose address is another user\'s is auth/email-already-in-use, nothing changed', async () => {
  const owner = await tessera.signUp();
  const { user } = await tessera.signUp();
  const account = googleAccount({ email: owner.email });
  const [ownerBefore, before] = [await record(owner.user.uid), await record(user.uid)];

  await assert.rejects(linkWithCredential(user, google(account)), { code: 'auth/email-already-in-use' });
  assert.deepEqual(await record(user.uid), before);
  assert.deepEqual(await record(owner.user.uid), ownerBefore);
  await assert.rejects(tessera.admin.getUserByProviderUid('google.com', account.sub), { code: 'auth/user-not-found' });
});

test('a Google address not vouched for that a password user has is auth/account-exists-with-different-credential; password sign-in then linking resolves it', async () => {
  const { user, email } = await tessera.signUp();
  const before = await record(user.uid);
  const account = googleAccount({ email, email_verified: false });
  const idToken = fakeIdToken(account);
  const auth = tessera.client();

  const error = await failure(signInWithCredential(auth, GoogleAuthProvider.credential(idToken)));
  assert.equal(error.code, 'auth/account-exists-with-different-credential');
  assert.equal(error.customData.email, email);
  assert.equal(auth.currentUser, null);
  assert.deepEqual(await record(user.uid), before);
  await assert.rejects(tessera.admin.getUserByProviderUid('google.com', account.sub), { code: 'auth/user-not-found' });
  // The documented way out: the methods the address has, a sign-in with one, then a link.
  assert.deepEqual(await fetchSignInMethodsForEmail(auth, email), ['password']);
  const pending = GoogleAuthProvider.credentialFromError(error);
  assert.equal(pending.idToken, idToken);

  const { user: signedIn } = await tessera.signIn(email);
  const linked = await linkWithCredential(signedIn, pending);
  assert.equal(linked.user.uid, user.uid);
  assert.deepEqual(linked.user.providerData.map((info) => info.providerId), ['password', 'google.com']);
  // Google did not vouch for the address, so it stays unverified; the account now signs in.
  assert.equal(linked.user.emailVerified, false);
  assert.equal((await signInWithCredential(tessera.client(), GoogleAuthProvider.credential(idToken))).user.uid, user.uid);
});

test('a Google address vouched for signs in to its user; one who never verified it loses the password and sessions', async () => {
  const { user, email } = await tessera.signUp();
  await nextSecond();
  const account = googleAccount({ email });
  const taken = await googleSignIn(account);
  assert.equal(taken.user.uid, user.uid);
  assert.equal(getAdditionalUserInfo(taken).isNewUser, false);
  assert.deepEqual(
    { emailVerified: taken.user.emailVerified, displayName: taken.user.displayName },
    { emailVerified: true, displayName: account.name },
  );
  assert.deepEqual((await record(user.uid)).providerData.map((info) => info.providerId), ['google.com']);
  assert.deepEqual(await fetchSignInMethodsForEmail(tessera.client(), email), ['google.com']);
  await assert.rejects(tessera.signIn(email), { code: 'auth/wrong-password' });
  await assert.rejects(user.getIdToken(true), { code: 'auth/user-token-expired' });
});

test('a Google address vouched for signs in to a user who verified it; that user keeps the password', async () => {
  const email = uniqueEmail('verified');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD, emailVerified: true });
  const { user: session } = await tessera.signIn(email);
  const account = googleAccount({ email });
  assert.equal((await googleSignIn(account)).user.uid, uid);
  assert.deepEqual((await record(uid)).providerData.map((info) => info.providerId), ['password', 'google.com']);
  assert.equal((await tessera.signIn(email)).user.uid, uid);
  assert.equal((await getIdTokenResult(session, true)).claims.sub, uid);
});

describe('a user with a TOTP second factor signing in with Google', () => {
  const PERIOD_MS = 30_000;
  const currentStep = () => Math.floor(Date.now() / PERIOD_MS);
  const totpCode = (secretKey, step) =>
    new TOTP({ secret: Secret.fromBase32(secretKey), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
      timestamp: step * PERIOD_MS,
    });

  test('gets auth/multi-factor-auth-required; resolveSignIn with TOTP finishes a google.com session', async () => {
    const email = uniqueEmail('mfa-google');
    const { uid } = await tessera.admin.createUser({ email, password: PASSWORD, emailVerified: true });
    const { user } = await tessera.signIn(email);
    const secret = await TotpMultiFactorGenerator.generateSecret(await multiFactor(user).getSession());
    const enrolmentStep = currentStep();
    await multiFactor(user).enroll(
      TotpMultiFactorGenerator.assertionForEnrollment(secret, totpCode(secret.secretKey, enrolmentStep)),
      'Authenticator',
    );
    const [factor] = multiFactor(user).enrolledFactors;

    const account = googleAccount({ email });
    const auth = tessera.client();
    const error = await failure(signInWithCredential(auth, google(account)));
    assert.equal(error.code, 'auth/multi-factor-auth-required', error.message);
    assert.equal(error.customData.operationType, 'signIn');
    assert.equal(auth.currentUser, null);
    const resolver = getMultiFactorResolver(auth, error);
    assert.deepEqual(
      resolver.hints.map(({ uid: hintUid, factorId, displayName }) => ({ hintUid, factorId, displayName })),
      [{ hintUid: factor.uid, factorId: 'totp', displayName: 'Authenticator' }],
    );

    // The enrolment consumed its time step; the next one is within the accepted window.
    const credential = await resolver.resolveSignIn(
      TotpMultiFactorGenerator.assertionForSignIn(factor.uid, totpCode(secret.secretKey, enrolmentStep + 1)),
    );
    assert.equal(credential.user.uid, uid);
    assert.equal(auth.currentUser, credential.user);
    assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: false, providerId: 'google.com', profile: googleProfile(account) });
    const token = await getIdTokenResult(credential.user);
    assert.deepEqual(
      { signInProvider: token.signInProvider, signInSecondFactor: token.signInSecondFactor, factor: token.claims.firebase.second_factor_identifier },
      { signInProvider: 'google.com', signInSecondFactor: 'totp', factor: factor.uid },
    );
    assert.deepEqual(token.claims.firebase.identities, { 'google.com': [account.sub], email: [email] });
    assert.deepEqual(credential.user.providerData.map((info) => info.providerId), ['password', 'google.com']);
  });
});

test('firebase-admin getUserByProviderUid finds a Google user; getUser shows its providerData', async () => {
  const account = googleAccount();
  const { user } = await googleSignIn(account);
  const found = await tessera.admin.getUserByProviderUid('google.com', account.sub);
  assert.equal(found.uid, user.uid);
  assert.deepEqual(JSON.parse(JSON.stringify(found)), await record(user.uid));
  assert.deepEqual(JSON.parse(JSON.stringify(found.providerData)), [
    { uid: account.sub, displayName: account.name, email: account.email, photoURL: account.picture, providerId: 'google.com' },
  ]);
  assert.deepEqual(
    { email: found.email, emailVerified: found.emailVerified, displayName: found.displayName, photoURL: found.photoURL },
    { email: account.email, emailVerified: true, displayName: account.name, photoURL: account.picture },
  );
  await assert.rejects(tessera.admin.getUserByProviderUid('google.com', `nobody-${hex()}`), { code: 'auth/user-not-found' });
});

test('firebase-admin updateUser links an account with providerToLink, which then signs in; providersToUnlink removes it', async () => {
  const email = uniqueEmail('admin-link');
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const account = googleAccount({ email });
  const updated = await tessera.admin.updateUser(uid, {
    providerToLink: { providerId: 'google.com', uid: account.sub, email, displayName: 'Linked by admin' },
  });
  assert.deepEqual(
    JSON.parse(JSON.stringify(updated.providerData)).find((info) => info.providerId === 'google.com'),
    { uid: account.sub, displayName: 'Linked by admin', email, providerId: 'google.com' },
  );
  assert.equal((await tessera.admin.getUserByProviderUid('google.com', account.sub)).uid, uid);

  const signedIn = await googleSignIn(account);
  assert.equal(signedIn.user.uid, uid);
  assert.equal(getAdditionalUserInfo(signedIn).isNewUser, false);
  assert.equal((await getIdTokenResult(signedIn.user)).signInProvider, 'google.com');

  const unlinked = await tessera.admin.updateUser(uid, { providersToUnlink: ['google.com'] });
  assert.deepEqual(unlinked.providerData.map((info) => info.providerId), ['password']);
  await assert.rejects(tessera.admin.getUserByProviderUid('google.com', account.sub), { code: 'auth/user-not-found' });
  assert.equal((await tessera.signIn(email)).user.uid, uid);
});

test('firebase-admin providerToLink of an account another user holds is refused, nothing changed', async () => {
  const account = googleAccount();
  const holder = (await googleSignIn(account)).user;
  const { uid } = await tessera.admin.createUser({ email: uniqueEmail('other') });
  const before = await record(uid);
  const error = await failure(
    tessera.admin.updateUser(uid, { providerToLink: { providerId: 'google.com', uid: account.sub } }),
  );
  // firebase-admin has no code of its own for FEDERATED_USER_ID_ALREADY_LINKED.
  assert.equal(error.code, 'auth/internal-error');
  assert.match(error.message, /FEDERATED_USER_ID_ALREADY_LINKED/);
  assert.deepEqual(await record(uid), before);
  assert.equal((await tessera.admin.getUserByProviderUid('google.com', account.sub)).uid, holder.uid);
});

test('firebase-admin importUsers with providerData: the imported Google account signs in to the imported uid', async () => {
  const uid = `imported-${hex()}`;
  const email = uniqueEmail('imported');
  const account = googleAccount({ email });
  const result = await tessera.admin.importUsers([
    {
      uid,
      email,
      emailVerified: true,
      displayName: 'Imported',
      providerData: [{ uid: account.sub, providerId: 'google.com', email, displayName: 'Imported at Google' }],
    },
  ]);
  assert.deepEqual(result, { successCount: 1, failureCount: 0, errors: [] });
  assert.deepEqual((await record(uid)).providerData, [
    { uid: account.sub, displayName: 'Imported at Google', email, providerId: 'google.com' },
  ]);

  const signedIn = await googleSignIn(account);
  assert.equal(signedIn.user.uid, uid);
  assert.equal(getAdditionalUserInfo(signedIn).isNewUser, false);
  assert.deepEqual(signedIn.user.providerData.map((info) => [info.providerId, info.uid]), [['google.com', account.sub]]);

  // A second import of the same Google account fails for that user alone.
  const other = `imported-${hex()}`;
  const refused = await tessera.admin.importUsers([{ uid: other, providerData: [{ uid: account.sub, providerId: 'google.com' }] }]);
  assert.deepEqual(
    { successCount: refused.successCount, failureCount: refused.failureCount },
    { successCount: 0, failureCount: 1 },
  );
  assert.deepEqual(
    refused.errors.map(({ index, error }) => ({ index, code: error.code, message: error.message })),
    [{ index: 0, code: 'auth/invalid-user-import', message: 'FEDERATED_USER_ID_ALREADY_LINKED' }],
  );
  await assert.rejects(tessera.admin.getUser(other), { code: 'auth/user-not-found' });
});

/** SHA-256 of `text` (UTF-8) in lowercase hex: what a provider's `nonce` claim carries. */
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

// Dev mode, like the emulator, verifies nothing of a provider's token: neither its signature
// nor its nonce.
test('dev mode takes a token with a nonce claim without the raw nonce or with a wrong one, as the emulator does', async () => {
  const rawNonce = `nonce-${hex(16)}`;
  const claims = { sub: `dev-nonce-${hex()}`, nonce: sha256Hex(rawNonce) };
  const provider = new OAuthProvider('oidc.nonce');
  const idToken = fakeIdToken(claims);
  const first = await signInWithCredential(tessera.client(), provider.credential({ idToken }));
  assert.equal(getAdditionalUserInfo(first).isNewUser, true);
  for (const nonce of ['another', rawNonce]) {
    const again = await signInWithCredential(tessera.client(), provider.credential({ idToken, rawNonce: nonce }));
    assert.equal(again.user.uid, first.user.uid);
  }
});

// A production server of its own, taking the ID tokens of one OIDC provider, which this block
// plays: an HTTP server publishing an HS256 key (a JWK of type `oct`) that signs its tokens.
describe('production: a provider token with a nonce claim signs in only with its raw nonce', () => {
  const PROVIDER = 'oidc.nonce';
  const ISSUER = 'https://issuer.example';
  const CLIENT_ID = 'the-app';
  const NONCE_MISSING = 'Firebase: Nonce is missing in the request. (auth/missing-or-invalid-nonce).';
  const NONCE_MISMATCH =
    'Firebase: The nonce in ID Token does not match the SHA256 hash of the raw nonce in the request. (auth/missing-or-invalid-nonce).';
  const secret = randomBytes(32);
  const apps = [];
  let keys;
  let dir;
  let server;
  let apiKey;

  before(async () => {
    keys = createServer((request, response) => {
      if (request.url !== '/keys') {
        response.writeHead(404).end();
        return;
      }
      const jwks = { keys: [{ kty: 'oct', kid: 'k1', alg: 'HS256', k: secret.toString('base64url') }] };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise((resolve) => keys.listen(0, '127.0.0.1', resolve));

    // Production needs an explicit master key and real senders (unreachable ones: nothing
    // here sends); `identity_providers` has no environment variable, so all of it is a file.
    dir = mkdtempSync(join(tmpdir(), 'tessera-idp-production-'));
    const masterKey = join(dir, 'master.key');
    writeFileSync(masterKey, JSON.stringify({ id: `mk-${hex(4)}`, key: randomBytes(32).toString('base64') }));
    chmodSync(masterKey, 0o600);
    const config = join(dir, 'tessera.toml');
    writeFileSync(
      config,
      [
        'mode = "production"',
        `master_key_file = ${JSON.stringify(masterKey)}`,
        '',
        '[sms]',
        'provider = "webhook"',
        'webhook_url = "http://127.0.0.1:9/sms"',
        'webhook_secret = "unused"',
        '',
        '[email]',
        'smtp_url = "smtp://127.0.0.1:9"',
        '',
        '[[identity_providers]]',
        `provider_id = ${JSON.stringify(PROVIDER)}`,
        `issuers = [${JSON.stringify(ISSUER)}]`,
        `client_ids = [${JSON.stringify(CLIENT_ID)}]`,
        `jwks_uri = ${JSON.stringify(`http://127.0.0.1:${keys.address().port}/keys`)}`,
        '',
      ].join('\n'),
    );
    server = await startTessera({ env: { TESSERA_CONFIG: config }, suite: 'idp_production' });
    // The project and its API key, made with the CLI as an operator does.
    server.admin('--config', config, 'create-project', PROJECT);
    apiKey = server.admin('--config', config, 'create-api-key', PROJECT);
  });

  after(async () => {
    await Promise.all(apps.map((app) => deleteApp(app)));
    if (server) assert.equal(await server.stop(), 0, `tessera exit status; log:\n${server.log.join('\n')}`);
    await new Promise((resolve) => (keys ? keys.close(resolve) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh JS SDK Auth with the production API key, pointed at the server as at the emulator. */
  const client = () => {
    const app = initializeApp({ apiKey, projectId: PROJECT }, `production-${hex()}`);
    apps.push(app);
    const auth = getAuth(app);
    connectAuthEmulator(auth, server.baseUrl, { disableWarnings: true });
    return auth;
  };

  /** The provider's ID token for `claims` (`sub`, `nonce`, …), issued now for the app, HS256. */
  const providerToken = (claims) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'HS256', typ: 'JWT', kid: 'k1' };
    const payload = { iss: ISSUER, aud: CLIENT_ID, iat: now, exp: now + 3600, ...claims };
    const signed = [header, payload].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
    return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
  };

  const provider = new OAuthProvider(PROVIDER);
  const signIn = (credential, auth = client()) => signInWithCredential(auth, credential);

  test('with its raw nonce it signs a user up with the provider, the same user again, and reauthenticates', async () => {
    const rawNonce = `nonce-${hex(16)}`;
    const claims = { sub: `n-${hex()}`, email: uniqueEmail('nonce'), email_verified: true, name: 'Ada Lovelace', nonce: sha256Hex(rawNonce) };
    const idToken = providerToken(claims);
    const auth = client();
    const credential = await signIn(provider.credential({ idToken, rawNonce }), auth);
    const { user } = credential;
    assert.equal(auth.currentUser, user);
    assert.equal(credential.providerId, PROVIDER);
    assert.equal(getAdditionalUserInfo(credential).isNewUser, true);
    assert.deepEqual(providerData(user), [
      { providerId: PROVIDER, uid: claims.sub, displayName: claims.name, email: claims.email, phoneNumber: null, photoURL: null },
    ]);
    assert.deepEqual({ email: user.email, emailVerified: user.emailVerified }, { email: claims.email, emailVerified: true });
    const token = await getIdTokenResult(user);
    assert.equal(token.signInProvider, PROVIDER);
    assert.deepEqual(token.claims.firebase.identities, { [PROVIDER]: [claims.sub], email: [claims.email] });

    const again = await signIn(provider.credential({ idToken, rawNonce }));
    assert.equal(again.user.uid, user.uid);
    assert.equal(getAdditionalUserInfo(again).isNewUser, false);

    const reauthenticated = await reauthenticateWithCredential(user, provider.credential({ idToken, rawNonce }));
    assert.equal(reauthenticated.operationType, 'reauthenticate');
    assert.equal(reauthenticated.user.uid, user.uid);
    // Reauthentication reads the credential the same way: no raw nonce, no way in.
    await assert.rejects(reauthenticateWithCredential(user, provider.credential({ idToken })), {
      code: 'auth/missing-or-invalid-nonce',
      message: NONCE_MISSING,
    });
    assert.equal((await getIdTokenResult(user, true)).claims.sub, user.uid);
  });

  test('without the raw nonce it is auth/missing-or-invalid-nonce, and nobody is signed up', async () => {
    const rawNonce = `nonce-${hex(16)}`;
    const idToken = providerToken({ sub: `n-${hex()}`, nonce: sha256Hex(rawNonce) });
    const auth = client();
    await assert.rejects(signIn(provider.credential({ idToken }), auth), {
      code: 'auth/missing-or-invalid-nonce',
      message: NONCE_MISSING,
    });
    assert.equal(auth.currentUser, null);
    // The refusal made no user: the first sign-in that is taken signs one up.
    assert.equal(getAdditionalUserInfo(await signIn(provider.credential({ idToken, rawNonce }))).isNewUser, true);
  });

  test('with a wrong raw nonce it is auth/missing-or-invalid-nonce, and nobody is signed up', async () => {
    const rawNonce = `nonce-${hex(16)}`;
    const hashed = sha256Hex(rawNonce);
    const sub = `n-${hex()}`;
    const idToken = providerToken({ sub, nonce: hashed });
    const refused = [
      provider.credential({ idToken, rawNonce: 'another' }),
      // The hash itself is not the raw nonce.
      provider.credential({ idToken, rawNonce: hashed }),
      // Nor is a nonce claim that is not the hash of the raw nonce.
      provider.credential({ idToken: providerToken({ sub, nonce: rawNonce }), rawNonce }),
      // The hash in upper case is not the claim Firebase compares with.
      provider.credential({ idToken: providerToken({ sub, nonce: hashed.toUpperCase() }), rawNonce }),
    ];
    for (const credential of refused) {
      const auth = client();
      await assert.rejects(signIn(credential, auth), { code: 'auth/missing-or-invalid-nonce', message: NONCE_MISMATCH });
      assert.equal(auth.currentUser, null);
    }
    assert.equal(getAdditionalUserInfo(await signIn(provider.credential({ idToken, rawNonce }))).isNewUser, true);
  });

  test('a raw nonce with characters the postBody escapes is hashed as the app gave it', async () => {
    const rawNonce = `a b+c/d=e&f%20?ü€-${hex()}`;
    const idToken = providerToken({ sub: `n-${hex()}`, nonce: sha256Hex(rawNonce) });
    const { user } = await signIn(provider.credential({ idToken, rawNonce }));
    assert.equal((await getIdTokenResult(user)).signInProvider, PROVIDER);
  });

  test('a token without a nonce claim signs in with or without a raw nonce', async () => {
    const sub = `plain-${hex()}`;
    const idToken = providerToken({ sub });
    const first = await signIn(provider.credential({ idToken }));
    assert.equal(getAdditionalUserInfo(first).isNewUser, true);
    assert.deepEqual(first.user.providerData.map((info) => [info.providerId, info.uid]), [[PROVIDER, sub]]);
    const withNonce = await signIn(provider.credential({ idToken, rawNonce: `nonce-${hex(16)}` }));
    assert.equal(withNonce.user.uid, first.user.uid);
    assert.equal(getAdditionalUserInfo(withNonce).isNewUser, false);
  });

  // The nonce is checked on a token that checks out: one not signed by the provider is refused
  // as such, its nonce right or not.
  test('an unsigned token with the right raw nonce is auth/invalid-credential', async () => {
    const rawNonce = `nonce-${hex(16)}`;
    const now = Math.floor(Date.now() / 1000);
    const idToken = fakeIdToken({ iss: ISSUER, aud: CLIENT_ID, iat: now, exp: now + 3600, sub: `n-${hex()}`, nonce: sha256Hex(rawNonce) });
    await assert.rejects(signIn(provider.credential({ idToken, rawNonce })), { code: 'auth/invalid-credential' });
    await assert.rejects(signIn(provider.credential({ idToken })), { code: 'auth/invalid-credential' });
  });
});
