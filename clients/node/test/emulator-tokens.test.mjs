// firebase-admin for Node, in emulator mode, verifies ID tokens as unsigned JWTs only
// (`algorithms: ['none']`) and rejects signed ones. Tessera's opt-in dev setting
// `unsigned_id_tokens` issues tokens the way the emulator does, so `verifyIdToken` — and its
// revocation and disabled-user checks — work unchanged.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { getIdTokenResult } from 'firebase/auth';

import { decodeJwt, PASSWORD, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera({ env: { TESSERA_UNSIGNED_ID_TOKENS: 'true' } });

async function userWithToken() {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const { user } = await tessera.signIn(email);
  return { uid, user, token: await user.getIdToken() };
}

test('tokens are unsigned, as the emulator issues them, and the JS SDK reads them', async () => {
  const { uid, user, token } = await userWithToken();
  assert.deepEqual(decodeJwt(token).header, { alg: 'none', typ: 'JWT' });
  assert.ok(token.endsWith('.'));
  const result = await getIdTokenResult(user, true);
  assert.equal(result.claims.sub, uid);
  assert.equal(result.signInProvider, 'password');
});

test('verifyIdToken accepts a token Tessera issued', async () => {
  const { uid, token } = await userWithToken();
  const decoded = await tessera.admin.verifyIdToken(token);
  assert.equal(decoded.uid, uid);
  assert.equal(decoded.firebase.sign_in_provider, 'password');
});

test('revokeRefreshTokens, then verifyIdToken(token, true) rejects with auth/id-token-revoked', async () => {
  const { uid, token } = await userWithToken();
  assert.equal((await tessera.admin.verifyIdToken(token, true)).uid, uid);
  // validSince has one-second resolution: revoking in the token's own second would not revoke it.
  await sleep(1100);
  await tessera.admin.revokeRefreshTokens(uid);
  await assert.rejects(tessera.admin.verifyIdToken(token, true), { code: 'auth/id-token-revoked' });
});

test('verifyIdToken(token, true) rejects the token of a disabled user with auth/user-disabled', async () => {
  const { uid, token } = await userWithToken();
  await tessera.admin.updateUser(uid, { disabled: true });
  await assert.rejects(tessera.admin.verifyIdToken(token, true), { code: 'auth/user-disabled' });
});

test('createSessionCookie, then verifySessionCookie: the session as a cookie, for the time asked', async () => {
  const { uid, token } = await userWithToken();
  const expiresIn = 60 * 60 * 1000;
  const cookie = await tessera.admin.createSessionCookie(token, { expiresIn });
  assert.deepEqual(decodeJwt(cookie).header, { alg: 'none', typ: 'JWT' });
  const decoded = await tessera.admin.verifySessionCookie(cookie, true);
  assert.equal(decoded.uid, uid);
  assert.equal(decoded.iss, `https://session.firebase.google.com/${decoded.aud}`);
  assert.equal(decoded.exp - decoded.iat, expiresIn / 1000);
  assert.equal(decoded.firebase.sign_in_provider, 'password');
  assert.equal(decoded.auth_time, decodeJwt(token).payload.auth_time);
});

test('createSessionCookie refuses a duration under five minutes and a forged ID token', async () => {
  const { token } = await userWithToken();
  await assert.rejects(tessera.admin.createSessionCookie(token, { expiresIn: 60 * 1000 }), {
    code: 'auth/invalid-session-cookie-duration',
  });
  await assert.rejects(tessera.admin.createSessionCookie(`${token}x`, { expiresIn: 3600 * 1000 }), (e) =>
    e.code.startsWith('auth/'),
  );
});

test('verifySessionCookie(cookie, true) rejects once the sessions are revoked', async () => {
  const { uid, token } = await userWithToken();
  const cookie = await tessera.admin.createSessionCookie(token, { expiresIn: 3600 * 1000 });
  await sleep(1100);
  await tessera.admin.revokeRefreshTokens(uid);
  await assert.rejects(tessera.admin.verifySessionCookie(cookie, true), {
    code: 'auth/session-cookie-revoked',
  });
});
