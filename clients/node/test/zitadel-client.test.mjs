// ZITADEL's auth-factor API (user service v2, management v1) and its login sessions (session
// service v2) through the unmodified official Node client, @zitadel/client, on the transports it
// offers: gRPC over HTTP/2 without TLS (its own createServerTransport) and Connect over HTTP/1.1
// (connect-node's createConnectTransport with the client's bearer interceptor), as JSON and as
// binary protobuf.
//
// The caller is dev mode's administrator (an IAM_OWNER machine user) with the PAT the server
// writes to <data-dir>/admin.pat. Users come from Identity Toolkit's accounts:signUp (their
// ZITADEL user id is the localId) or from the user service's AddHumanUser. TOTP codes come from
// an independent implementation (otpauth) with the parameters of the returned otpauth:// URI:
// SHA1, 6 digits, 30 s.
//
// Hashed passwords (AddHumanUser's and UpdateHumanUser's hashedPassword, ImportHumanUser's
// hashedPassword.value) are passlib PBKDF2 strings made here with node:crypto.
//
// The self-service AuthService needs the user's own token and is not exercised here.

import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { Code, ConnectError } from '@connectrpc/connect';
import { createManagementServiceClient } from '@zitadel/client/v1';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { AuthFactorState as AuthFactorStateV1 } from '@zitadel/proto/zitadel/user_pb.js';
import { AuthFactorState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { Secret, TOTP, URI } from 'otpauth';

import { assertZitadelError, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, uniqueEmail, uniquePhone, useTessera } from './server.mjs';

const tessera = useTessera();

const ALREADY_SET_UP = 'Multifactor OTP (OneTimePassword) is already set up';
const NOT_READY = "Multifactor OTP (OneTimePassword) isn't ready";
const INVALID_CODE = 'Invalid code';
const CODE_INVALID = 'Code is invalid';

const totpCode = (secret) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
// A six-digit code that differs from the right one.
const wrongCode = (code) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
// A verification code (six characters A-Z0-9) with its first character changed.
const wrongVerificationCode = (code) => (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
// An eight-digit session code that differs from the right one.
const wrongSessionCode = (code) => String((Number(code) + 50_000_000) % 100_000_000).padStart(8, '0');

const TRANSPORTS = zitadelTransports(tessera);

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

/** The verifiedAt of each factor a session has, by name; absent factors are left out. */
function verifiedFactors(factors) {
  return Object.fromEntries(
    ['user', 'password', 'totp', 'otpSms', 'otpEmail']
      .filter((name) => factors?.[name])
      .map((name) => [name, factors[name].verifiedAt]),
  );
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`AddHumanUser and a login session through @zitadel/client over ${name}`, () => {
    let users;
    let sessions;
    let user; // { userId, email, secret, org, phoneCode }
    let phoneVerified = false;
    let session; // { sessionId, sessionToken, smsCode }
    let smsChecked = false;
    let totpChecked = false;

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      sessions = createSessionServiceClient(transport(tessera.adminPat));
    });

    /** SetSession on the session under test; keeps its newest token. */
    async function setSession(request) {
      const response = await sessions.setSession({
        sessionId: session.sessionId,
        sessionToken: session.sessionToken,
        ...request,
      });
      assert.ok(response.sessionToken);
      assert.notEqual(response.sessionToken, session.sessionToken);
      session.sessionToken = response.sessionToken;
      return response;
    }

    test('AddHumanUser with a verified email, a phone with a returned code, a password and a TOTP secret', async () => {
      const email = uniqueEmail('zitadel-human');
      const secret = new Secret({ size: 20 }).base32;
      const added = await users.addHumanUser({
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: { email, verification: { case: 'isVerified', value: true } },
        phone: { phone: uniquePhone(), verification: { case: 'returnCode', value: {} } },
        passwordType: { case: 'password', value: { password: PASSWORD } },
        totpSecret: secret,
      });
      assert.ok(added.userId);
      assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
      assert.equal(added.emailCode, undefined);
      assert.match(added.phoneCode ?? '', /^[A-Z0-9]{6}$/);
      user = { userId: added.userId, email, secret, org: added.details.resourceOwner, phoneCode: added.phoneCode };

      // The TOTP secret arrived ready.
      assert.deepEqual(await listV2(users, user.userId), [{ state: AuthFactorState.READY, type: 'otp' }]);
    });

    test('AddOTPSMS before the phone is verified: FailedPrecondition "… isn\'t ready (COMMAND-Q54j2)"', async () => {
      assert.ok(user, 'AddHumanUser failed above');
      await assertZitadelError(
        users.addOTPSMS({ userId: user.userId }),
        Code.FailedPrecondition,
        NOT_READY,
        'COMMAND-Q54j2',
      );
    });

    test('VerifyPhone: a wrong code is InvalidArgument "Code is invalid (COMMAND-eis9R)", the returned one verifies', async () => {
      assert.ok(user, 'AddHumanUser failed above');
      await assertZitadelError(
        users.verifyPhone({ userId: user.userId, verificationCode: wrongVerificationCode(user.phoneCode) }),
        Code.InvalidArgument,
        CODE_INVALID,
        'COMMAND-eis9R',
      );
      const verified = await users.verifyPhone({ userId: user.userId, verificationCode: user.phoneCode });
      assert.equal(verified.details?.resourceOwner, user.org);
      phoneVerified = true;
    });

    test('AddOTPSMS and AddOTPEmail: three READY factors and four authentication methods', async () => {
      assert.ok(phoneVerified, 'VerifyPhone failed above');
      assert.equal((await users.addOTPSMS({ userId: user.userId })).details?.resourceOwner, user.org);
      assert.equal((await users.addOTPEmail({ userId: user.userId })).details?.resourceOwner, user.org);

      const factors = await listV2(users, user.userId);
      assert.deepEqual(factors.map(({ type }) => type).sort(), ['otp', 'otpEmail', 'otpSms']);
      assert.ok(factors.every(({ state }) => state === AuthFactorState.READY));
      const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId: user.userId });
      assert.deepEqual(
        [...authMethodTypes].sort((a, b) => a - b),
        [
          AuthenticationMethodType.PASSWORD,
          AuthenticationMethodType.TOTP,
          AuthenticationMethodType.OTP_SMS,
          AuthenticationMethodType.OTP_EMAIL,
        ],
      );
    });

    test('CreateSession with a wrong password: InvalidArgument "Password is invalid (COMMAND-3M0fs)"', async () => {
      assert.ok(user, 'AddHumanUser failed above');
      await assertZitadelError(
        sessions.createSession({
          checks: { user: { search: { case: 'loginName', value: user.email } }, password: { password: `${PASSWORD}!` } },
        }),
        Code.InvalidArgument,
        'Password is invalid',
        'COMMAND-3M0fs',
      );
    });

    test('CreateSession with user and password checks and an OTP SMS challenge: its code returned', async () => {
      assert.ok(user, 'AddHumanUser failed above');
      const created = await sessions.createSession({
        checks: { user: { search: { case: 'userId', value: user.userId } }, password: { password: PASSWORD } },
        challenges: { otpSms: { returnCode: true } },
      });
      assert.ok(created.sessionId);
      assert.ok(created.sessionToken);
      assert.match(created.challenges?.otpSms ?? '', /^\d{8}$/);
      assert.equal(created.challenges?.otpEmail, undefined);
      session = { sessionId: created.sessionId, sessionToken: created.sessionToken, smsCode: created.challenges.otpSms };

      const { session: read } = await sessions.getSession({ sessionId: session.sessionId });
      assert.deepEqual(Object.keys(verifiedFactors(read?.factors)), ['user', 'password']);
      assert.equal(read.factors.user.id, user.userId);
      assert.equal(read.factors.user.loginName, user.email);
    });

    test('SetSession: a wrong OTP SMS code is InvalidArgument "Code is invalid (CODE-woT0xc)", the returned one checks', async () => {
      assert.ok(session, 'CreateSession failed above');
      await assertZitadelError(
        sessions.setSession({
          sessionId: session.sessionId,
          checks: { otpSms: { code: wrongSessionCode(session.smsCode) } },
        }),
        Code.InvalidArgument,
        CODE_INVALID,
        'CODE-woT0xc',
      );
      await setSession({ checks: { otpSms: { code: session.smsCode } } });
      smsChecked = true;
    });

    test('the OTP SMS code again: FailedPrecondition "Code not found (COMMAND-S34gh)" with its ErrorDetail', async () => {
      assert.ok(smsChecked, 'the OTP SMS check failed above');
      await assertZitadelError(
        sessions.setSession({ sessionId: session.sessionId, checks: { otpSms: { code: session.smsCode } } }),
        Code.FailedPrecondition,
        'Code not found',
        'COMMAND-S34gh',
      );
    });

    test('SetSession with a TOTP code: a wrong one is InvalidArgument "Invalid code (EVENT-8isk2)", the current one checks', async () => {
      assert.ok(session, 'CreateSession failed above');
      const code = totpCode(user.secret);
      await assertZitadelError(
        sessions.setSession({ sessionId: session.sessionId, checks: { totp: { code: wrongCode(code) } } }),
        Code.InvalidArgument,
        INVALID_CODE,
        'EVENT-8isk2',
      );
      await setSession({ checks: { totp: { code } } });
      totpChecked = true;
    });

    test('SetSession with an OTP Email challenge (returnCode), then its code', async () => {
      assert.ok(session, 'CreateSession failed above');
      const challenged = await setSession({
        challenges: { otpEmail: { deliveryType: { case: 'returnCode', value: {} } } },
      });
      const code = challenged.challenges?.otpEmail ?? '';
      assert.match(code, /^\d{8}$/);
      assert.equal(challenged.challenges?.otpSms, undefined);
      await setSession({ checks: { otpEmail: { code } } });
    });

    test('GetSession: the user, password, OTP SMS, TOTP and OTP Email factors verified', async () => {
      assert.ok(smsChecked && totpChecked, 'a check failed above');
      const { session: read } = await sessions.getSession({ sessionId: session.sessionId });
      assert.equal(read?.id, session.sessionId);
      const { user: checkedUser } = read.factors;
      assert.deepEqual(
        { id: checkedUser.id, loginName: checkedUser.loginName, displayName: checkedUser.displayName },
        { id: user.userId, loginName: user.email, displayName: 'Ada Lovelace' },
      );
      const verified = verifiedFactors(read.factors);
      assert.deepEqual(Object.keys(verified).sort(), ['otpEmail', 'otpSms', 'password', 'totp', 'user']);
      for (const [factor, at] of Object.entries(verified)) assert.ok(at && at.seconds > 0n, `${factor}.verifiedAt`);
      // Checked in this order (whole seconds: the checks may share one).
      const order = ['user', 'otpSms', 'totp', 'otpEmail'].map((factor) => verified[factor].seconds);
      assert.deepEqual(order, [...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });

    test("GetSession: factors.user.organizationId is the user's organization", async () => {
      assert.ok(session, 'CreateSession failed above');
      const { session: read } = await sessions.getSession({ sessionId: session.sessionId });
      assert.equal(read?.factors?.user?.organizationId, user.org);
    });

    test('DeleteSession: the session is gone', async () => {
      assert.ok(session, 'CreateSession failed above');
      await sessions.deleteSession({ sessionId: session.sessionId });
      const error = await sessions.getSession({ sessionId: session.sessionId }).then(
        (response) => assert.fail(`expected NotFound, got a ${response.$typeName}`),
        (e) => e,
      );
      assert.ok(error instanceof ConnectError, String(error));
      assert.equal(error.code, Code.NotFound, error.rawMessage);
    });
  });
}

/** Identity Toolkit's accounts:signInWithPassword, unasserted: the HTTP status and the JSON body. */
async function signInWithPassword(email, password) {
  const path = '/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=dev-api-key';
  const response = await fetch(new URL(path, tessera.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  return { status: response.status, body: await response.json() };
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`a password reset through @zitadel/client over ${name}`, () => {
    test('PasswordReset (returnCode), then SetPassword with its code: once, and only the new password signs in', async () => {
      const users = createUserServiceClient(transport(tessera.adminPat));
      const sessions = createSessionServiceClient(transport(tessera.adminPat));
      const email = uniqueEmail('zitadel-reset');
      const added = await users.addHumanUser({
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: { email, verification: { case: 'isVerified', value: true } },
        passwordType: { case: 'password', value: { password: PASSWORD } },
      });
      const { userId } = added;
      assert.ok(userId);
      const org = added.details?.resourceOwner;
      assert.ok(org, 'details.resourceOwner');
      const before = await signInWithPassword(email, PASSWORD);
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.equal(before.body.localId, userId);

      const reset = await users.passwordReset({ userId, medium: { case: 'returnCode', value: {} } });
      assert.equal(reset.details?.resourceOwner, org);
      const code = reset.verificationCode;
      assert.equal(typeof code, 'string');
      assert.ok(code.length > 0, 'verificationCode is empty');

      const newPassword = `${PASSWORD} reset ${hex(3)}`;
      const setPassword = (verificationCode) =>
        users.setPassword({
          userId,
          newPassword: { password: newPassword, changeRequired: false },
          verification: { case: 'verificationCode', value: verificationCode },
        });
      await assertZitadelError(
        setPassword(wrongVerificationCode(code)),
        Code.InvalidArgument,
        CODE_INVALID,
        'CODE-woT0xc',
      );
      // The wrong code changed nothing: the old password still signs in.
      assert.equal((await signInWithPassword(email, PASSWORD)).status, 200);

      const set = await setPassword(code);
      assert.equal(set.details?.resourceOwner, org);

      // The old password no longer signs in, through a session or Identity Toolkit.
      await assertZitadelError(
        sessions.createSession({
          checks: { user: { search: { case: 'userId', value: userId } }, password: { password: PASSWORD } },
        }),
        Code.InvalidArgument,
        'Password is invalid',
        'COMMAND-3M0fs',
      );
      const old = await signInWithPassword(email, PASSWORD);
      assert.equal(old.status, 400, JSON.stringify(old.body));
      assert.equal(old.body.error?.message, 'INVALID_PASSWORD');

      // The new one does.
      const created = await sessions.createSession({
        checks: { user: { search: { case: 'userId', value: userId } }, password: { password: newPassword } },
      });
      const { session } = await sessions.getSession({ sessionId: created.sessionId });
      assert.equal(session?.factors?.user?.id, userId);
      assert.ok(session.factors.password?.verifiedAt, 'password.verifiedAt');
      const signedIn = await signInWithPassword(email, newPassword);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.localId, userId);
      assert.ok(signedIn.body.idToken, 'idToken');

      // The code is spent.
      await assertZitadelError(setPassword(code), Code.FailedPrecondition, 'Code not found', 'COMMAND-2M9fs');
      assert.equal((await signInWithPassword(email, newPassword)).status, 200);
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`an organization and an imported user through @zitadel/client's management v1 over ${name}`, () => {
    test('AddOrg, then ImportHumanUser into it with a TOTP secret (otpCode): one READY otp factor that checks', async () => {
      const management = createManagementServiceClient(transport(tessera.adminPat));
      const sessions = createSessionServiceClient(transport(tessera.adminPat));
      const org = await management.addOrg({ name: `Org ${hex()}` });
      assert.ok(org.id);
      assert.equal(org.details?.resourceOwner, org.id);

      // Management v1 acts on the organization x-zitadel-orgid names.
      const headers = { 'x-zitadel-orgid': org.id };
      const email = uniqueEmail('zitadel-import');
      const secret = new Secret({ size: 20 }).base32;
      const imported = await management.importHumanUser(
        {
          userName: email,
          profile: { firstName: 'Ada', lastName: 'Lovelace' },
          email: { email, isEmailVerified: true },
          password: PASSWORD,
          otpCode: secret,
        },
        { headers },
      );
      assert.ok(imported.userId);
      assert.equal(imported.details?.resourceOwner, org.id);
      const { result } = await management.listHumanAuthFactors({ userId: imported.userId }, { headers });
      assert.deepEqual(
        result.map((factor) => ({ state: factor.state, type: factor.type.case })),
        [{ state: AuthFactorStateV1.READY, type: 'otp' }],
      );

      // The imported secret is the user's TOTP: a session checks a code computed from it.
      const created = await sessions.createSession(
        {
          checks: {
            user: { search: { case: 'userId', value: imported.userId } },
            password: { password: PASSWORD },
            totp: { code: totpCode(secret) },
          },
        },
        { headers },
      );
      const { session } = await sessions.getSession({ sessionId: created.sessionId }, { headers });
      assert.equal(session?.factors?.user?.id, imported.userId);
      assert.ok(session.factors.password?.verifiedAt, 'password.verifiedAt');
      assert.ok(session.factors.totp?.verifiedAt, 'totp.verifiedAt');
    });
  });
}

const HASH_NOT_SUPPORTED =
  'Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets';

// passlib's name for each PBKDF2 digest ("$pbkdf2$" is SHA-1) and its key length.
const PBKDF2 = { sha1: ['pbkdf2', 20], sha256: ['pbkdf2-sha256', 32], sha512: ['pbkdf2-sha512', 64] };

/**
 * A passlib PBKDF2 string of `password`, made with node:crypto: "$pbkdf2-sha256$<rounds>$<salt>$<key>",
 * the salt (16 random bytes) and the key in passlib's adapted base64 (standard base64 with "."
 * for "+", no padding).
 */
function passlibPbkdf2(password, digest = 'sha256', rounds = 2000) {
  const [name, length] = PBKDF2[digest];
  const salt = randomBytes(16);
  const key = pbkdf2Sync(password, salt, rounds, length, digest);
  const ab64 = (bytes) => bytes.toString('base64').replace(/=+$/, '').replaceAll('+', '.');
  return `$${name}$${rounds}$${ab64(salt)}$${ab64(key)}`;
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`hashed passwords through @zitadel/client over ${name}`, () => {
    let users;
    let sessions;
    let management;

    before(() => {
      users = createUserServiceClient(transport(tessera.adminPat));
      sessions = createSessionServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
    });

    /** CreateSession with a user and a password check. */
    const passwordSession = (userId, password, options) =>
      sessions.createSession(
        { checks: { user: { search: { case: 'userId', value: userId } }, password: { password } } },
        options,
      );

    /** A wrong password is "Password is invalid (COMMAND-3M0fs)"; the right one makes a session with the password checked. */
    async function assertPasswordChecks(userId, password, options) {
      await assertZitadelError(
        passwordSession(userId, `${password}!`, options),
        Code.InvalidArgument,
        'Password is invalid',
        'COMMAND-3M0fs',
      );
      const created = await passwordSession(userId, password, options);
      assert.ok(created.sessionToken);
      const { session } = await sessions.getSession({ sessionId: created.sessionId }, options);
      assert.equal(session?.factors?.user?.id, userId);
      assert.ok(session.factors.password?.verifiedAt, 'password.verifiedAt');
    }

    const addHuman = (email, passwordType) =>
      users.addHumanUser({
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: { email, verification: { case: 'isVerified', value: true } },
        passwordType,
      });

    test('AddHumanUser with a passlib PBKDF2-SHA256 hashedPassword: a session refuses a wrong password and checks the right one', async () => {
      const email = uniqueEmail('zitadel-hashed');
      const password = `hashed ${hex(4)}`;
      const hash = passlibPbkdf2(password);
      assert.match(hash, /^\$pbkdf2-sha256\$2000\$[A-Za-z0-9./]{22}\$[A-Za-z0-9./]{43}$/);
      const added = await addHuman(email, { case: 'hashedPassword', value: { hash, changeRequired: false } });
      assert.ok(added.userId);

      await assertPasswordChecks(added.userId, password);
      // Identity Toolkit reads the same password, after the first match replaced the hash.
      const signedIn = await signInWithPassword(email, password);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.localId, added.userId);
    });

    test('AddHumanUser with an unreadable hashedPassword: InvalidArgument "Password hash encoding not supported. … (USER-JDk4t)", no user', async () => {
      const email = uniqueEmail('zitadel-unreadable');
      await assertZitadelError(
        addHuman(email, { case: 'hashedPassword', value: { hash: '$1$abc$def' } }),
        Code.InvalidArgument,
        HASH_NOT_SUPPORTED,
        'USER-JDk4t',
      );
      // Nothing was added: the address is still free.
      const added = await addHuman(email, { case: 'password', value: { password: PASSWORD } });
      assert.ok(added.userId);
    });

    test('UpdateHumanUser with hashedPassword: unreadable is InvalidArgument (USER-oz74onzvqr), a PBKDF2-SHA512 one replaces the password', async () => {
      const email = uniqueEmail('zitadel-rehashed');
      const { userId } = await addHuman(email, { case: 'password', value: { password: PASSWORD } });
      assert.ok(userId);
      const update = (hash) =>
        users.updateHumanUser({
          userId,
          password: {
            passwordType: { case: 'hashedPassword', value: { hash } },
            verification: { case: 'currentPassword', value: PASSWORD },
          },
        });

      await assertZitadelError(update('$1$abc$def'), Code.InvalidArgument, HASH_NOT_SUPPORTED, 'USER-oz74onzvqr');
      await assertPasswordChecks(userId, PASSWORD);

      const password = `rehashed ${hex(4)}`;
      await update(passlibPbkdf2(password, 'sha512', 1500));
      await assertZitadelError(
        passwordSession(userId, PASSWORD),
        Code.InvalidArgument,
        'Password is invalid',
        'COMMAND-3M0fs',
      );
      await assertPasswordChecks(userId, password);
    });

    test("ImportHumanUser with hashedPassword.value (passlib PBKDF2-SHA1): the hash wins over password, an unreadable one is USER-JDk4t", async () => {
      const org = await management.addOrg({ name: `Org ${hex()}` });
      const headers = { 'x-zitadel-orgid': org.id };
      const importHuman = (email, hash) =>
        management.importHumanUser(
          {
            userName: email,
            profile: { firstName: 'Grace', lastName: 'Hopper' },
            email: { email, isEmailVerified: true },
            password: 'ignored password',
            hashedPassword: { value: hash },
          },
          { headers },
        );

      await assertZitadelError(
        importHuman(uniqueEmail('zitadel-import-unreadable'), '$1$abc$def'),
        Code.InvalidArgument,
        HASH_NOT_SUPPORTED,
        'USER-JDk4t',
      );

      const password = `imported ${hex(4)}`;
      const imported = await importHuman(uniqueEmail('zitadel-import-hashed'), passlibPbkdf2(password, 'sha1', 1000));
      assert.equal(imported.details?.resourceOwner, org.id);
      await assertZitadelError(
        passwordSession(imported.userId, 'ignored password', { headers }),
        Code.InvalidArgument,
        'Password is invalid',
        'COMMAND-3M0fs',
      );
      await assertPasswordChecks(imported.userId, password, { headers });
    });
  });
}
