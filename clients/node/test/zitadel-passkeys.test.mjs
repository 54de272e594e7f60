// Passkeys through ZITADEL's user service v2 (RegisterPasskey, VerifyPasskeyRegistration,
// ListPasskeys, RemovePasskey, and CreatePasskeyRegistrationLink's codes that let any caller start
// a registration) and their check in a login session (session service v2, a WebAuthN challenge
// that requires user verification), through the unmodified official Node client,
// @zitadel/client, on the transports the other ZITADEL client tests use. ZITADEL v1's
// "passwordless" calls over the same passkeys (management ListHumanPasswordless and
// RemoveHumanPasswordless, the auth API's …MyPasswordless) go through the older official client,
// @zitadel/node (grpc-js), as zitadel-node.test.mjs uses it.
//
// Registration links lead to Tessera's own page at the path of ZITADEL's login UI
// (/ui/login/login/passwordless/init?userID=…&orgID=…&codeID=…&code=…), on the origin the call
// came to (dev mode): v2's CreatePasskeyRegistrationLink emails one (sendLink, or no medium),
// v1's management AddPasswordlessRegistration, auth AddMyPasswordlessLink and ImportHumanUser's
// requestPasswordlessRegistration return one, SendPasswordlessRegistration and
// SendMyPasswordlessLink email one. The emails go to the SMTP sink of smtp-sink.mjs (node:net,
// plain SMTP as a local relay speaks it; the MIME parts decoded by hand), which the server is
// pointed at with TESSERA_SMTP_URL.
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
// v1 has bytes instead: the same JSON, UTF-8 encoded, both ways.
//
// A caller with less than the administrator's rights is a machine user with ZITADEL's
// ORG_OWNER_VIEWER role (it reads users, and may not write their credentials), made with the
// `tessera admin` CLI as an operator would: Tessera's ZITADEL API creates no machine users.

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Code } from '@connectrpc/connect';
import { createAuthServiceClient, createManagementServiceClient } from '@zitadel/client/v1';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import {
  createAccessTokenInterceptor,
  createAuthClient,
  createManagementClient,
} from '@zitadel/node/dist/api/index.js';
import { AuthFactorState as AuthFactorStateV1 } from '@zitadel/node/dist/api/generated/zitadel/user.js';
import { UserVerificationRequirement } from '@zitadel/proto/zitadel/session/v2/challenge_pb.js';
import { PasskeyAuthenticator } from '@zitadel/proto/zitadel/user/v2/auth_pb.js';
import { AuthFactorState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { Status } from 'nice-grpc';

import { assertGrpcError, assertZitadelError, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, uniqueEmail, useTessera } from './server.mjs';
import { SmtpSink } from './smtp-sink.mjs';

// The sink listens before the server starts, which is pointed at it.
const smtp = new SmtpSink();
const tessera = useTessera({ env: { TESSERA_SMTP_URL: await smtp.start() } });
after(() => smtp.stop());
const TRANSPORTS = zitadelTransports(tessera);

const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:3000';

const NOT_VERIFIED = ['The security key did not verify the user', 'TESSERA-WAN02'];
const UNPARSABLE = ['Error on parse credential data', 'WEBAU-sl9dr'];
const CLONED = ["The security key's sign counter did not advance: it may be cloned", 'TESSERA-WAN01'];
const NOT_FOUND = ['WebAuthN Token could not be found', 'COMMAND-2M9ds'];
// ZITADEL's request validation of VerifyPasskeyRegistrationRequest.passkey_name.
const NAME_INVALID = [
  'invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be between 1 and 200 runes, inclusive',
  'TESSERA-PKY01',
];
// ZITADEL's request validation of auth v1's WebAuthNVerification.token_name.
const TOKEN_NAME_INVALID = [
  'invalid WebAuthNVerification.TokenName: value length must be between 1 and 200 runes, inclusive',
  'TESSERA-PKY01',
];
const CODE_INVALID = ['Code is invalid', 'COMMAND-Eeb2a'];
const NO_PERMISSION = ['No matching permissions found', 'AUTH-5mWD2'];
const USER_NOT_FOUND = ['User could not be found', 'COMMAND-SqyJz'];
// The page a registration link opens: ZITADEL's login UI's path, and how long its code lives.
const REGISTRATION_PAGE = '/ui/login/login/passwordless/init';
const CODE_LIFETIME_SECONDS = 3600n;
// ZITADEL's answer to a WebAuthN challenge with no credential to ask for, which login UIs match
// on to mean "this user has no passkeys".
const NO_CREDENTIAL = ['WebAuthN begin login failed', 'WEBAU-4G8sw'];

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

/** A human user with a verified email and a password: its id, organization and email. */
async function addHuman(users) {
  const email = uniqueEmail('zitadel-passkey');
  const added = await users.addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  assert.ok(added.userId);
  assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
  return { userId: added.userId, org: added.details.resourceOwner, email };
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
 * RegisterPasskey for "localhost", with an authenticator attachment or a registration code if
 * given: the pending passkey's id and its creation options, checked to require user
 * verification and to ask for ES256.
 */
async function registerPasskey(users, userId, { authenticator, code } = {}) {
  const registered = await users.registerPasskey({
    userId,
    domain: RP_ID,
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(code === undefined ? {} : { code }),
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
 * CreateSession with a user check and a WebAuthN challenge for "localhost" with
 * `userVerificationRequirement` (left unset if undefined); resolves to the response.
 */
const webAuthNSession = (sessions, userId, userVerificationRequirement) =>
  sessions.createSession({
    checks: { user: { search: { case: 'userId', value: userId } } },
    challenges: {
      webAuthN: {
        domain: RP_ID,
        ...(userVerificationRequirement === undefined ? {} : { userVerificationRequirement }),
      },
    },
  });

/**
 * CreateSession with a user check and a WebAuthN challenge that requires user verification:
 * the session and its request options, checked to name the relying party and require
 * verification.
 */
async function passkeyChallenge(sessions, userId) {
  const created = await webAuthNSession(sessions, userId, UserVerificationRequirement.REQUIRED);
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

/** GetSession: no WebAuthN factor checked. */
async function assertUnchecked(sessions, sessionId) {
  const { session } = await sessions.getSession({ sessionId });
  assert.ok(session, 'the session exists');
  assert.equal(session.factors?.webAuthN, undefined);
}

/** A session sign-in with the passkey from challenge to a verified session. */
async function signInWithPasskey(sessions, userId, passkey) {
  const session = await passkeyChallenge(sessions, userId);
  const checked = await checkAssertion(sessions, session, passkey.assert(session.options));
  assert.ok(checked.sessionToken);
  assert.notEqual(checked.sessionToken, session.sessionToken);
  await assertSignedIn(sessions, session.sessionId, userId);
}

/**
 * CreatePasskeyRegistrationLink asking for the code back: the code ({ id, code }), checked to
 * be the 12 alphanumeric characters ZITADEL makes.
 */
async function registrationCode(users, userId, org) {
  const created = await users.createPasskeyRegistrationLink({ userId, medium: { case: 'returnCode', value: {} } });
  assert.equal(created.details?.resourceOwner, org);
  const { id, code } = created.code ?? {};
  assert.ok(id, JSON.stringify(created.code));
  assert.match(code, /^[A-Za-z0-9]{12}$/);
  return { id, code };
}

/**
 * Checks that `link` leads to this server's registration page (the origin the call came to,
 * whatever the transport) for `userId` of `org`, with ZITADEL's query parameters and nothing
 * else: its code as RegisterPasskey takes it ({ id, code }).
 */
function linkCode(link, userId, org) {
  const url = new URL(link);
  assert.equal(url.origin, tessera.baseUrl, link);
  assert.equal(url.pathname, REGISTRATION_PAGE, link);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['code', 'codeID', 'orgID', 'userID'], link);
  assert.equal(url.searchParams.get('userID'), userId, link);
  assert.equal(url.searchParams.get('orgID'), org, link);
  const id = url.searchParams.get('codeID');
  const code = url.searchParams.get('code');
  assert.ok(id, link);
  assert.match(code, /^[A-Za-z0-9]{12}$/, link);
  return { id, code };
}

/** The links (http and https) in the plain-text part of the next email to `email` that start with `prefix`. */
async function mailedLinks(email, prefix) {
  const mail = await smtp.next(email);
  assert.deepEqual(mail.rcptTo, [email]);
  const links = (mail.text.match(/https?:\/\/\S+/g) ?? []).filter((link) => link.startsWith(prefix));
  // The HTML part carries the same link, its "&" escaped or not.
  for (const link of links) {
    assert.ok(mail.html.includes(link.replaceAll('&', '&amp;')) || mail.html.includes(link), mail.html);
  }
  return links;
}

/** The one registration page link in the next email to `email`. */
async function mailedPageLink(email) {
  const links = await mailedLinks(email, `${tessera.baseUrl}${REGISTRATION_PAGE}?`);
  assert.equal(links.length, 1, `one link to the page: ${links}`);
  return links[0];
}

/** `link` with another code of the same form. */
function withWrongCode(link) {
  const url = new URL(link);
  const code = url.searchParams.get('code');
  url.searchParams.set('code', code === 'A'.repeat(12) ? 'B'.repeat(12) : 'A'.repeat(12));
  return url.toString();
}

/** GETs a registration link as a browser opens it: 200 and a page naming the account's email. */
async function assertPageShows(link, email) {
  const response = await fetch(link);
  const html = await response.text();
  assert.equal(response.status, 200, html);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(html.includes(email), `the page names ${email}:\n${html}`);
}

/** GETs a wrong, used or expired link: 400, and nothing of the account. */
async function assertPageRefuses(link, email) {
  const response = await fetch(link);
  const html = await response.text();
  assert.equal(response.status, 400, html);
  assert.ok(!html.includes(email), `the page does not name ${email}:\n${html}`);
}

/** How many messages `tessera admin deliveries` lists, to `to` if given: what was queued. */
function deliveries(to) {
  const rows = tessera.tesseraAdmin('deliveries', '--limit', '100000').split('\n').slice(1);
  return rows.filter((row) => to === undefined || row.split('\t')[3] === to).length;
}

/**
 * The PAT of a new ORG_OWNER_VIEWER machine user of `org`, from `tessera admin`: a caller that
 * reads users but may not write their credentials.
 */
function viewerPat(org) {
  const machineUserId = tessera.tesseraAdmin(
    'create-machine-user',
    org,
    `viewer-${hex()}`,
    '--role',
    'ORG_OWNER_VIEWER',
  );
  assert.match(machineUserId, /^\d+$/);
  return tessera.tesseraAdmin('create-pat', machineUserId);
}

/** v1's list of WebAuthNTokens as { id, state, name }. */
const webAuthNTokens = ({ result }) => result.map(({ id, state, name }) => ({ id, state, name }));

/** v1's bytes of a WebAuthn JSON message: the creation options, parsed. */
const fromJsonBytes = (bytes) => JSON.parse(Buffer.from(bytes).toString('utf8'));
/** …and a credential, as the bytes v1 takes. */
const toJsonBytes = (value) => Buffer.from(JSON.stringify(value), 'utf8');

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

    test('CreateSession with a WebAuthN challenge requiring user verification for a user without passkeys: Internal (WEBAU-4G8sw)', async () => {
      await assertZitadelError(
        webAuthNSession(sessions, user.userId, UserVerificationRequirement.REQUIRED),
        Code.Internal,
        ...NO_CREDENTIAL,
      );
    });

    test('RegisterPasskey (cross-platform) asks for a verifying authenticator; the unfinished registration is not listed', async () => {
      pending = await registerPasskey(users, user.userId, { authenticator: PasskeyAuthenticator.CROSS_PLATFORM });
      assert.equal(pending.details?.resourceOwner, user.org);
      assert.equal(pending.options.publicKey.authenticatorSelection.authenticatorAttachment, 'cross-platform');
      assert.deepEqual(pending.options.publicKey.excludeCredentials ?? [], []);
      // ZITADEL lists ready passkeys only.
      assert.deepEqual(await listPasskeys(users, user.userId), []);
      // Not usable yet: no passkey among the methods, and none for a challenge to ask for.
      assert.ok(!(await methodTypes(users, user.userId)).includes(AuthenticationMethodType.PASSKEY));
      await assertZitadelError(
        webAuthNSession(sessions, user.userId, UserVerificationRequirement.REQUIRED),
        Code.Internal,
        ...NO_CREDENTIAL,
      );
    });

    test('VerifyPasskeyRegistration without user verification (UV flag clear): InvalidArgument (TESSERA-WAN02), still unfinished and not listed', async () => {
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
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test('VerifyPasskeyRegistration with a malformed credential: InvalidArgument (WEBAU-sl9dr), still unfinished and not listed', async () => {
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
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test('VerifyPasskeyRegistration for another origin or another challenge: InvalidArgument (WEBAU-sl9dr), still unfinished and not listed', async () => {
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
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test('VerifyPasskeyRegistration without a name or with one of 201 characters: InvalidArgument (TESSERA-PKY01), still unfinished and not listed', async () => {
      assert.ok(pending, 'RegisterPasskey failed above');
      // A valid credential: only the name is wrong. 200 is counted in characters (runes), not bytes.
      for (const passkeyName of ['', 'é'.repeat(201)]) {
        await assertZitadelError(
          users.verifyPasskeyRegistration({
            userId: user.userId,
            passkeyId: pending.passkeyId,
            publicKeyCredential: passkey.register(pending.options),
            passkeyName,
          }),
          Code.InvalidArgument,
          ...NAME_INVALID,
        );
      }
      assert.deepEqual(await listPasskeys(users, user.userId), []);
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
      // Left unfinished, it is not listed beside the ready one.
      const listed = [{ id: pending.passkeyId, state: AuthFactorState.READY, name: 'Software key' }];
      assert.deepEqual(await listPasskeys(users, user.userId), listed);
      // RemovePasskey still removes it: once, and the ready one stays.
      const removed = await users.removePasskey({ userId: user.userId, passkeyId: second.passkeyId });
      assert.equal(removed.details?.resourceOwner, user.org);
      await assertZitadelError(
        users.removePasskey({ userId: user.userId, passkeyId: second.passkeyId }),
        Code.NotFound,
        ...NOT_FOUND,
      );
      assert.deepEqual(await listPasskeys(users, user.userId), listed);
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

    test('a WebAuthN challenge not requiring user verification (unset, PREFERRED, DISCOURAGED) is for security keys, of which the user has none: Internal (WEBAU-4G8sw)', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      for (const requirement of [
        undefined,
        UserVerificationRequirement.PREFERRED,
        UserVerificationRequirement.DISCOURAGED,
      ]) {
        await assertZitadelError(
          webAuthNSession(sessions, user.userId, requirement),
          Code.Internal,
          ...NO_CREDENTIAL,
        );
      }
    });

    test('an assertion without user verification (UV flag clear): InvalidArgument (TESSERA-WAN02), the session unchecked', async () => {
      assert.ok(ready, 'VerifyPasskeyRegistration failed above');
      const session = await passkeyChallenge(sessions, user.userId);
      await assertZitadelError(
        checkAssertion(sessions, session, passkey.assert(session.options, { flags: UP })),
        Code.InvalidArgument,
        ...NOT_VERIFIED,
      );
      await assertUnchecked(sessions, session.sessionId);
    });

    test('a malformed assertion, a forged signature, a key never registered, another user handle: InvalidArgument (WEBAU-sl9dr), the session unchecked', async () => {
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
        // The passkey's own, valid assertion naming someone else (WebAuthn §7.2 step 6).
        { ...assertion, response: { ...assertion.response, userHandle: b64url(randomBytes(16)) } },
      ];
      for (const forged of refused) {
        await assertZitadelError(checkAssertion(sessions, session, forged), Code.InvalidArgument, ...UNPARSABLE);
      }
      await assertUnchecked(sessions, session.sessionId);
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
      await assertUnchecked(sessions, first.sessionId);
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

      const { passkeyId, options } = await registerPasskey(users, userId, {
        authenticator: PasskeyAuthenticator.PLATFORM,
      });
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

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`a registration code through @zitadel/client over ${name}`, () => {
    let users; // the administrator's
    let sessions;
    let viewer; // a user service client of an ORG_OWNER_VIEWER machine user
    let user; // { userId, org }
    let code; // { id, code }
    let pending; // { passkeyId, options } from RegisterPasskey with the code

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      sessions = createSessionServiceClient(transport(tessera.adminPat));
      user = await addHuman(users);
      viewer = createUserServiceClient(transport(viewerPat(user.org)));
    });

    /** The viewer's RegisterPasskey with `attempted` for `userId` (by default the code's user). */
    const registerWithCode = (attempted, userId = user.userId) =>
      viewer.registerPasskey({ userId, domain: RP_ID, code: attempted });

    test('CreatePasskeyRegistrationLink with returnCode: a code of 12 alphanumeric characters', async () => {
      code = await registrationCode(users, user.userId, user.org);
    });

    test("CreatePasskeyRegistrationLink without a medium, or sendLink without urlTemplate: no code; the email links to Tessera's page on this origin, which names the account; the link's code starts one registration", async () => {
      // A user of its own, so that this describe's code stays the only one of `user`.
      const other = await addHuman(users);
      for (const medium of [undefined, { case: 'sendLink', value: {} }]) {
        const created = await users.createPasskeyRegistrationLink({
          userId: other.userId,
          ...(medium ? { medium } : {}),
        });
        assert.equal(created.details?.resourceOwner, other.org);
        assert.equal(created.code, undefined);
        const link = await mailedPageLink(other.email);
        const linked = linkCode(link, other.userId, other.org);
        await assertPageRefuses(withWrongCode(link), other.email);
        await assertPageShows(link, other.email);
        // Neither visit used the code: it starts a registration, for any caller, once.
        const started = await registerPasskey(viewer, other.userId, { code: linked });
        assert.equal(started.details?.resourceOwner, other.org);
        await assertZitadelError(registerWithCode(linked, other.userId), Code.InvalidArgument, ...CODE_INVALID);
        await assertPageRefuses(link, other.email);
      }
      // Unfinished, the registrations are not listed.
      assert.deepEqual(await listPasskeys(users, other.userId), []);
    });

    test('CreatePasskeyRegistrationLink with sendLink and a urlTemplate: no code; the email carries the template filled in, and its code starts a registration', async () => {
      const other = await addHuman(users);
      const urlTemplate = 'https://app.example/passkey?user={{.UserID}}&org={{.OrgID}}&id={{.CodeID}}&code={{.Code}}';
      const created = await users.createPasskeyRegistrationLink({
        userId: other.userId,
        medium: { case: 'sendLink', value: { urlTemplate } },
      });
      assert.equal(created.details?.resourceOwner, other.org);
      assert.equal(created.code, undefined);
      const links = await mailedLinks(other.email, 'https://app.example/passkey?');
      assert.equal(links.length, 1, `one link to the template: ${links}`);
      const query = new URL(links[0]).searchParams;
      assert.equal(query.get('user'), other.userId);
      assert.equal(query.get('org'), other.org);
      assert.match(query.get('code'), /^[A-Za-z0-9]{12}$/);
      await registerPasskey(viewer, other.userId, { code: { id: query.get('id'), code: query.get('code') } });
      assert.deepEqual(await listPasskeys(users, other.userId), []);
    });

    test('a caller that may not write credentials: RegisterPasskey without a code and CreatePasskeyRegistrationLink are PermissionDenied (AUTH-5mWD2)', async () => {
      // It may read the user, so the refusal is about the credential, not about finding the user.
      assert.deepEqual(await listPasskeys(viewer, user.userId), []);
      await assertZitadelError(
        viewer.registerPasskey({ userId: user.userId, domain: RP_ID }),
        Code.PermissionDenied,
        ...NO_PERMISSION,
      );
      await assertZitadelError(
        viewer.createPasskeyRegistrationLink({ userId: user.userId, medium: { case: 'returnCode', value: {} } }),
        Code.PermissionDenied,
        ...NO_PERMISSION,
      );
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test("a wrong code, an unknown code id, another user's code: InvalidArgument (COMMAND-Eeb2a), nothing registered", async () => {
      assert.ok(code, 'CreatePasskeyRegistrationLink failed above');
      const other = await addHuman(users);
      const refused = [
        [{ id: code.id, code: code.code === 'A'.repeat(12) ? 'B'.repeat(12) : 'A'.repeat(12) }, user.userId],
        [{ id: `${code.id}0`, code: code.code }, user.userId],
        // A code is for the user it was made for.
        [code, other.userId],
      ];
      for (const [wrong, userId] of refused) {
        await assertZitadelError(registerWithCode(wrong, userId), Code.InvalidArgument, ...CODE_INVALID);
      }
      assert.deepEqual(await listPasskeys(users, user.userId), []);
      assert.deepEqual(await listPasskeys(users, other.userId), []);
    });

    test('with the code, that caller starts the registration, once: the code again is InvalidArgument (COMMAND-Eeb2a)', async () => {
      assert.ok(code, 'CreatePasskeyRegistrationLink failed above');
      // The refusals above did not use the code up.
      pending = await registerPasskey(viewer, user.userId, { code });
      assert.equal(pending.details?.resourceOwner, user.org);
      // Unfinished, it is not listed, to the administrator or to the caller.
      assert.deepEqual(await listPasskeys(users, user.userId), []);
      assert.deepEqual(await listPasskeys(viewer, user.userId), []);
      await assertZitadelError(registerWithCode(code), Code.InvalidArgument, ...CODE_INVALID);
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test('the caller that started the registration with the code finishes it itself, and it signs in', async () => {
      assert.ok(pending, 'RegisterPasskey with the code failed above');
      const passkey = new SoftwarePasskey();
      const verified = await viewer.verifyPasskeyRegistration({
        userId: user.userId,
        passkeyId: pending.passkeyId,
        publicKeyCredential: passkey.register(pending.options),
        passkeyName: 'Registered with a code',
      });
      assert.equal(verified.details?.resourceOwner, user.org);
      const expected = [{ id: pending.passkeyId, state: AuthFactorState.READY, name: 'Registered with a code' }];
      assert.deepEqual(await listPasskeys(users, user.userId), expected);
      assert.deepEqual(await listPasskeys(viewer, user.userId), expected);
      await signInWithPasskey(sessions, user.userId, passkey);
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`passkey registration links through @zitadel/client's management and auth v1 over ${name}`, () => {
    let users; // the administrator's user service v2
    let management; // the administrator's management v1
    let user; // { userId, org, email }

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
      user = await addHuman(users);
    });

    /** v1's expiration (and ImportHumanUser's lifetime): the code's hour, as a Duration. */
    const assertHour = (duration) => {
      assert.equal(duration?.seconds, CODE_LIFETIME_SECONDS);
      assert.equal(duration.nanos, 0);
    };

    /** Starts a registration with `code` for `userId`, then checks the code and the link are used up. */
    async function assertCodeStartsOneRegistration(userId, code, link, email) {
      const started = await registerPasskey(users, userId, { code });
      assert.ok(started.passkeyId);
      await assertZitadelError(
        users.registerPasskey({ userId, domain: RP_ID, code }),
        Code.InvalidArgument,
        ...CODE_INVALID,
      );
      await assertPageRefuses(link, email);
      // Unfinished, it is not listed.
      assert.deepEqual(await listPasskeys(users, userId), []);
    }

    test("management AddPasswordlessRegistration: a link to the page on this server's origin, expiring in an hour; the page names the account; the code starts one registration", async () => {
      const added = await management.addPasswordlessRegistration({ userId: user.userId });
      assert.equal(added.details?.resourceOwner, user.org);
      assert.ok(added.details.creationDate?.seconds > 0n, 'details.creationDate');
      assertHour(added.expiration);
      const code = linkCode(added.link, user.userId, user.org);
      // Nothing is emailed: the link is the caller's to pass on.
      assert.deepEqual(smtp.pending(user.email), []);
      await assertPageRefuses(withWrongCode(added.link), user.email);
      await assertPageShows(added.link, user.email);
      await assertCodeStartsOneRegistration(user.userId, code, added.link, user.email);
    });

    test('management SendPasswordlessRegistration: the link to the page, emailed to the user; its code starts one registration', async () => {
      const queued = deliveries(user.email);
      const sent = await management.sendPasswordlessRegistration({ userId: user.userId });
      assert.equal(sent.details?.resourceOwner, user.org);
      // One message queued (what the refusals below are checked against), and delivered.
      assert.equal(deliveries(user.email), queued + 1);
      const link = await mailedPageLink(user.email);
      const code = linkCode(link, user.userId, user.org);
      await assertPageShows(link, user.email);
      await assertCodeStartsOneRegistration(user.userId, code, link, user.email);
    });

    test('management ImportHumanUser with requestPasswordlessRegistration: passwordlessRegistration is a link to the page for the new user (lifetime and expiration an hour); without it, none', async () => {
      const email = uniqueEmail('zitadel-import-passkey');
      const imported = await management.importHumanUser({
        userName: email,
        profile: { firstName: 'Ada', lastName: 'Lovelace' },
        email: { email, isEmailVerified: true },
        requestPasswordlessRegistration: true,
      });
      assert.ok(imported.userId);
      const org = imported.details?.resourceOwner;
      assert.ok(org, 'details.resourceOwner');
      const registration = imported.passwordlessRegistration;
      assert.ok(registration, 'passwordlessRegistration');
      assertHour(registration.lifetime);
      assertHour(registration.expiration);
      const code = linkCode(registration.link, imported.userId, org);
      assert.deepEqual(smtp.pending(email), []);
      await assertPageShows(registration.link, email);
      await assertCodeStartsOneRegistration(imported.userId, code, registration.link, email);

      const plainEmail = uniqueEmail('zitadel-import-plain');
      const plain = await management.importHumanUser({
        userName: plainEmail,
        profile: { firstName: 'Ada', lastName: 'Lovelace' },
        email: { email: plainEmail, isEmailVerified: true },
      });
      assert.ok(plain.userId);
      assert.equal(plain.passwordlessRegistration, undefined);
    });

    test("auth AddMyPasswordlessLink and SendMyPasswordlessLink: the signed-in user's own link, returned (an hour) and emailed; each code starts one registration", async () => {
      // A user signed up through Identity Toolkit calls the auth API with their ID token.
      const email = uniqueEmail('zitadel-my-link');
      const { user: signedUp } = await tessera.signUp(email);
      const me = createAuthServiceClient(transport(await signedUp.getIdToken()));
      const userId = signedUp.uid;
      const org = (await users.getUserByID({ userId })).details?.resourceOwner;
      assert.ok(org, 'the user has an organization');

      const added = await me.addMyPasswordlessLink({});
      assert.equal(added.details?.resourceOwner, org);
      assertHour(added.expiration);
      const code = linkCode(added.link, userId, org);
      assert.deepEqual(smtp.pending(email), []);
      await assertPageShows(added.link, email);
      await assertCodeStartsOneRegistration(userId, code, added.link, email);

      const sent = await me.sendMyPasswordlessLink({});
      assert.equal(sent.details?.resourceOwner, org);
      const link = await mailedPageLink(email);
      const mailed = linkCode(link, userId, org);
      assert.notEqual(mailed.id, code.id);
      await assertPageShows(link, email);
      await assertCodeStartsOneRegistration(userId, mailed, link, email);
    });

    test('AddPasswordlessRegistration and SendPasswordlessRegistration for an unknown user: NotFound (COMMAND-SqyJz); nothing emailed', async () => {
      const queued = deliveries();
      for (const call of ['addPasswordlessRegistration', 'sendPasswordlessRegistration']) {
        await assertZitadelError(management[call]({ userId: '123456789' }), Code.NotFound, ...USER_NOT_FOUND);
      }
      assert.equal(deliveries(), queued);
    });

    test('a caller that may not write the user (ORG_OWNER_VIEWER): AddPasswordlessRegistration and SendPasswordlessRegistration are PermissionDenied (AUTH-5mWD2); nothing registered or emailed', async () => {
      const viewer = createManagementServiceClient(transport(viewerPat(user.org)));
      // It may read the user, so the refusal is about writing, not about finding the user.
      assert.deepEqual((await viewer.listHumanPasswordless({ userId: user.userId })).result, []);
      const queued = deliveries(user.email);
      await assertZitadelError(
        viewer.addPasswordlessRegistration({ userId: user.userId }),
        Code.PermissionDenied,
        ...NO_PERMISSION,
      );
      await assertZitadelError(
        viewer.sendPasswordlessRegistration({ userId: user.userId }),
        Code.PermissionDenied,
        ...NO_PERMISSION,
      );
      assert.equal(deliveries(user.email), queued);
      assert.deepEqual(smtp.pending(user.email), []);
      assert.deepEqual(await listPasskeys(users, user.userId), []);
    });

    test('a machine user (the administrator, a viewer) on AddMyPasswordlessLink and SendMyPasswordlessLink: PermissionDenied (AUTH-5mWD2); nothing emailed', async () => {
      const queued = deliveries();
      for (const pat of [tessera.adminPat, viewerPat(user.org)]) {
        const machine = createAuthServiceClient(transport(pat));
        await assertZitadelError(machine.addMyPasswordlessLink({}), Code.PermissionDenied, ...NO_PERMISSION);
        await assertZitadelError(machine.sendMyPasswordlessLink({}), Code.PermissionDenied, ...NO_PERMISSION);
      }
      assert.equal(deliveries(), queued);
    });
  });
}

describe("ZITADEL v1's passwordless calls through @zitadel/node (gRPC): the same passkeys", () => {
  let users; // @zitadel/client's user service v2, the administrator's
  let sessions;
  let management; // @zitadel/node's management v1, the administrator's
  let me; // @zitadel/node's auth v1, with the user's own ID token
  let userId;
  let org;
  let email;
  let passkey;
  let pending; // the creation options AddMyPasswordless returned
  let tokenId; // the passkey's id once verified

  before(async () => {
    const transport = TRANSPORTS['gRPC (h2c)'];
    users = createUserServiceClient(transport(tessera.adminPat));
    sessions = createSessionServiceClient(transport(tessera.adminPat));
    management = createManagementClient(tessera.baseUrl, createAccessTokenInterceptor(tessera.adminPat));
    // A user signed up through Identity Toolkit calls the auth API with their ID token.
    email = uniqueEmail('zitadel-passwordless');
    const { user } = await tessera.signUp(email);
    userId = user.uid;
    me = createAuthClient(tessera.baseUrl, createAccessTokenInterceptor(await user.getIdToken()));
    org = (await users.getUserByID({ userId })).details?.resourceOwner;
    assert.ok(org, 'the user has an organization');
    passkey = new SoftwarePasskey();
  });

  /** ListMyPasswordless: the user's own passkeys as { id, state, name }. */
  const listMine = async () => webAuthNTokens(await me.listMyPasswordless({}));

  /** Asserts that no listing, v1's or v2's, shows a passkey of the user. */
  const assertNoneListed = async () => {
    assert.deepEqual(await listMine(), []);
    assert.deepEqual((await management.listHumanPasswordless({ userId })).result, []);
    assert.deepEqual(await listPasskeys(users, userId), []);
  };

  test('AddMyPasswordless: the creation options as JSON bytes, requiring user verification; not listed until verified', async () => {
    const added = await me.addMyPasswordless({});
    assert.equal(added.details?.resourceOwner, org);
    assert.ok(Buffer.isBuffer(added.key?.publicKey), 'WebAuthNKey.publicKey is bytes');
    pending = fromJsonBytes(added.key.publicKey);
    assert.equal(pending.publicKey.rp.id, RP_ID);
    assert.equal(pending.publicKey.authenticatorSelection.userVerification, 'required');
    assert.match(pending.publicKey.challenge, /^[A-Za-z0-9_-]{16,}$/);
    // ZITADEL lists ready passkeys only: neither ListMyPasswordless nor the administrator's
    // listings show the unfinished registration.
    await assertNoneListed();
  });

  test('VerifyMyPasswordless without user verification: INVALID_ARGUMENT (TESSERA-WAN02), still unfinished and not listed', async () => {
    assert.ok(pending, 'AddMyPasswordless failed above');
    await assertGrpcError(
      me.verifyMyPasswordless({
        verification: {
          publicKeyCredential: toJsonBytes(passkey.register(pending, { flags: UP })),
          tokenName: 'no verification',
        },
      }),
      Status.INVALID_ARGUMENT,
      ...NOT_VERIFIED,
    );
    await assertNoneListed();
  });

  test('VerifyMyPasswordless with an empty tokenName: INVALID_ARGUMENT (TESSERA-PKY01), still unfinished and not listed', async () => {
    assert.ok(pending, 'AddMyPasswordless failed above');
    // A valid credential: only the name is missing.
    await assertGrpcError(
      me.verifyMyPasswordless({
        verification: { publicKeyCredential: toJsonBytes(passkey.register(pending)), tokenName: '' },
      }),
      Status.INVALID_ARGUMENT,
      ...TOKEN_NAME_INVALID,
    );
    await assertNoneListed();
  });

  test('VerifyMyPasswordless with the credential JSON: READY under its tokenName in ListMyPasswordless, ListHumanPasswordless and ListPasskeys', async () => {
    assert.ok(pending, 'AddMyPasswordless failed above');
    const verified = await me.verifyMyPasswordless({
      verification: { publicKeyCredential: toJsonBytes(passkey.register(pending)), tokenName: 'my phone' },
    });
    assert.equal(verified.details?.resourceOwner, org);
    const mine = await listMine();
    tokenId = mine[0]?.id;
    assert.deepEqual(mine, [{ id: tokenId, state: AuthFactorStateV1.AUTH_FACTOR_STATE_READY, name: 'my phone' }]);
    // The administrator's v1 view and v2's are the same passkey.
    assert.deepEqual(webAuthNTokens(await management.listHumanPasswordless({ userId })), mine);
    assert.deepEqual(await listPasskeys(users, userId), [
      { id: tokenId, state: AuthFactorState.READY, name: 'my phone' },
    ]);
  });

  test('the passkey registered through v1 signs in a v2 session', async () => {
    assert.ok(tokenId, 'VerifyMyPasswordless failed above');
    await signInWithPasskey(sessions, userId, passkey);
  });

  test('RemoveMyPasswordless: gone everywhere; RemoveMyPasswordless and RemoveHumanPasswordless again are NOT_FOUND (COMMAND-2M9ds)', async () => {
    assert.ok(tokenId, 'VerifyMyPasswordless failed above');
    const removed = await me.removeMyPasswordless({ tokenId });
    assert.equal(removed.details?.resourceOwner, org);
    assert.deepEqual(await listMine(), []);
    assert.deepEqual((await management.listHumanPasswordless({ userId })).result, []);
    assert.deepEqual(await listPasskeys(users, userId), []);
    await assertGrpcError(me.removeMyPasswordless({ tokenId }), Status.NOT_FOUND, ...NOT_FOUND);
    await assertGrpcError(management.removeHumanPasswordless({ userId, tokenId }), Status.NOT_FOUND, ...NOT_FOUND);
  });

  test('management ListHumanPasswordless and RemoveHumanPasswordless over a passkey registered through v2; a viewer lists but may not remove', async () => {
    const { passkeyId, options } = await registerPasskey(users, userId);
    await users.verifyPasskeyRegistration({
      userId,
      passkeyId,
      publicKeyCredential: new SoftwarePasskey().register(options),
      passkeyName: 'Through v2',
    });
    const expected = [{ id: passkeyId, state: AuthFactorStateV1.AUTH_FACTOR_STATE_READY, name: 'Through v2' }];
    const listed = async (client) => webAuthNTokens(await client.listHumanPasswordless({ userId }));
    assert.deepEqual(await listed(management), expected);
    assert.deepEqual(await listMine(), expected);

    const viewer = createManagementClient(tessera.baseUrl, createAccessTokenInterceptor(viewerPat(org)));
    assert.deepEqual(await listed(viewer), expected);
    await assertGrpcError(
      viewer.removeHumanPasswordless({ userId, tokenId: passkeyId }),
      Status.PERMISSION_DENIED,
      ...NO_PERMISSION,
    );
    assert.deepEqual(await listed(management), expected);

    const removed = await management.removeHumanPasswordless({ userId, tokenId: passkeyId });
    assert.equal(removed.details?.resourceOwner, org);
    assert.deepEqual(await listed(management), []);
    assert.deepEqual(await listPasskeys(users, userId), []);
    await assertGrpcError(
      management.removeHumanPasswordless({ userId, tokenId: passkeyId }),
      Status.NOT_FOUND,
      ...NOT_FOUND,
    );
  });

  test("registration links through grpc-js: management AddPasswordlessRegistration and SendPasswordlessRegistration, auth AddMyPasswordlessLink and SendMyPasswordlessLink lead to the page on this server's origin; their codes start registrations", async () => {
    // grpc-js names the server in HTTP/2's :authority only, which the link's origin comes from.
    const links = [];
    const added = await management.addPasswordlessRegistration({ userId });
    assert.equal(added.details?.resourceOwner, org);
    assert.equal(String(added.expiration?.seconds), '3600');
    links.push(added.link);
    const sent = await management.sendPasswordlessRegistration({ userId });
    assert.equal(sent.details?.resourceOwner, org);
    links.push(await mailedPageLink(email));
    const mine = await me.addMyPasswordlessLink({});
    assert.equal(mine.details?.resourceOwner, org);
    assert.equal(String(mine.expiration?.seconds), '3600');
    links.push(mine.link);
    const sentToMe = await me.sendMyPasswordlessLink({});
    assert.equal(sentToMe.details?.resourceOwner, org);
    links.push(await mailedPageLink(email));

    const codes = links.map((link) => linkCode(link, userId, org));
    assert.equal(new Set(codes.map(({ id }) => id)).size, codes.length, 'a code per link');
    for (const [i, code] of codes.entries()) {
      await assertPageShows(links[i], email);
      await registerPasskey(users, userId, { code });
      await assertPageRefuses(links[i], email);
    }
    assert.deepEqual(await listPasskeys(users, userId), []);
  });

  test('AddPasswordlessRegistration through grpc-js for an unknown user: NOT_FOUND (COMMAND-SqyJz); a viewer: PERMISSION_DENIED (AUTH-5mWD2)', async () => {
    await assertGrpcError(
      management.addPasswordlessRegistration({ userId: '123456789' }),
      Status.NOT_FOUND,
      ...USER_NOT_FOUND,
    );
    const viewer = createManagementClient(tessera.baseUrl, createAccessTokenInterceptor(viewerPat(org)));
    const queued = deliveries(email);
    await assertGrpcError(viewer.addPasswordlessRegistration({ userId }), Status.PERMISSION_DENIED, ...NO_PERMISSION);
    await assertGrpcError(viewer.sendPasswordlessRegistration({ userId }), Status.PERMISSION_DENIED, ...NO_PERMISSION);
    assert.equal(deliveries(email), queued);
    assert.deepEqual(await listPasskeys(users, userId), []);
  });
});
