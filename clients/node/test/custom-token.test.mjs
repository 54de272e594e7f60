// Custom tokens (accounts:signInWithCustomToken) through the unmodified JS SDK and
// firebase-admin. In emulator mode (FIREBASE_AUTH_EMULATOR_HOST, no credentials),
// firebase-admin's createCustomToken makes an unsigned JWT (`alg: none`), and dev mode takes it
// as the Firebase Auth emulator does: the first sign-in creates the user with the token's uid,
// later ones sign that user in, and the token's developer claims sit at the top level of every ID
// token of the session, refreshed ones too, under the user's own custom claims.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  getAdditionalUserInfo,
  getIdTokenResult,
  multiFactor,
  signInWithCustomToken,
  TotpMultiFactorGenerator,
} from 'firebase/auth';

import { decodeJwt, hex, PASSWORD, PROJECT, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();


/** signInWithCustomToken on a fresh client; resolves to the UserCredential. */
const signIn = (token, tenantId = null) => signInWithCustomToken(tessera.client(tenantId), token);

/**
 * The same request over plain HTTP, for what the JS SDK would also catch on its own side (it
 * refuses a user of another tenant than its Auth's); resolves to the status and the JSON body.
 */
async function postSignIn(body) {
  const url = new URL('/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=dev-api-key', tessera.baseUrl);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, returnSecureToken: true }),
  });
  return { status: response.status, body: await response.json() };
}

test('createCustomToken in emulator mode makes an unsigned JWT for the uid and its claims', async () => {
  const uid = `raw-${hex()}`;
  const { header, payload } = decodeJwt(await tessera.admin.createCustomToken(uid, { role: 'admin' }));
  // What the server is given: the Admin SDK's own token, unsigned, as for the emulator.
  assert.equal(header.alg, 'none');
  assert.equal(payload.uid, uid);
  assert.deepEqual(payload.claims, { role: 'admin' });
  assert.equal(
    payload.aud,
    'https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit',
  );
});

test('the first sign-in creates the user with the token\'s uid (isNewUser); later ones sign it in', async () => {
  const uid = `custom-${hex()}`;
  const token = await tessera.admin.createCustomToken(uid, { role: 'admin', tier: 2 });
  await assert.rejects(tessera.admin.getUser(uid), { code: 'auth/user-not-found' });

  const first = await signIn(token);
  assert.equal(first.user.uid, uid);
  assert.equal(first.operationType, 'signIn');
  assert.equal(first._tokenResponse.isNewUser, true);
  assert.equal(getAdditionalUserInfo(first).isNewUser, true);
  // The JS SDK names no provider for a custom-token sign-in.
  assert.equal(getAdditionalUserInfo(first).providerId, null);
  assert.equal(first.user.isAnonymous, false);
  assert.equal(first.user.tenantId, null);
  assert.equal(first.user.email, null);
  assert.deepEqual(first.user.providerData, []);
  assert.ok(first.user.refreshToken);

  const result = await getIdTokenResult(first.user);
  assert.equal(result.signInProvider, 'custom');
  assert.equal(result.signInSecondFactor, null);
  assert.equal(result.claims.firebase.sign_in_provider, 'custom');
  assert.equal(result.claims.user_id, uid);
  assert.equal(result.claims.sub, uid);
  assert.equal(result.claims.aud, PROJECT);
  assert.equal(result.claims.iss, `https://securetoken.google.com/${PROJECT}`);
  // The developer claims, at the top level.
  assert.equal(result.claims.role, 'admin');
  assert.equal(result.claims.tier, 2);
  assert.equal(result.claims.claims, undefined);

  // The user exists now, under that uid, without custom claims of its own.
  const record = await tessera.admin.getUser(uid);
  assert.equal(record.uid, uid);
  assert.equal(record.disabled, false);
  assert.equal(record.customClaims, undefined);
  assert.deepEqual(record.providerData, []);
  assert.ok(record.metadata.lastSignInTime, 'the first sign-in is recorded');

  // The same token again (and a new one for the uid) signs the existing user in.
  for (const again of [token, await tessera.admin.createCustomToken(uid)]) {
    const credential = await signIn(again);
    assert.equal(credential.user.uid, uid);
    assert.equal(credential._tokenResponse.isNewUser, false);
    assert.equal(getAdditionalUserInfo(credential).isNewUser, false);
    assert.equal((await getIdTokenResult(credential.user)).signInProvider, 'custom');
  }
  // The second token named no claims: its session has none of the first's.
  const plain = await signIn(await tessera.admin.createCustomToken(uid));
  const plainClaims = (await getIdTokenResult(plain.user)).claims;
  assert.equal(plainClaims.role, undefined);
  assert.equal(plainClaims.tier, undefined);
});

test('the developer claims stay in the ID token after a forced refresh', async () => {
  const uid = `refresh-${hex()}`;
  const claims = { role: 'admin', groups: ['ops', 'billing'], quota: { daily: 10 } };
  const { user } = await signIn(await tessera.admin.createCustomToken(uid, claims));
  const before = await getIdTokenResult(user);
  assert.deepEqual({ role: before.claims.role, groups: before.claims.groups, quota: before.claims.quota }, claims);

  // getIdToken(true) goes to securetoken's token endpoint with the refresh token. A second
  // later, so that the new token's iat tells it from the old one.
  await sleep(1100);
  const refreshedToken = await user.getIdToken(true);
  const { payload } = decodeJwt(refreshedToken);
  assert.ok(payload.iat > decodeJwt(before.token).payload.iat, 'a new token was issued');
  assert.deepEqual({ role: payload.role, groups: payload.groups, quota: payload.quota }, claims);
  assert.equal(payload.firebase.sign_in_provider, 'custom');
  assert.equal(payload.user_id, uid);

  const refreshed = await getIdTokenResult(user, true);
  assert.deepEqual({ role: refreshed.claims.role, groups: refreshed.claims.groups, quota: refreshed.claims.quota }, claims);
  assert.equal(refreshed.signInProvider, 'custom');
  // The session's auth_time is the sign-in's, not the refresh's.
  assert.equal(refreshed.authTime, before.authTime);
});

test('custom claims set with setCustomUserClaims win over the token\'s claims of the same name', async () => {
  const uid = `claims-${hex()}`;
  const token = await tessera.admin.createCustomToken(uid, { role: 'admin', tier: 1 });
  const { user: first } = await signIn(token);
  assert.equal((await getIdTokenResult(first)).claims.role, 'admin');

  await tessera.admin.setCustomUserClaims(uid, { role: 'reader', team: 'blue' });
  const { user } = await signIn(token);
  const { claims } = await getIdTokenResult(user);
  assert.equal(claims.role, 'reader', 'the user\'s own claim wins');
  assert.equal(claims.team, 'blue');
  assert.equal(claims.tier, 1, 'the token\'s other claims stay');
  // And so after a forced refresh.
  const refreshed = (await getIdTokenResult(user, true)).claims;
  assert.deepEqual([refreshed.role, refreshed.team, refreshed.tier], ['reader', 'blue', 1]);

  // The first session, refreshed after the change, sees the user's claims too.
  const earlier = (await getIdTokenResult(first, true)).claims;
  assert.deepEqual([earlier.role, earlier.team, earlier.tier], ['reader', 'blue', 1]);
});

test('a disabled user cannot sign in with a custom token: auth/user-disabled; re-enabled, it can', async () => {
  const uid = `disabled-${hex()}`;
  const token = await tessera.admin.createCustomToken(uid);
  assert.equal((await signIn(token)).user.uid, uid);

  await tessera.admin.updateUser(uid, { disabled: true });
  await assert.rejects(signIn(token), { code: 'auth/user-disabled' });
  await assert.rejects(signIn(await tessera.admin.createCustomToken(uid)), { code: 'auth/user-disabled' });

  await tessera.admin.updateUser(uid, { disabled: false });
  const credential = await signIn(token);
  assert.equal(credential.user.uid, uid);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, false);
});

test('a user created by firebase-admin signs in with a custom token for its uid (not new)', async () => {
  const uid = `existing-${hex()}`;
  const email = uniqueEmail('existing');
  await tessera.admin.createUser({ uid, email, password: PASSWORD, displayName: 'Existing User' });

  const credential = await signIn(await tessera.admin.createCustomToken(uid, { role: 'staff' }));
  assert.equal(credential.user.uid, uid);
  assert.equal(credential._tokenResponse.isNewUser, false);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, false);
  // The profile is the existing user's.
  assert.equal(credential.user.email, email);
  assert.equal(credential.user.displayName, 'Existing User');
  const { claims, signInProvider } = await getIdTokenResult(credential.user);
  assert.equal(signInProvider, 'custom');
  assert.equal(claims.role, 'staff');
  assert.equal(claims.email, email);

  // Still one user, whose password sign-in works as before.
  assert.equal((await tessera.admin.getUserByEmail(email)).uid, uid);
  assert.equal((await tessera.signIn(email)).user.uid, uid);
});

test('a tenant\'s custom token signs in, through the tenant, a user that lives in the tenant', async () => {
  const tenant = await tessera.admin.tenantManager().createTenant({ displayName: 'Custom-Tenant' });
  const tenantAdmin = tessera.admin.tenantManager().authForTenant(tenant.tenantId);
  const uid = `tenant-${hex()}`;
  const token = await tenantAdmin.createCustomToken(uid, { role: 'member' });
  assert.equal(decodeJwt(token).payload.tenant_id, tenant.tenantId);

  const credential = await signIn(token, tenant.tenantId);
  assert.equal(credential.user.uid, uid);
  assert.equal(credential.user.tenantId, tenant.tenantId);
  assert.equal(getAdditionalUserInfo(credential).isNewUser, true);
  const { claims, signInProvider } = await getIdTokenResult(credential.user);
  assert.equal(signInProvider, 'custom');
  assert.equal(claims.firebase.tenant, tenant.tenantId);
  assert.equal(claims.role, 'member');

  // The user lives in the tenant, not in the project.
  const record = await tenantAdmin.getUser(uid);
  assert.equal(record.uid, uid);
  assert.equal(record.tenantId, tenant.tenantId);
  await assert.rejects(tessera.admin.getUser(uid), { code: 'auth/user-not-found' });

  // A second sign-in through the tenant finds the same user.
  const again = await signIn(token, tenant.tenantId);
  assert.equal(again.user.uid, uid);
  assert.equal(getAdditionalUserInfo(again).isNewUser, false);

  // The tenant's token without the tenant, and the project's token through the tenant, fail.
  await assert.rejects(signIn(token), { code: 'auth/tenant-id-mismatch' });
  await assert.rejects(signIn(await tessera.admin.createCustomToken(uid), tenant.tenantId), {
    code: 'auth/tenant-id-mismatch',
  });
  // The server itself refuses both, not only the JS SDK.
  for (const body of [{ token }, { token: await tessera.admin.createCustomToken(uid), tenantId: tenant.tenantId }]) {
    const reply = await postSignIn(body);
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    assert.equal(reply.body.error.message, 'TENANT_ID_MISMATCH');
  }
  // Neither refusal created a user in the project.
  await assert.rejects(tessera.admin.getUser(uid), { code: 'auth/user-not-found' });
});

test('a custom-token session cannot enrol a second factor: auth/unsupported-first-factor', async () => {
  // A user with a verified email and a password, so that only the first factor stands in the way.
  const uid = `mfa-${hex()}`;
  const email = uniqueEmail('custom-mfa');
  await tessera.admin.createUser({ uid, email, password: PASSWORD, emailVerified: true });

  const { user } = await signIn(await tessera.admin.createCustomToken(uid));
  assert.equal(user.emailVerified, true);
  assert.equal((await getIdTokenResult(user)).signInProvider, 'custom');
  const session = await multiFactor(user).getSession();
  await assert.rejects(TotpMultiFactorGenerator.generateSecret(session), { code: 'auth/unsupported-first-factor' });

  // The same user signed in with its password can: TOTP is allowed in this project.
  const { user: byPassword } = await tessera.signIn(email);
  const secret = await TotpMultiFactorGenerator.generateSecret(await multiFactor(byPassword).getSession());
  assert.match(secret.secretKey, /^[A-Z2-7]+$/);
  assert.equal((await tessera.admin.getUser(uid)).multiFactor, undefined);
});
