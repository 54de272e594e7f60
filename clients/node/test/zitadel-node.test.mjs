// ZITADEL's older official Node client, @zitadel/node (nice-grpc over gRPC without TLS),
// unmodified: its user and session clients speak the v2beta services, its management client
// v1. The caller is dev mode's administrator with the PAT the server writes to
// <data-dir>/admin.pat, through the client's own access-token interceptor. TOTP codes come from
// an independent implementation (otpauth).

import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';

import {
  createAccessTokenInterceptor,
  createManagementClient,
  createSessionClient,
  createUserClient,
} from '@zitadel/node/dist/api/index.js';
import { Status } from 'nice-grpc';
import { Secret, TOTP } from 'otpauth';

import { hex, PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

// A code of the 30 s step `steps` away from now (the server takes one step either side, and
// each step once).
const totpCode = (secret, steps = 0) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: Date.now() + steps * 30_000,
  });

describe('an authenticator app and a session through @zitadel/node (v2beta over gRPC)', () => {
  let users;
  let sessions;
  let management;
  const email = uniqueEmail('zitadel-node');
  let userId;
  let secret;

  before(() => {
    const auth = createAccessTokenInterceptor(tessera.adminPat);
    users = createUserClient(tessera.baseUrl, auth);
    sessions = createSessionClient(tessera.baseUrl, auth);
    management = createManagementClient(tessera.baseUrl, auth);
  });

  test('AddHumanUser creates a user with a verified address and a password', async () => {
    const added = await users.addHumanUser({
      profile: { givenName: 'Node', familyName: 'Client' },
      email: { email, isVerified: true },
      password: { password: PASSWORD, changeRequired: false },
    });
    userId = added.userId;
    assert.match(userId, /^\d+$/);
    const { user } = await users.getUserByID({ userId });
    assert.equal(user.human.email.email, email);
    assert.equal(user.human.email.isVerified, true);
  });

  test('RegisterTOTP and VerifyTOTPRegistration make a ready TOTP factor', async () => {
    const registered = await users.registerTOTP({ userId });
    secret = registered.secret;
    assert.match(registered.uri, /^otpauth:\/\/totp\//);
    await users.verifyTOTPRegistration({ userId, code: totpCode(secret) });
    const listed = await management.listHumanAuthFactors({ userId });
    assert.equal(listed.result.length, 1);
    assert.ok(listed.result[0].otp, JSON.stringify(listed.result[0]));
    const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId });
    assert.ok(authMethodTypes.length >= 2, JSON.stringify(authMethodTypes));
  });

  test('a session is checked with the password and the TOTP code', async () => {
    const created = await sessions.createSession({
      checks: { user: { loginName: email }, password: { password: PASSWORD } },
    });
    assert.ok(created.sessionToken);
    await sessions.setSession({
      sessionId: created.sessionId,
      // The current step's code verified the registration; a step is used once, and none
      // before the last one used: the session takes the next step's.
      checks: { totp: { code: totpCode(secret, 1) } },
    });
    const { session } = await sessions.getSession({ sessionId: created.sessionId });
    assert.ok(session.factors.password.verifiedAt);
    assert.ok(session.factors.totp.verifiedAt);
  });

  test("ZITADEL's errors arrive as gRPC statuses", async () => {
    await assert.rejects(users.registerTOTP({ userId }), (error) => {
      assert.equal(error.code, Status.ALREADY_EXISTS);
      assert.equal(error.details, 'Multifactor OTP (OneTimePassword) is already set up (COMMAND-do9se)');
      return true;
    });
    await assert.rejects(users.getUserByID({ userId: '404' }), (error) => {
      assert.equal(error.code, Status.NOT_FOUND);
      assert.equal(error.details, 'User could not be found (COMMAND-SqyJz)');
      return true;
    });
  });
});

/** A passlib PBKDF2-SHA256 string ("$pbkdf2-sha256$<rounds>$<salt>$<key>", adapted base64) made with node:crypto. */
function passlibPbkdf2Sha256(password, rounds = 2000) {
  const salt = randomBytes(16);
  const key = pbkdf2Sync(password, salt, rounds, 32, 'sha256');
  const ab64 = (bytes) => bytes.toString('base64').replace(/=+$/, '').replaceAll('+', '.');
  return `$pbkdf2-sha256$${rounds}$${ab64(salt)}$${ab64(key)}`;
}

describe('a hashed password through @zitadel/node (v2beta over gRPC)', () => {
  let users;
  let sessions;

  before(() => {
    const auth = createAccessTokenInterceptor(tessera.adminPat);
    users = createUserClient(tessera.baseUrl, auth);
    sessions = createSessionClient(tessera.baseUrl, auth);
  });

  const addHuman = (email, hash) =>
    users.addHumanUser({
      profile: { givenName: 'Node', familyName: 'Client' },
      email: { email, isVerified: true },
      hashedPassword: { hash, changeRequired: false },
    });

  test('AddHumanUser with a passlib PBKDF2-SHA256 hashedPassword: a session refuses a wrong password and checks the right one', async () => {
    const email = uniqueEmail('zitadel-node-hashed');
    const password = `hashed ${hex(4)}`;
    const { userId } = await addHuman(email, passlibPbkdf2Sha256(password));
    assert.match(userId, /^\d+$/);
    const check = (pw) => sessions.createSession({ checks: { user: { loginName: email }, password: { password: pw } } });
    await assert.rejects(check(`${password}!`), (error) => {
      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.equal(error.details, 'Password is invalid (COMMAND-3M0fs)');
      return true;
    });
    const created = await check(password);
    const { session } = await sessions.getSession({ sessionId: created.sessionId });
    assert.equal(session.factors.user.id, userId);
    assert.ok(session.factors.password.verifiedAt);
  });

  test('AddHumanUser with an unreadable hashedPassword is INVALID_ARGUMENT with ZITADEL\'s message', async () => {
    await assert.rejects(addHuman(uniqueEmail('zitadel-node-unreadable'), '$1$abc$def'), (error) => {
      assert.equal(error.code, Status.INVALID_ARGUMENT);
      assert.equal(
        error.details,
        'Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets (USER-JDk4t)',
      );
      return true;
    });
  });
});
