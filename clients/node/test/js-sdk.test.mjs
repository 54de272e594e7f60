// The Firebase JS SDK (firebase/auth, Node build) against Tessera through connectAuthEmulator.

import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';

import {
  createUserWithEmailAndPassword,
  deleteUser,
  EmailAuthProvider,
  getAdditionalUserInfo,
  getIdTokenResult,
  linkWithCredential,
  reload,
  signInAnonymously,
  updateEmail,
  updatePassword,
  updateProfile,
} from 'firebase/auth';

import { decodeJwt, PASSWORD, PROJECT, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();
const signIn = tessera.signIn;


// validSince and iat have one-second resolution: waiting past a second boundary makes
// "later than" comparisons against the previous token unambiguous.
const nextSecond = () => sleep(1100);

test('createUserWithEmailAndPassword creates a password user and signs it in', async () => {
  const { auth, credential, user, email } = await tessera.signUp();
  assert.equal(credential.operationType, 'signIn');
  assert.equal(auth.currentUser, user);
  assert.equal(user.email, email);
  assert.equal(user.emailVerified, false);
  assert.equal(user.isAnonymous, false);
  assert.deepEqual(user.providerData.map((p) => [p.providerId, p.uid, p.email]), [['password', email, email]]);
  // The SDK derives isNewUser from the signUp response's `kind`.
  assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: true, providerId: 'password', profile: {} });

  const record = await tessera.admin.getUser(user.uid);
  assert.equal(record.email, email);
  assert.equal(new Date(record.metadata.creationTime).getTime(), new Date(user.metadata.creationTime).getTime());
});

test('signInWithEmailAndPassword returns an RS256 ID token that the published keys verify', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const credential = await signIn(email);
  const { user } = credential;
  assert.equal(user.uid, uid);
  assert.deepEqual({ ...getAdditionalUserInfo(credential) }, { isNewUser: false, providerId: 'password', profile: {} });

  const token = await user.getIdToken();
  const { header, payload } = decodeJwt(token);
  assert.equal(header.alg, 'RS256');
  const { keys } = await tessera.rest('/.well-known/jwks.json');
  const jwk = keys.find((key) => key.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is published`);
  const [signed, signature] = [token.slice(0, token.lastIndexOf('.')), token.split('.')[2]];
  assert.ok(verify('RSA-SHA256', Buffer.from(signed), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')));
  assert.equal(payload.iss, `https://securetoken.google.com/${PROJECT}`);
  assert.equal(payload.aud, PROJECT);
  assert.equal(payload.sub, uid);
});

test('a wrong password is auth/wrong-password (server: INVALID_PASSWORD)', async () => {
  const { email } = await tessera.signUp();
  await assert.rejects(signIn(email, 'not the password'), { code: 'auth/wrong-password' });
});

test('an unknown email is auth/user-not-found (server: EMAIL_NOT_FOUND)', async () => {
  await assert.rejects(signIn(uniqueEmail('nobody')), { code: 'auth/user-not-found' });
});

test('signing up an existing email is auth/email-already-in-use', async () => {
  const { email } = await tessera.signUp();
  await assert.rejects(tessera.signUp(email), { code: 'auth/email-already-in-use' });
});

test('a password under six characters is auth/weak-password', async () => {
  const auth = tessera.client();
  await assert.rejects(createUserWithEmailAndPassword(auth, uniqueEmail(), '12345'), {
    code: 'auth/weak-password',
    message: 'Firebase: Password should be at least 6 characters (auth/weak-password).',
  });
  assert.equal(auth.currentUser, null);
});

test('a disabled user cannot sign in: auth/user-disabled', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD, disabled: true });
  await assert.rejects(signIn(email), { code: 'auth/user-disabled' });
  await tessera.admin.updateUser(uid, { disabled: false });
  assert.equal((await signIn(email)).user.uid, uid);
});

test('getIdTokenResult shows the password provider and the standard claims', async () => {
  const { user, email } = await tessera.signUp();
  const result = await getIdTokenResult(user);
  assert.equal(result.signInProvider, 'password');
  assert.equal(result.signInSecondFactor, null);
  assert.equal(result.claims.user_id, user.uid);
  assert.equal(result.claims.sub, user.uid);
  assert.equal(result.claims.email, email);
  assert.equal(result.claims.email_verified, false);
  assert.deepEqual(result.claims.firebase, { identities: { email: [email] }, sign_in_provider: 'password' });
  assert.equal(Date.parse(result.expirationTime) - Date.parse(result.issuedAtTime), 3600_000);
  assert.ok(Math.abs(Date.parse(result.authTime) - Date.now()) < 60_000, result.authTime);
});

test('updateProfile is stored: reload and a fresh sign-in see it, and so does the token', async () => {
  const { user, email } = await tessera.signUp();
  const profile = { displayName: 'Ada Lovelace', photoURL: 'https://example.com/ada.png' };
  await updateProfile(user, profile);
  await reload(user);
  assert.deepEqual({ displayName: user.displayName, photoURL: user.photoURL }, profile);
  assert.deepEqual(
    { displayName: user.providerData[0].displayName, photoURL: user.providerData[0].photoURL },
    profile,
  );

  const other = (await signIn(email)).user;
  assert.deepEqual({ displayName: other.displayName, photoURL: other.photoURL }, profile);
  const { claims } = await getIdTokenResult(other);
  assert.deepEqual({ name: claims.name, picture: claims.picture }, { name: profile.displayName, picture: profile.photoURL });
});

test('updateEmail moves the sign-in to the new address, clears emailVerified, ends other sessions', async () => {
  const { user, email } = await tessera.signUp();
  const otherSession = (await signIn(email)).user;
  await tessera.admin.updateUser(user.uid, { emailVerified: true });
  await nextSecond();
  const newEmail = uniqueEmail('moved');
  await updateEmail(user, newEmail);
  await reload(user);
  assert.equal(user.email, newEmail);
  assert.equal(user.emailVerified, false);
  assert.equal((await signIn(newEmail)).user.uid, user.uid);
  await assert.rejects(signIn(email), { code: 'auth/user-not-found' });
  // As in Firebase, a new email revokes earlier sessions; this one took the fresh tokens.
  assert.equal((await getIdTokenResult(user, true)).claims.email, newEmail);
  await assert.rejects(otherSession.getIdToken(true), { code: 'auth/user-token-expired' });
});

test('linkWithCredential gives an anonymous user an email and password, keeping its uid', async () => {
  const auth = tessera.client();
  const { user } = await signInAnonymously(auth);
  assert.equal(user.isAnonymous, true);
  const email = uniqueEmail('linked');
  const linked = await linkWithCredential(user, EmailAuthProvider.credential(email, PASSWORD));
  assert.equal(linked.operationType, 'link');
  assert.equal(linked.user.uid, user.uid);
  assert.equal(linked.user.isAnonymous, false);
  assert.equal(linked.user.email, email);
  assert.deepEqual(linked.user.providerData.map((p) => p.providerId), ['password']);
  assert.equal((await getIdTokenResult(linked.user, true)).signInProvider, 'password');
  assert.equal((await signIn(email)).user.uid, user.uid);
});

test('createUserWithEmailAndPassword with an empty password is auth/missing-password', async () => {
  await assert.rejects(createUserWithEmailAndPassword(tessera.client(), uniqueEmail(), ''), {
    code: 'auth/missing-password',
  });
});

test('updatePassword: the new password signs in, the old one does not, other sessions end', async () => {
  const { user, email } = await tessera.signUp();
  const otherSession = (await signIn(email)).user;
  await nextSecond();
  await updatePassword(user, 'a brand new secret');

  assert.equal((await signIn(email, 'a brand new secret')).user.uid, user.uid);
  await assert.rejects(signIn(email), { code: 'auth/wrong-password' });
  // The SDK took the tokens the update returned, so this session survives its own change...
  const refreshed = await getIdTokenResult(user, true);
  assert.equal(refreshed.claims.sub, user.uid);
  // ...while a session signed in before the change is revoked and signed out.
  await assert.rejects(otherSession.getIdToken(true), { code: 'auth/user-token-expired' });
});

test('getIdToken(true) refreshes through securetoken: a new token for the same session', async () => {
  const { user } = await tessera.signUp();
  const before = await getIdTokenResult(user);
  const refreshToken = user.refreshToken;
  await nextSecond();
  const token = await user.getIdToken(true);
  assert.notEqual(token, before.token);
  const after = await getIdTokenResult(user);
  assert.equal(after.token, token);
  assert.ok(Date.parse(after.issuedAtTime) > Date.parse(before.issuedAtTime));
  // A refresh is not a sign-in: auth_time stays, and Tessera keeps the refresh token.
  assert.equal(after.authTime, before.authTime);
  assert.equal(user.refreshToken, refreshToken);
  // Without force the SDK serves its cached token.
  assert.equal(await user.getIdToken(), token);
});

test('custom claims set through firebase-admin appear after a forced refresh', async () => {
  const { user } = await tessera.signUp();
  const cached = await getIdTokenResult(user);
  await tessera.admin.setCustomUserClaims(user.uid, { role: 'auditor', level: 3, tags: ['a', 'b'] });
  assert.equal(cached.claims.role, undefined);
  assert.equal((await getIdTokenResult(user)).claims.role, undefined, 'the cached token is unchanged');

  const { claims } = await getIdTokenResult(user, true);
  assert.deepEqual({ role: claims.role, level: claims.level, tags: claims.tags }, { role: 'auditor', level: 3, tags: ['a', 'b'] });
  assert.equal(claims.sub, user.uid);
});

test('custom claims named like profile claims: name replaces the profile, email gives way to the account', async () => {
  const { user, email } = await tessera.signUp();
  await updateProfile(user, { displayName: 'Casey' });
  await tessera.admin.setCustomUserClaims(user.uid, { name: 'Captain', email: 'spoof@example.com', phone_number: '+16505550199' });

  const token = await user.getIdToken(true);
  const { payload } = decodeJwt(token);
  assert.deepEqual(
    { name: payload.name, email: payload.email, phone_number: payload.phone_number },
    { name: 'Captain', email, phone_number: undefined },
  );
  // JSON.parse keeps the last of repeated names, so count them in the text (the identities'
  // "email" is a list).
  const text = Buffer.from(token.split('.')[1], 'base64url').toString();
  assert.deepEqual([text.match(/"name":/g).length, text.match(/"email":"/g).length], [1, 1], text);
  // reload presents the new token to accounts:lookup: the server takes its own token back.
  await reload(user);
  assert.equal(user.displayName, 'Casey', 'the profile itself is unchanged');
});

test('revokeRefreshTokens ends the session: the next refresh is auth/user-token-expired', async () => {
  const { auth, user } = await tessera.signUp();
  await nextSecond();
  await tessera.admin.revokeRefreshTokens(user.uid);
  await assert.rejects(user.getIdToken(true), { code: 'auth/user-token-expired' });
  assert.equal(auth.currentUser, null, 'the SDK signs out a user whose refresh token was revoked');
});

test('deleteUser removes the account: signing in again is auth/user-not-found', async () => {
  const { auth, user, email } = await tessera.signUp();
  await deleteUser(user);
  assert.equal(auth.currentUser, null);
  await assert.rejects(signIn(email), { code: 'auth/user-not-found' });
  await assert.rejects(tessera.admin.getUser(user.uid), { code: 'auth/user-not-found' });
});

// Firebase answers USER_NOT_FOUND here, which the JS SDK answers by signing the user out.
test('refreshing the session of a user deleted by an admin is auth/user-token-expired and signs out', async () => {
  const auth = tessera.client();
  const { user } = await createUserWithEmailAndPassword(auth, uniqueEmail(), PASSWORD);
  await tessera.admin.deleteUser(user.uid);
  await assert.rejects(user.getIdToken(true), { code: 'auth/user-token-expired' });
  assert.equal(auth.currentUser, null);
});
