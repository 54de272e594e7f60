// Shared by every test file: starts one real `tessera serve` per file (node --test runs each
// file in its own process) and hands out unmodified Firebase clients pointed at it.
//
// The binary is the one cargo built (`target/debug/tessera`, or TESSERA_BIN). With
// TEST_POSTGRES_URL set, the server runs on a fresh PostgreSQL database instead of SQLite.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { deleteApp, initializeApp } from 'firebase/app';
import { connectAuthEmulator, createUserWithEmailAndPassword, getAuth, signInWithEmailAndPassword } from 'firebase/auth';
import * as admin from 'firebase-admin/app';
import { getAuth as getAdminAuth } from 'firebase-admin/auth';

import { adminPat, hex, PASSWORD, PROJECT, rest, startTessera, uniqueEmail } from '../../shared/tessera.mjs';

export { hex, PASSWORD, PROJECT, sleep, uniqueEmail, uniquePhone } from '../../shared/tessera.mjs';

/**
 * Registers before/after hooks for one server and its clients; returns a context filled in by
 * `before`: `baseUrl`, `adminPat` (dev mode's ZITADEL administrator PAT), `admin`
 * (firebase-admin Auth), `client(tenantId)` (a fresh JS SDK Auth), `signUp(email)`,
 * `signIn(email, password)`, `rest(path, options)` and `tesseraAdmin(...args)` (the `tessera admin`
 * CLI on this server's data).
 */
export function useTessera(options = {}) {
  const ctx = {};
  const clientApps = [];
  let server;
  let adminApp;

  before(async () => {
    server = await startTessera(options);
    ctx.baseUrl = server.baseUrl;
    ctx.adminPat = adminPat(server);
    // Exactly what a firebase-admin user does to reach the Firebase Auth emulator.
    process.env.FIREBASE_AUTH_EMULATOR_HOST = new URL(server.baseUrl).host;
    adminApp = admin.initializeApp({ projectId: PROJECT }, `admin-${hex()}`);
    ctx.admin = getAdminAuth(adminApp);
  });

  after(async () => {
    // Deleting the apps stops the SDKs' timers, so the test process can exit.
    await Promise.all(clientApps.map((app) => deleteApp(app)));
    await adminApp?.delete();
    if (server) assert.equal(await server.stop(), 0, `tessera exit status; log:\n${server.log.join('\n')}`);
  });

  // Each call gets its own app, so tests do not share a signed-in user; with `tenantId`, an
  // Auth of one of the project's tenants.
  ctx.client = (tenantId = null) => {
    const app = initializeApp({ apiKey: 'dev-api-key', projectId: PROJECT }, `client-${hex()}`);
    clientApps.push(app);
    const auth = getAuth(app);
    connectAuthEmulator(auth, ctx.baseUrl, { disableWarnings: true });
    auth.tenantId = tenantId;
    return auth;
  };

  /** A password sign-up on a fresh client: its Auth, UserCredential, user and address. */
  ctx.signUp = async (email = uniqueEmail()) => {
    const auth = ctx.client();
    const credential = await createUserWithEmailAndPassword(auth, email, PASSWORD);
    return { auth, credential, user: credential.user, email };
  };

  /** Password sign-in on a fresh client; resolves to the UserCredential. */
  ctx.signIn = (email, password = PASSWORD) => signInWithEmailAndPassword(ctx.client(), email, password);

  /** The emulator's outstanding links (`oobCodes`), in the project or one of its tenants. */
  ctx.oobCodes = async (tenantId = null) => {
    const base = `/emulator/v1/projects/${PROJECT}${tenantId ? `/tenants/${tenantId}` : ''}`;
    const { oobCodes } = await ctx.rest(`${base}/oobCodes`);
    assert.ok(Array.isArray(oobCodes), `oobCodes is a list: ${JSON.stringify(oobCodes)}`);
    return oobCodes;
  };

  /** The outstanding links for `email` and `requestType`. */
  ctx.oobEntries = async (email, requestType, tenantId = null) =>
    (await ctx.oobCodes(tenantId)).filter((entry) => entry.email === email && entry.requestType === requestType);

  /**
   * The one outstanding link for `email` and `requestType`, checked to lead back here with
   * `mode`, its code and the SDK's API key (which the link carries for the handler's calls);
   * resolves to the code.
   */
  ctx.oobCode = async (email, requestType, mode) => {
    const entries = await ctx.oobEntries(email, requestType);
    assert.equal(entries.length, 1, `one ${requestType} link for ${email}: ${JSON.stringify(entries)}`);
    const [entry] = entries;
    assert.deepEqual(Object.keys(entry).sort(), ['email', 'oobCode', 'oobLink', 'requestType']);
    const link = new URL(entry.oobLink);
    assert.equal(link.origin, ctx.baseUrl);
    assert.equal(link.searchParams.get('mode'), mode);
    assert.equal(link.searchParams.get('oobCode'), entry.oobCode);
    assert.equal(link.searchParams.get('apiKey'), 'dev-api-key');
    return entry.oobCode;
  };

  /** Plain HTTP against the server, for what no SDK exposes; returns the parsed JSON body. */
  ctx.rest = (path, options) => rest(ctx.baseUrl, path, options);

  /** `tessera admin ARGS…` against this server's data dir and database; its output, trimmed. */
  ctx.tesseraAdmin = (...args) => server.admin(...args);

  return ctx;
}

/** Decodes a JWT's header and payload without verifying it (the tests check the signature separately). */
export function decodeJwt(token) {
  const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  return { header, payload };
}
