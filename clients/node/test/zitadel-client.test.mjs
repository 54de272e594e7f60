// ZITADEL's auth-factor API (user service v2, management v1) through the unmodified official
// Node client, @zitadel/client, on the transports it offers: gRPC over HTTP/2 without TLS (its
// own createServerTransport) and Connect over HTTP/1.1 (connect-node's createConnectTransport
// with the client's bearer interceptor), as JSON and as binary protobuf.
//
// The caller is dev mode's administrator (an IAM_OWNER machine user) with the PAT the server
// writes to <data-dir>/admin.pat. Users come from Identity Toolkit's accounts:signUp; their
// ZITADEL user id is the localId. TOTP codes come from an independent implementation
// (otpauth) with the parameters of the returned otpauth:// URI: SHA1, 6 digits, 30 s.
//
// The self-service AuthService needs the user's own token and is not exercised here.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { Code, ConnectError } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { NewAuthorizationBearerInterceptor } from '@zitadel/client';
import { createServerTransport } from '@zitadel/client/node';
import { createManagementServiceClient } from '@zitadel/client/v1';
import { createUserServiceClient } from '@zitadel/client/v2';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import { AuthFactorState as AuthFactorStateV1 } from '@zitadel/proto/zitadel/user_pb.js';
import { AuthFactorState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { Secret, TOTP, URI } from 'otpauth';

import { PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const ALREADY_SET_UP = 'Multifactor OTP (OneTimePassword) is already set up';
const INVALID_CODE = 'Invalid code';

const totpCode = (secret) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
// A six-digit code that differs from the right one.
const wrongCode = (code) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');

// The transports, built once the server is up; each takes a token.
const TRANSPORTS = {
  'gRPC (h2c)': (token) => createServerTransport(token, { baseUrl: tessera.baseUrl, httpVersion: '2' }),
  'Connect JSON (HTTP/1.1)': (token) =>
    createConnectTransport({
      baseUrl: tessera.baseUrl,
      httpVersion: '1.1',
      interceptors: [NewAuthorizationBearerInterceptor(token)],
    }),
  'Connect binary (HTTP/1.1)': (token) =>
    createConnectTransport({
      baseUrl: tessera.baseUrl,
      httpVersion: '1.1',
      useBinaryFormat: true,
      interceptors: [NewAuthorizationBearerInterceptor(token)],
    }),
};

/** A fresh Identity Toolkit user: its email and ZITADEL user id (the localId). */
async function signUp() {
  const email = uniqueEmail('zitadel');
  const { localId } = await tessera.rest('/identitytoolkit.googleapis.com/v1/accounts:signUp?key=dev-api-key', {
    method: 'POST',
    body: { email, password: PASSWORD, returnSecureToken: true },
  });
  assert.ok(localId);
  return { email, userId: localId };
}

/** Asserts that `promise` rejects with ZITADEL's error: the code, "<message> (<id>)" and its ErrorDetail. */
async function assertZitadelError(promise, code, message, id) {
  const error = await promise.then(
    (response) => assert.fail(`expected ${Code[code]}, got a ${response.$typeName}`),
    (e) => e,
  );
  assert.ok(error instanceof ConnectError, String(error));
  assert.equal(error.code, code, `${Code[error.code]}: ${error.rawMessage}`);
  assert.equal(error.rawMessage, `${message} (${id})`);
  const details = error.findDetails(ErrorDetailSchema);
  assert.deepEqual(
    details.map((detail) => ({ id: detail.id, message: detail.message })),
    [{ id, message }],
  );
  return error;
}

/** The v2 factors in the given states (READY only when none are given), as { state, type }. */
async function listV2(users, userId, states) {
  const { result } = await users.listAuthenticationFactors(states ? { userId, states } : { userId });
  return result.map((factor) => ({ state: factor.state, type: factor.type.case }));
}

/** The management v1 factors, as { state, type }. */
async function listV1(management, userId) {
  const { result } = await management.listHumanAuthFactors({ userId });
  return result.map((factor) => ({ state: factor.state, type: factor.type.case }));
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`an authenticator app through @zitadel/client over ${name}`, () => {
    let users;
    let management;
    let user; // { email, userId }
    let secret;
    let org; // the organization RegisterTOTP reports as the resource owner
    let verified = false;

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
      user = await signUp();
    });

    test('RegisterTOTP returns a base32 secret and the otpauth:// URI for it', async () => {
      const registered = await users.registerTOTP({ userId: user.userId });
      secret = registered.secret;
      org = registered.details?.resourceOwner;
      assert.match(secret, /^[A-Z2-7]{16,}$/);
      assert.ok(org, 'details.resourceOwner');

      const totp = URI.parse(registered.uri);
      assert.ok(totp instanceof TOTP, registered.uri);
      assert.equal(totp.secret.base32, secret);
      assert.equal(totp.issuer, 'Tessera');
      assert.equal(totp.label, user.email);
      assert.equal(totp.algorithm, 'SHA1');
      assert.equal(totp.digits, 6);
      assert.equal(totp.period, 30);

      // Pending until verified: listed as NOT_READY only when asked for.
      assert.deepEqual(await listV2(users, user.userId), []);
      assert.deepEqual(await listV2(users, user.userId, [AuthFactorState.NOT_READY]), [
        { state: AuthFactorState.NOT_READY, type: 'otp' },
      ]);
    });

    test('a wrong code: InvalidArgument "Invalid code (EVENT-8isk2)", and the factor stays pending', async () => {
      assert.ok(secret, 'RegisterTOTP failed above');
      await assertZitadelError(
        users.verifyTOTPRegistration({ userId: user.userId, code: wrongCode(totpCode(secret)) }),
        Code.InvalidArgument,
        INVALID_CODE,
        'EVENT-8isk2',
      );
      assert.deepEqual(await listV2(users, user.userId), []);
      assert.deepEqual(await listV2(users, user.userId, [AuthFactorState.NOT_READY]), [
        { state: AuthFactorState.NOT_READY, type: 'otp' },
      ]);
    });

    test('VerifyTOTPRegistration with the current code: one READY otp factor in v2 and management v1', async () => {
      assert.ok(secret, 'RegisterTOTP failed above');
      const response = await users.verifyTOTPRegistration({ userId: user.userId, code: totpCode(secret) });
      assert.equal(response.details?.resourceOwner, org);
      verified = true;

      assert.deepEqual(await listV2(users, user.userId), [{ state: AuthFactorState.READY, type: 'otp' }]);
      assert.deepEqual(
        await listV2(users, user.userId, [AuthFactorState.READY, AuthFactorState.NOT_READY]),
        [{ state: AuthFactorState.READY, type: 'otp' }],
      );
      assert.deepEqual(await listV1(management, user.userId), [{ state: AuthFactorStateV1.READY, type: 'otp' }]);
    });

    test('RegisterTOTP again: AlreadyExists "… is already set up (COMMAND-do9se)" with its ErrorDetail', async () => {
      assert.ok(verified, 'verification failed above');
      await assertZitadelError(
        users.registerTOTP({ userId: user.userId }),
        Code.AlreadyExists,
        ALREADY_SET_UP,
        'COMMAND-do9se',
      );
      assert.deepEqual(await listV2(users, user.userId), [{ state: AuthFactorState.READY, type: 'otp' }]);
    });

    test('the x-zitadel-orgid header selects the organization the user belongs to', async () => {
      assert.ok(verified, 'verification failed above');
      const { result } = await users.listAuthenticationFactors(
        { userId: user.userId },
        { headers: { 'x-zitadel-orgid': org } },
      );
      assert.deepEqual(
        result.map((factor) => factor.type.case),
        ['otp'],
      );
    });

    test('RemoveTOTP: the factor is gone from v2 and management v1', async () => {
      assert.ok(verified, 'verification failed above');
      const response = await users.removeTOTP({ userId: user.userId });
      assert.equal(response.details?.resourceOwner, org);
      assert.deepEqual(await listV2(users, user.userId), []);
      assert.deepEqual(
        await listV2(users, user.userId, [AuthFactorState.READY, AuthFactorState.NOT_READY]),
        [],
      );
      assert.deepEqual(await listV1(management, user.userId), []);
    });

    test('a token the server did not issue: Unauthenticated "Errors.Token.Invalid (AUTH-7fs1e)"', async () => {
      const stranger = createUserServiceClient(transport(`not-a-pat-${user.userId}`));
      await assertZitadelError(
        stranger.listAuthenticationFactors({ userId: user.userId }),
        Code.Unauthenticated,
        'Errors.Token.Invalid',
        'AUTH-7fs1e',
      );
    });
  });
}
