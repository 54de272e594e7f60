// firebase-admin (Node) against Tessera through FIREBASE_AUTH_EMULATOR_HOST.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { getIdTokenResult, reload } from 'firebase/auth';

import { hex, PASSWORD, sleep, uniqueEmail, uniquePhone, useTessera } from './server.mjs';

const tessera = useTessera();

// Tokens and sessions are checked from the user's side, through the JS SDK: firebase-admin's
// verifyIdToken in emulator mode takes unsigned tokens only, which this suite's server does not
// issue (emulator-tokens.test.mjs runs it with `unsigned_id_tokens`).
const signIn = async (email, password) => (await tessera.signIn(email, password)).user;

// UserInfo.toJSON() keeps undefined properties; compare what would go over the wire.
const plain = (value) => JSON.parse(JSON.stringify(value));

test('createUser stores every field; getUser, getUserByEmail and getUserByPhoneNumber find it', async () => {
  const properties = {
    uid: `ada-${hex()}`,
    email: uniqueEmail('ada'),
    password: PASSWORD,
    displayName: 'Ada Lovelace',
    phoneNumber: uniquePhone(),
    photoURL: 'https://example.com/ada.png',
    emailVerified: true,
  };
  const created = await tessera.admin.createUser(properties);
  const { password, ...visible } = properties;
  assert.deepEqual(
    {
      uid: created.uid,
      email: created.email,
      displayName: created.displayName,
      phoneNumber: created.phoneNumber,
      photoURL: created.photoURL,
      emailVerified: created.emailVerified,
    },
    visible,
  );
  assert.equal(created.disabled, false);
  assert.equal(created.customClaims, undefined);
  assert.equal(created.metadata.lastSignInTime, null);
  assert.ok(Math.abs(Date.parse(created.metadata.creationTime) - Date.now()) < 60_000);
  assert.deepEqual(
    plain(created.providerData).sort((a, b) => a.providerId.localeCompare(b.providerId)),
    [
      {
        uid: visible.email,
        email: visible.email,
        displayName: visible.displayName,
        photoURL: visible.photoURL,
        providerId: 'password',
      },
      { uid: visible.phoneNumber, phoneNumber: visible.phoneNumber, providerId: 'phone' },
    ],
  );

  for (const found of [
    await tessera.admin.getUser(visible.uid),
    await tessera.admin.getUserByEmail(visible.email),
    await tessera.admin.getUserByPhoneNumber(visible.phoneNumber),
  ]) {
    assert.deepEqual(found.toJSON(), created.toJSON());
  }
  // The password was stored too: the user can sign in with it.
  assert.equal((await signIn(visible.email)).uid, visible.uid);
});

test('createUser rejects a duplicate email, uid or phone number', async () => {
  const existing = await tessera.admin.createUser({ email: uniqueEmail(), phoneNumber: uniquePhone() });
  await assert.rejects(tessera.admin.createUser({ email: existing.email }), { code: 'auth/email-already-exists' });
  await assert.rejects(tessera.admin.createUser({ uid: existing.uid }), { code: 'auth/uid-already-exists' });
  await assert.rejects(tessera.admin.createUser({ phoneNumber: existing.phoneNumber }), {
    code: 'auth/phone-number-already-exists',
  });
});

test('updateUser: null deletes displayName, photoURL and phoneNumber; disabled blocks sign-in', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({
    email,
    password: PASSWORD,
    displayName: 'Old Name',
    photoURL: 'https://example.com/old.png',
    phoneNumber: uniquePhone(),
  });
  const updated = await tessera.admin.updateUser(uid, { displayName: null, photoURL: null, phoneNumber: null, disabled: true });
  assert.equal(updated.displayName, undefined);
  assert.equal(updated.photoURL, undefined);
  assert.equal(updated.phoneNumber, undefined);
  assert.equal(updated.disabled, true);
  assert.deepEqual(plain(updated.providerData), [{ uid: email, email, providerId: 'password' }]);
  assert.deepEqual((await tessera.admin.getUser(uid)).toJSON(), updated.toJSON());
  await assert.rejects(signIn(email), { code: 'auth/user-disabled' });

  const restored = await tessera.admin.updateUser(uid, { disabled: false, displayName: 'New Name', password: 'another secret' });
  assert.equal(restored.disabled, false);
  assert.equal(restored.displayName, 'New Name');
  assert.equal((await signIn(email, 'another secret')).uid, uid);
});

test('setCustomUserClaims stores claims on the record and in new ID tokens; null clears them', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const claims = { admin: true, groups: ['ops', 'billing'], quota: { daily: 10 } };
  await tessera.admin.setCustomUserClaims(uid, claims);
  assert.deepEqual((await tessera.admin.getUser(uid)).customClaims, claims);
  const token = await getIdTokenResult(await signIn(email));
  assert.deepEqual({ admin: token.claims.admin, groups: token.claims.groups, quota: token.claims.quota }, claims);

  await tessera.admin.setCustomUserClaims(uid, null);
  assert.equal((await tessera.admin.getUser(uid)).customClaims, undefined);
  assert.equal((await getIdTokenResult(await signIn(email))).claims.admin, undefined);
});

test('revokeRefreshTokens moves tokensValidAfterTime past the session: its ID token is refused', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const user = await signIn(email);
  const { issuedAtTime } = await getIdTokenResult(user);

  // validSince has one-second resolution: revoking in the token's own second would not revoke it.
  await sleep(1100);
  await tessera.admin.revokeRefreshTokens(uid);
  const { tokensValidAfterTime } = await tessera.admin.getUser(uid);
  assert.ok(Date.parse(tokensValidAfterTime) > Date.parse(issuedAtTime), `${tokensValidAfterTime} vs ${issuedAtTime}`);
  // reload() sends the cached, unexpired ID token to accounts:lookup: TOKEN_EXPIRED.
  await assert.rejects(reload(user), { code: 'auth/user-token-expired' });
  // A fresh sign-in is accepted again.
  assert.equal((await signIn(email)).uid, uid);
});

test('disabling a user ends its session: accounts:lookup with its ID token is USER_DISABLED', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const user = await signIn(email);
  await tessera.admin.updateUser(uid, { disabled: true });
  await assert.rejects(reload(user), { code: 'auth/user-disabled' });
});

test('listUsers pages through every user two at a time', async () => {
  const created = [];
  for (let i = 0; i < 5; i++) created.push((await tessera.admin.createUser({ email: uniqueEmail('page') })).uid);

  const pages = [];
  let pageToken;
  do {
    const page = await tessera.admin.listUsers(2, pageToken);
    pages.push(page.users.map((user) => user.uid));
    pageToken = page.pageToken;
  } while (pageToken);

  const listed = pages.flat();
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  // Only the last page may be short, and no page may be empty.
  assert.ok(pages.slice(0, -1).every((page) => page.length === 2), JSON.stringify(pages));
  assert.ok([1, 2].includes(pages.at(-1).length), JSON.stringify(pages));
  assert.equal(new Set(listed).size, listed.length, 'no user is listed twice');
  // Paging returns exactly what one unpaged listing does.
  const all = (await tessera.admin.listUsers()).users.map((user) => user.uid);
  assert.deepEqual([...listed].sort(), [...all].sort());
  for (const uid of created) assert.ok(listed.includes(uid), uid);
});

test('importUsers without password hashes creates the users as given', async () => {
  const imported = {
    uid: `imported-${hex()}`,
    email: uniqueEmail('imported'),
    displayName: 'Imported User',
    emailVerified: true,
    phoneNumber: uniquePhone(),
    customClaims: { plan: 'pro' },
    disabled: true,
    metadata: { creationTime: '2020-01-02T03:04:05Z', lastSignInTime: '2021-02-03T04:05:06Z' },
  };
  const second = { uid: `imported-${hex()}`, email: uniqueEmail('imported') };
  const existing = await tessera.admin.createUser({ email: uniqueEmail() });

  const result = await tessera.admin.importUsers([imported, second, { uid: existing.uid, email: uniqueEmail() }]);
  assert.equal(result.successCount, 2);
  assert.equal(result.failureCount, 1);
  assert.deepEqual(result.errors.map(({ index, error }) => [index, error.code]), [[2, 'auth/invalid-user-import']]);

  const user = await tessera.admin.getUser(imported.uid);
  assert.deepEqual(
    {
      uid: user.uid,
      email: user.email,
      displayName: user.displayName,
      emailVerified: user.emailVerified,
      phoneNumber: user.phoneNumber,
      customClaims: user.customClaims,
      disabled: user.disabled,
      metadata: { creationTime: user.metadata.creationTime, lastSignInTime: user.metadata.lastSignInTime },
    },
    {
      ...imported,
      metadata: { creationTime: 'Thu, 02 Jan 2020 03:04:05 GMT', lastSignInTime: 'Wed, 03 Feb 2021 04:05:06 GMT' },
    },
  );
  assert.equal((await tessera.admin.getUserByEmail(second.email)).uid, second.uid);
});

test('importUsers with a hash option imports the users without one and refuses the hashed ones alone', async () => {
  const hashed = { uid: `hashed-${hex()}`, email: uniqueEmail('hashed'), passwordHash: Buffer.from('hash'), passwordSalt: Buffer.from('salt') };
  const plain = { uid: `plain-${hex()}`, email: uniqueEmail('plain') };
  const result = await tessera.admin.importUsers([hashed, plain], {
    hash: { algorithm: 'HMAC_SHA256', key: Buffer.from('signer key') },
  });
  assert.equal(result.successCount, 1);
  assert.deepEqual(
    result.errors.map(({ index, error }) => [index, error.code, error.message]),
    [[0, 'auth/invalid-user-import', 'UNSUPPORTED_HASH : Import passwords as rawPassword.']],
  );
  assert.equal((await tessera.admin.getUser(plain.uid)).email, plain.email);
  await assert.rejects(tessera.admin.getUser(hashed.uid), { code: 'auth/user-not-found' });
});

test('getUsers resolves uid, email and phone identifiers together and reports the missing ones', async () => {
  const [byUid, byEmail, byPhone] = await Promise.all(
    [0, 1, 2].map(() => tessera.admin.createUser({ email: uniqueEmail(), phoneNumber: uniquePhone() })),
  );
  const missing = [{ uid: `missing-${hex()}` }, { email: uniqueEmail('missing') }, { phoneNumber: uniquePhone() }];
  const result = await tessera.admin.getUsers([
    { uid: byUid.uid },
    missing[0],
    { email: byEmail.email },
    missing[1],
    { phoneNumber: byPhone.phoneNumber },
    missing[2],
  ]);
  assert.deepEqual(result.users.map((user) => user.uid).sort(), [byUid.uid, byEmail.uid, byPhone.uid].sort());
  assert.deepEqual(result.notFound, missing);

  // When nothing matches, the server omits `users` and the SDK still reports every identifier.
  assert.deepEqual({ ...(await tessera.admin.getUsers(missing)) }, { users: [], notFound: missing });
});

test('deleteUsers deletes in bulk; unknown uids count as deleted', async () => {
  const users = await Promise.all([0, 1].map(() => tessera.admin.createUser({ email: uniqueEmail() })));
  const uids = [...users.map((user) => user.uid), `missing-${hex()}`];
  const result = await tessera.admin.deleteUsers(uids);
  assert.deepEqual({ ...result }, { successCount: 3, failureCount: 0, errors: [] });
  const { users: left, notFound } = await tessera.admin.getUsers(uids.map((uid) => ({ uid })));
  assert.deepEqual(left, []);
  assert.equal(notFound.length, 3);
});

test('deleteUser removes the user: getUser is auth/user-not-found and the email is free again', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  await tessera.admin.deleteUser(uid);
  await assert.rejects(tessera.admin.getUser(uid), { code: 'auth/user-not-found' });
  await assert.rejects(tessera.admin.getUserByEmail(email), { code: 'auth/user-not-found' });
  await assert.rejects(tessera.admin.deleteUser(uid), { code: 'auth/user-not-found' });
  assert.notEqual((await tessera.admin.createUser({ email })).uid, uid);
});

test('getUsers finds a user by provider identifier', async () => {
  const email = uniqueEmail();
  const { uid } = await tessera.admin.createUser({ email, password: PASSWORD });
  const result = await tessera.admin.getUsers([{ providerId: 'password', providerUid: email }]);
  assert.deepEqual(result.users.map((user) => user.uid), [uid]);
  assert.deepEqual(result.notFound, []);
});

test('tenantManager creates tenants of one name with ids of their own and lists them two at a time', async () => {
  const manager = tessera.admin.tenantManager();
  const created = [];
  for (let i = 0; i < 5; i++) created.push((await manager.createTenant({ displayName: 'Pages-Test' })).tenantId);
  assert.equal(new Set(created).size, created.length, JSON.stringify(created));

  const pages = [];
  let pageToken;
  do {
    const page = await manager.listTenants(2, pageToken);
    pages.push(page.tenants.map((tenant) => tenant.tenantId));
    pageToken = page.pageToken;
  } while (pageToken);

  const listed = pages.flat();
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.ok(pages.slice(0, -1).every((page) => page.length === 2), JSON.stringify(pages));
  assert.deepEqual(listed, [...listed].sort(), 'in the order of their ids');
  const all = (await manager.listTenants()).tenants.map((tenant) => tenant.tenantId);
  assert.deepEqual(listed, all);
  for (const id of created) assert.ok(listed.includes(id), id);
});
