// firebase-admin (Node) against Tessera through FIREBASE_AUTH_EMULATOR_HOST.

import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
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

// Password hashes made by another system, computed here with Node's crypto (never with the
// server's code), in the forms README.md's "Importing password hashes" describes.

/** Firebase's modified scrypt: the signer key, AES-256-CTR encrypted (zero IV) under scrypt's key. */
function firebaseScrypt(password, salt, { key, saltSeparator, rounds, memoryCost }) {
  const N = 2 ** memoryCost;
  const derived = scryptSync(password, Buffer.concat([salt, saltSeparator]), 64, {
    N,
    r: rounds,
    p: 1,
    maxmem: 256 * N * rounds,
  });
  const cipher = createCipheriv('aes-256-ctr', derived.subarray(0, 32), Buffer.alloc(16));
  return Buffer.concat([cipher.update(key), cipher.final()]);
}

/** SHA-n: H(salt‖password), then H of the digest until H ran `rounds` times. */
function digestRounds(algorithm, password, salt, rounds) {
  let digest = createHash(algorithm).update(salt).update(password).digest();
  for (let i = 1; i < rounds; i++) digest = createHash(algorithm).update(digest).digest();
  return digest;
}

/** One user per algorithm: the `importUsers` hash option and its user's hash of `password`. */
const HASHED_IMPORTS = [
  {
    name: 'HMAC_SHA256',
    hash: { algorithm: 'HMAC_SHA256', key: randomBytes(32) },
    make: (password, salt, { key }) => createHmac('sha256', key).update(password).update(salt).digest(),
  },
  {
    name: 'SCRYPT (Firebase\'s)',
    hash: { algorithm: 'SCRYPT', key: randomBytes(64), saltSeparator: randomBytes(1), rounds: 8, memoryCost: 14 },
    make: firebaseScrypt,
  },
  {
    name: 'STANDARD_SCRYPT',
    hash: { algorithm: 'STANDARD_SCRYPT', memoryCost: 1024, blockSize: 8, parallelization: 2, derivedKeyLength: 64 },
    make: (password, salt, { memoryCost, blockSize, parallelization, derivedKeyLength }) =>
      scryptSync(password, salt, derivedKeyLength, { N: memoryCost, r: blockSize, p: parallelization }),
  },
  {
    name: 'PBKDF2_SHA256',
    hash: { algorithm: 'PBKDF2_SHA256', rounds: 2000 },
    make: (password, salt, { rounds }) => pbkdf2Sync(password, salt, rounds, 32, 'sha256'),
  },
  {
    name: 'SHA256',
    hash: { algorithm: 'SHA256', rounds: 5 },
    make: (password, salt, { rounds }) => digestRounds('sha256', password, salt, rounds),
  },
];

/**
 * Signs in as an imported user with the JS SDK: a wrong password is refused (checked against
 * the imported hash), the right one signs in (and has the server rehash it), and then signs in
 * again, against the server's own hash, which refuses the wrong one too.
 */
async function signInAsImported(uid, email, password) {
  await assert.rejects(signIn(email, `${password}!`), { code: 'auth/wrong-password' });
  for (const time of ['first', 'after the rehash']) {
    const user = await signIn(email, password);
    assert.deepEqual({ uid: user.uid, email: user.email }, { uid, email }, time);
  }
  await assert.rejects(signIn(email, `${password}!`), { code: 'auth/wrong-password' });
}

for (const { name, hash, make } of HASHED_IMPORTS) {
  test(`importUsers with ${name} hashes: the user signs in with the password, again after the rehash`, async () => {
    const password = `pw ${name} ${hex()}`;
    const salt = randomBytes(16);
    const user = { uid: `hashed-${hex()}`, email: uniqueEmail('hashed'), passwordHash: make(password, salt, hash), passwordSalt: salt };
    const result = await tessera.admin.importUsers([user], { hash });
    assert.deepEqual(
      { successCount: result.successCount, failureCount: result.failureCount, errors: result.errors },
      { successCount: 1, failureCount: 0, errors: [] },
    );
    const imported = await tessera.admin.getUser(user.uid);
    assert.equal(imported.email, user.email);
    assert.deepEqual(imported.providerData.map((info) => info.providerId), ['password']);

    await signInAsImported(user.uid, user.email, password);
  });
}

test('importUsers with Firebase\'s published scrypt sample imports it beside a user without a hash', async () => {
  const hash = {
    algorithm: 'SCRYPT',
    key: Buffer.from('jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==', 'base64'),
    saltSeparator: Buffer.from('Bw==', 'base64'),
    rounds: 8,
    memoryCost: 14,
  };
  const salt = Buffer.from('42xEC+ixf3L2lw==', 'base64');
  const passwordHash = Buffer.from(
    'lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==',
    'base64',
  );
  // The sample also checks this file's scrypt, which the SCRYPT test above relies on.
  assert.deepEqual(firebaseScrypt('user1password', salt, hash), passwordHash);

  const hashed = { uid: `sample-${hex()}`, email: uniqueEmail('sample'), passwordHash, passwordSalt: salt };
  const plain = { uid: `plain-${hex()}`, email: uniqueEmail('plain') };
  const result = await tessera.admin.importUsers([hashed, plain], { hash });
  assert.deepEqual(
    { successCount: result.successCount, failureCount: result.failureCount, errors: result.errors },
    { successCount: 2, failureCount: 0, errors: [] },
  );
  const imported = await tessera.admin.getUser(plain.uid);
  assert.equal(imported.email, plain.email);
  assert.deepEqual(imported.providerData.map((info) => info.providerId), []);

  await signInAsImported(hashed.uid, hashed.email, 'user1password');
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
