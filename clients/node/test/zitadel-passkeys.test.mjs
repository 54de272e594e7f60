// Passkeys through ZITADEL's user service v2 (RegisterPasskey, VerifyPasskeyRegistration,
// ListPasskeys, RemovePasskey) and their check in a login session (session service v2, a WebAuthN
// challenge that requires user verification), through the unmodified official Node client,
// @zitadel/client, on the transports the other ZITADEL client tests use.
//
// Node has no WebAuthn authenticator, so the credential comes from a software one written here,
// independently of the server's webauthn-rs: an ES256 (P-256) key pair from node:crypto,
// attestation format "none", its CBOR from a minimal encoder. It plays the browser too: the
// clientDataJSON carries the origin http://localhost:3000 (Tessera allows http://localhost on any
// port) and the authenticator data the SHA-256 of the relying party id "localhost".
//
// The options arrive as google.protobuf.Struct (publicKeyCredentialCreationOptions,
// publicKeyCredentialRequestOptions), which @zitadel/client hands over as plain JS objects; the
// credentials go back the same way, as the JSON a browser's PublicKeyCredential serializes to.

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { Code } from '@connectrpc/connect';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { UserVerificationRequirement } from '@zitadel/proto/zitadel/session/v2/challenge_pb.js';
import { PasskeyAuthenticator } from '@zitadel/proto/zitadel/user/v2/auth_pb.js';
import { AuthFactorState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';

import { assertZitadelError, zitadelTransports } from './zitadel-transports.mjs';
import { PASSWORD, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();
const TRANSPORTS = zitadelTransports(tessera);

const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:3000';

const NOT_VERIFIED = ['The security key did not verify the user', 'TESSERA-WAN02'];
const UNPARSABLE = ['Error on parse credential data', 'WEBAU-sl9dr'];
const CLONED = ["The security key's sign counter did not advance: it may be cloned", 'TESSERA-WAN01'];
const NOT_FOUND = ['WebAuthN Token could not be found', 'COMMAND-2M9ds'];

// ---------------------------------------------------------------------------------------------
// The software authenticator.

/** A CBOR item head: the major type and its argument, in the shortest form. */
function cborHead(major, n) {
  if (n < 24) return Buffer.of((major << 5) | n);
  if (n < 0x100) return Buffer.of((major << 5) | 24, n);
  if (n < 0x10000) return Buffer.concat([Buffer.of((major << 5) | 25), u16(n)]);
  return Buffer.concat([Buffer.of((major << 5) | 26), u32(n)]);
}

/**
 * CBOR of what WebAuthn needs: integers, byte strings (Buffers), text strings and maps (a Map
 * for integer keys such as COSE's, a plain object for text keys), keys in insertion order.
 */
function cbor(value) {
  if (Number.isInteger(value)) return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value]);
  if (typeof value === 'string') {
    const utf8 = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, utf8.length), utf8]);
  }
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return Buffer.concat([cborHead(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const u16 = (n) => {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(n);
  return bytes;
};
const u32 = (n) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
};
const sha256 = (data) => createHash('sha256').update(data).digest();
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

// The authenticator data flags: user present, user verified, attested credential data included.
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/** What the browser hands the authenticator and the relying party: the client data, as JSON bytes. */
const clientData = (type, challenge, origin) =>
  Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

/**
 * One ES256 credential. Its sign counter advances by one per use unless `synced` (as synced
 * passkeys do, it then reports 0 every time). `register` answers creation options, `assert`
 * request options, both with the JSON the server takes; `flags` and `counter` override what the
 * authenticator data says, `origin` and `challenge` what the client data does.
 */
class SoftwarePasskey {
  constructor({ synced = false } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.id = randomBytes(32);
    this.synced = synced;
    this.counter = 0;
    this.userHandle = null;
  }

  /** The next value of the sign counter. */
  nextCounter() {
    if (this.synced) return 0;
    this.counter += 1;
    return this.counter;
  }

  /** The COSE_Key of the public key: EC2 (1: 2), ES256 (3: -7), P-256 (-1: 1), x (-2), y (-3). */
  coseKey() {
    const { x, y } = this.publicKey.export({ format: 'jwk' });
    return new Map([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(x, 'base64url')],
      [-3, Buffer.from(y, 'base64url')],
    ]);
  }

  authenticatorData(flags, counter, attested = Buffer.alloc(0)) {
    return Buffer.concat([sha256(RP_ID), Buffer.of(flags), u32(counter), attested]);
  }

  /** navigator.credentials.create(): the attestation as a PublicKeyCredential's JSON. */
  register(options, { flags = UP | UV, origin = ORIGIN, challenge = options.publicKey.challenge } = {}) {
    const { publicKey } = options;
    assert.equal(publicKey.rp.id, RP_ID);
    this.userHandle = publicKey.user.id;
    const attested = Buffer.concat([Buffer.alloc(16), u16(this.id.length), this.id, cbor(this.coseKey())]);
    // The counter the credential starts with: 0, as authenticators report at creation.
    const authData = this.authenticatorData(flags | AT, 0, attested);
    const attestationObject = cbor({ fmt: 'none', attStmt: {}, authData });
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: {
        attestationObject: b64url(attestationObject),
        clientDataJSON: b64url(clientData('webauthn.create', challenge, origin)),
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(): the assertion as a PublicKeyCredential's JSON. */
  assert(options, { flags = UP | UV, counter = this.nextCounter() } = {}) {
    const authData = this.authenticatorData(flags, counter);
    const clientDataJSON = clientData('webauthn.get', options.publicKey.challenge, ORIGIN);
    // ECDSA over authenticatorData ‖ SHA-256(clientDataJSON); node:crypto signs EC keys in DER.
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: {
        authenticatorData: b64url(authData),
        clientDataJSON: b64url(clientDataJSON),
        signature: b64url(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The API.

/** A human user with a verified email and a password: its id and organization. */
async function addHuman(users) {
  const added = await users.addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email: uniqueEmail('zitadel-passkey'), verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  assert.ok(added.userId);
  assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
  return { userId: added.userId, org: added.details.resourceOwner };
}

/** The user's passkeys as { id, state, name }, checking that totalResult counts them. */
async function listPasskeys(users, userId) {
  const { details, result } = await users.listPasskeys({ userId });
  assert.equal(details?.totalResult, BigInt(result.length));
  return result.map(({ id, state, name }) => ({ id, state, name }));
}

/** The user's authentication method types, sorted. */
async function methodTypes(users, userId) {
  const { authMethodTypes } = await users.listAuthenticationMethodTypes({ userId });
  return [...authMethodTypes].sort((a, b) => a - b);
}

/** The user's READY second factors, by type (passkeys are not among them). */
async function secondFactors(users, userId) {
  const { result } = await users.listAuthenticationFactors({ userId });
  return result.map((factor) => factor.type.case);
}

/**
 * RegisterPasskey for "localhost": the pending passkey's id and its creation options, checked
 * to require user verification and to ask for ES256.
 */
async function registerPasskey(users, userId, authenticator) {
  const registered = await users.registerPasskey({
    userId,
    domain: RP_ID,
    ...(authenticator === undefined ? {} : { authenticator }),
  });
  assert.ok(registered.passkeyId);
  const options = registered.publicKeyCredentialCreationOptions;
  assert.equal(typeof options?.publicKey?.challenge, 'string', JSON.stringify(options));
  assert.match(options.publicKey.challenge, /^[A-Za-z0-9_-]{16,}$/);
  assert.match(options.publicKey.user.id, /^[A-Za-z0-9_-]+$/);
  assert.equal(options.publicKey.rp.id, RP_ID);
  assert.equal(options.publicKey.authenticatorSelection.userVerification, 'required');
  assert.ok(
    options.publicKey.pubKeyCredParams.some((param) => param.type === 'public-key' && param.alg === -7),
    'ES256 is offered',
  );
  return { passkeyId: registered.passkeyId, options, details: registered.details };
}

/**
 * CreateSession with a user check and a WebAuthN challenge that requires user verification:
 * the session and its request options, checked to name the relying party and require
 * verification.
 */
async function passkeyChallenge(sessions, userId) {
  const created = await sessions.createSession({
    checks: { user: { search: { case: 'userId', value: userId } } },
    challenges: { webAuthN: { domain: RP_ID, userVerificationRequirement: UserVerificationRequirement.REQUIRED } },
  });
  assert.ok(created.sessionId);
  assert.ok(created.sessionToken);
  const options = created.challenges?.webAuthN?.publicKeyCredentialRequestOptions;
  assert.equal(typeof options?.publicKey?.challenge, 'string', JSON.stringify(created.challenges));
  assert.equal(options.publicKey.rpId, RP_ID);
  assert.equal(options.publicKey.userVerification, 'required');
  return { sessionId: created.sessionId, sessionToken: created.sessionToken, options };
}

/** SetSession with a WebAuthN check of `assertion`; resolves to the response. */
const checkAssertion = (sessions, session, assertion) =>
  sessions.setSession({
    sessionId: session.sessionId,
    sessionToken: session.sessionToken,
    checks: { webAuthN: { credentialAssertionData: assertion } },
  });

/** GetSession: the session's WebAuthN factor, checked to be verified with user verification. */
async function assertSignedIn(sessions, sessionId, userId) {
  const { session } = await sessions.getSession({ sessionId });
  assert.equal(session?.factors?.user?.id, userId);
  const factor = session.factors.webAuthN;
  assert.ok(factor?.verifiedAt && factor.verifiedAt.seconds > 0n, 'webAuthN.verifiedAt');
  assert.equal(factor.userVerified, true);
}

/** A session sign-in with the passkey from challenge to a verified session. */
async function signInWithPasskey(sessions, userId, passkey) {
  const session = await passkeyChallenge(sessions, userId);
  const checked = await checkAssertion(sessions, session, passkey.assert(session.options));
  assert.ok(checked.sessionToken);
  assert.notEqual(checked.sessionToken, session.sessionToken);
  await assertSignedIn(sessions, session.sessionId, userId);
}

// ---------------------------------------------------------------------------------------------
// The tests.

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`a passkey through @zitadel/client over ${name}`, () => {
    let users;
    let sessions;
    let user; // { userId, org }
    let passkey; // the SoftwarePasskey
    let pending; // { passkeyId, options } from RegisterPasskey
    let ready = false;
    let signedIn = false;

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      sessions = createSessionServiceClient(transport(tessera.adminPat));
      user = await addHuman(users);
      passkey = new SoftwarePasskey();
    });

    test('RegisterPasskey (cross-platform) asks for a verifying authenticator; the passkey is NOT_READY without a name', async () => {
      pending = await registerPasskey(users, user.userId, PasskeyAuthenticator.CROSS_PLATFORM);
      assert.equal(pending.details?.resourceOwner, user.org);
      assert.equal(pending.options.publicKey.authenticatorSelection.authenticatorAttachment, 'cross-platform');
      assert.deepEqual(pending.options.publicKey.excludeCredentials ?? [], []);
      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.NOT_READY, name: '' },
      ]);
      // Not usable yet: no passkey among the methods.
      assert.ok(!(await methodTypes(users, user.userId)).includes(AuthenticationMethodType.PASSKEY));
    });

    test('VerifyPasskeyRegistration without user verification (UV flag clear): InvalidArgument (TESSERA-WAN02), still NOT_READY', async () => {
      assert.ok(pending, 'RegisterPasskey failed above');
      await assertZitadelError(
        users.verifyPasskeyRegistration({
          userId: user.userId,
          passkeyId: pending.passkeyId,
          publicKeyCredential: passkey.register(pending.options, { flags: UP }),
          passkeyName: 'no verification',
        }),
        Code.InvalidArgument,
        ...NOT_VERIFIED,
      );
      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.NOT_READY, name: '' },
      ]);
    });

    test('VerifyPasskeyRegistration with a malformed credential: InvalidArgument (WEBAU-sl9dr), still NOT_READY', async () => {
      assert.ok(pending, 'RegisterPasskey failed above');
      const credential = passkey.register(pending.options);
      await assertZitadelError(
        users.verifyPasskeyRegistration({
          userId: user.userId,
          passkeyId: pending.passkeyId,
          // Not an attestation object at all.
          publicKeyCredential: { ...credential, response: { ...credential.response, attestationObject: 'AAAA' } },
          passkeyName: 'malformed',
        }),
        Code.InvalidArgument,
        ...UNPARSABLE,
      );
      await assertZitadelError(
        users.verifyPasskeyRegistration({
          userId: user.userId,
          passkeyId: pending.passkeyId,
          publicKeyCredential: { type: 'public-key' },
          passkeyName: 'malformed',
        }),
        Code.InvalidArgument,
        ...UNPARSABLE,
      );
      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.NOT_READY, name: '' },
      ]);
    });

    test('VerifyPasskeyRegistration for another origin or another challenge: InvalidArgument (WEBAU-sl9dr), still NOT_READY', async () => {
      assert.ok(pending, 'RegisterPasskey failed above');
      for (const clientData of [{ origin: 'https://evil.example' }, { challenge: b64url(randomBytes(32)) }]) {
        await assertZitadelError(
          users.verifyPasskeyRegistration({
            userId: user.userId,
            passkeyId: pending.passkeyId,
            publicKeyCredential: passkey.register(pending.options, clientData),
            passkeyName: 'elsewhere',
          }),
          Code.InvalidArgument,
          ...UNPARSABLE,
        );
      }
      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.NOT_READY, name: '' },
      ]);
    });

    test('VerifyPasskeyRegistration: READY under its name, the PASSKEY method, and no second factor', async () => {
      assert.ok(pending, 'RegisterPasskey failed above');
      const verified = await users.verifyPasskeyRegistration({
        userId: user.userId,
        passkeyId: pending.passkeyId,
        publicKeyCredential: passkey.register(pending.options),
        passkeyName: 'Software key',
      });
      assert.equal(verified.details?.resourceOwner, user.org);
      ready = true;

      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.READY, name: 'Software key' },
      ]);
      assert.deepEqual(await methodTypes(users, user.userId), [
        AuthenticationMethodType.PASSWORD,
        AuthenticationMethodType.PASSKEY,
      ]);
      // A passkey signs in on its own: it is no second factor.
      assert.deepEqual(await secondFactors(users, user.userId), []);
    });

    test('a second RegisterPasskey excludes the credential already registered', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const second = await registerPasskey(users, user.userId);
      assert.equal(second.options.publicKey.authenticatorSelection.authenticatorAttachment, undefined);
      assert.deepEqual(
        second.options.publicKey.excludeCredentials.map(({ type, id }) => ({ type, id })),
        [{ type: 'public-key', id: b64url(passkey.id) }],
      );
      // Left unfinished, and removed so the listings below see only the ready one.
      await users.removePasskey({ userId: user.userId, passkeyId: second.passkeyId });
      assert.deepEqual(
        (await listPasskeys(users, user.userId)).map(({ id }) => id),
        [pending.passkeyId],
      );
    });

    test('CreateSession with a WebAuthN challenge requiring user verification, SetSession with the assertion: verified', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const session = await passkeyChallenge(sessions, user.userId);
      assert.deepEqual(
        session.options.publicKey.allowCredentials.map(({ type, id }) => ({ type, id })),
        [{ type: 'public-key', id: b64url(passkey.id) }],
      );
      const checked = await checkAssertion(sessions, session, passkey.assert(session.options));
      assert.notEqual(checked.sessionToken, session.sessionToken);
      await assertSignedIn(sessions, session.sessionId, user.userId);
      signedIn = true;
    });

    test('an assertion without user verification (UV flag clear): InvalidArgument (TESSERA-WAN02), the session unchecked', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const session = await passkeyChallenge(sessions, user.userId);
      await assertZitadelError(
        checkAssertion(sessions, session, passkey.assert(session.options, { flags: UP })),
        Code.InvalidArgument,
        ...NOT_VERIFIED,
      );
      const { session: read } = await sessions.getSession({ sessionId: session.sessionId });
      assert.equal(read?.factors?.webAuthN, undefined);
    });

    test('a malformed assertion, a forged signature, a key never registered: InvalidArgument (WEBAU-sl9dr), the session unchecked', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const session = await passkeyChallenge(sessions, user.userId);
      const assertion = passkey.assert(session.options);
      const signature = sign('sha256', randomBytes(32), passkey.privateKey);
      const stranger = new SoftwarePasskey();
      stranger.userHandle = passkey.userHandle;
      const refused = [
        { ...assertion, response: { ...assertion.response, authenticatorData: 'AAAA' } },
        // The passkey's own key, over other data.
        { ...assertion, response: { ...assertion.response, signature: b64url(signature) } },
        stranger.assert(session.options),
      ];
      for (const forged of refused) {
        await assertZitadelError(checkAssertion(sessions, session, forged), Code.InvalidArgument, ...UNPARSABLE);
      }
      const { session: read } = await sessions.getSession({ sessionId: session.sessionId });
      assert.equal(read?.factors?.webAuthN, undefined);
    });

    test('two sessions open, the newer counter checked first: the older one, or the same again, is FailedPrecondition (TESSERA-WAN01)', async () => {
      assert.ok(signedIn, 'the sign-in failed above');
      const first = await passkeyChallenge(sessions, user.userId);
      const second = await passkeyChallenge(sessions, user.userId);
      // The first session's assertion is made first but arrives last, as a clone's would.
      const older = passkey.assert(first.options);
      const newer = passkey.assert(second.options);
      await checkAssertion(sessions, second, newer);
      await assertSignedIn(sessions, second.sessionId, user.userId);
      await assertZitadelError(checkAssertion(sessions, first, older), Code.FailedPrecondition, ...CLONED);
      // Nor may the counter stand still.
      await assertZitadelError(
        checkAssertion(sessions, first, passkey.assert(first.options, { counter: passkey.counter })),
        Code.FailedPrecondition,
        ...CLONED,
      );
      const { session: read } = await sessions.getSession({ sessionId: first.sessionId });
      assert.equal(read?.factors?.webAuthN, undefined);
      // The passkey itself stays, and signs in with a counter past the accepted one.
      assert.deepEqual(await listPasskeys(users, user.userId), [
        { id: pending.passkeyId, state: AuthFactorState.READY, name: 'Software key' },
      ]);
      await signInWithPasskey(sessions, user.userId, passkey);
    });

    test('RemovePasskey: gone from the list and the methods; removing it again is NotFound (COMMAND-2M9ds)', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const removed = await users.removePasskey({ userId: user.userId, passkeyId: pending.passkeyId });
      assert.equal(removed.details?.resourceOwner, user.org);
      assert.deepEqual(await listPasskeys(users, user.userId), []);
      assert.deepEqual(await methodTypes(users, user.userId), [AuthenticationMethodType.PASSWORD]);
      await assertZitadelError(
        users.removePasskey({ userId: user.userId, passkeyId: pending.passkeyId }),
        Code.NotFound,
        ...NOT_FOUND,
      );
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`a synced passkey (sign counter always 0) through @zitadel/client over ${name}`, () => {
    test('RegisterPasskey (platform), then three sign-ins that all report counter 0', async () => {
      const users = createUserServiceClient(transport(tessera.adminPat));
      const sessions = createSessionServiceClient(transport(tessera.adminPat));
      const { userId } = await addHuman(users);
      const passkey = new SoftwarePasskey({ synced: true });

      const { passkeyId, options } = await registerPasskey(users, userId, PasskeyAuthenticator.PLATFORM);
      assert.equal(options.publicKey.authenticatorSelection.authenticatorAttachment, 'platform');
      await users.verifyPasskeyRegistration({
        userId,
        passkeyId,
        publicKeyCredential: passkey.register(options),
        passkeyName: 'Synced',
      });
      assert.deepEqual(await listPasskeys(users, userId), [
        { id: passkeyId, state: AuthFactorState.READY, name: 'Synced' },
      ]);

      // A counter that stays 0 is no clone: an authenticator without a counter.
      for (let i = 0; i < 3; i += 1) await signInWithPasskey(sessions, userId, passkey);
    });
  });
}
