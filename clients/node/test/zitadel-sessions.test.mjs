// ZITADEL's ListSessions (session service v2 and its v2beta name) through the unmodified official
// Node clients: @zitadel/client on the transports the other ZITADEL client tests use (gRPC over
// HTTP/2 without TLS, Connect over HTTP/1.1 as JSON and as binary), with its v2 session client and
// a v2beta one made by its own createClientFor from @zitadel/proto's v2beta descriptor; and
// @zitadel/node's session client (v2beta over gRPC, nice-grpc).
//
// Sessions come from CreateSession (a user checked by id or login name, a user agent with a
// fingerprint and headers, metadata, a lifetime) and are listed by each query @zitadel/proto
// 1.3.1 can send (ids, user id, creation date with each comparison, creator, user-agent
// fingerprint; its SearchQuery has no expirationDateQuery yet), AND-ed, paged and ordered (newest
// first unless `asc`).
//
// Who sees what: dev mode's administrator (an IAM_OWNER machine user, the PAT in
// <data-dir>/admin.pat) every session; an ORG_OWNER machine user of another organization that
// organization's sessions; an ORG_USER_MANAGER machine user (no session permission) only those it
// created, which are none; a human user through its own Identity Toolkit ID token the sessions of
// its own user. The machine users and their PATs come from the `tessera admin` CLI, as an operator
// makes them: Tessera's ZITADEL API creates no machine users.
//
// A refused list changes nothing: the same list before and after is the same.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { toJson } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { createClientFor } from '@zitadel/client';
import { createManagementServiceClient } from '@zitadel/client/v1';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { createAccessTokenInterceptor, createSessionClient } from '@zitadel/node/dist/api/index.js';
import { TimestampQueryMethod as NodeTimestampQueryMethod } from '@zitadel/node/dist/api/generated/zitadel/object.js';
import { TimestampQueryMethod } from '@zitadel/proto/zitadel/object_pb.js';
import { SessionFieldName, SessionSchema } from '@zitadel/proto/zitadel/session/v2/session_pb.js';
import { SessionSchema as SessionSchemaV2beta } from '@zitadel/proto/zitadel/session/v2beta/session_pb.js';
import { SessionService as SessionServiceV2beta } from '@zitadel/proto/zitadel/session/v2beta/session_service_pb.js';
import { Status } from 'nice-grpc';

import { assertGrpcError, assertZitadelError, idToken, machineUser, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const TRANSPORTS = zitadelTransports(tessera);

/** @zitadel/client's v2beta session client, made as the package makes its v2 one. */
const createSessionServiceClientV2beta = createClientFor(SessionServiceV2beta);

// Creation times are kept to the millisecond: sessions made this far apart sort apart.
const APART_MS = 25;

// The SearchQuery oneof, as @zitadel/client takes it (v2 and v2beta alike).
const byIds = (...ids) => ({ query: { case: 'idsQuery', value: { ids } } });
const byUser = (id) => ({ query: { case: 'userIdQuery', value: { id } } });
const byCreation = (creationDate, method) => ({ query: { case: 'creationDateQuery', value: { creationDate, method } } });
const byCreator = (creator = {}) => ({ query: { case: 'creatorQuery', value: creator } });
const byAgent = (agent = {}) => ({ query: { case: 'userAgentQuery', value: agent } });
const NOTHING = { query: { case: undefined } };

/** ListSessions: the total (a number; the client's is a bigint, checked here) and the ids in order. */
async function listIds(sessions, request = {}) {
  const { details, sessions: found } = await sessions.listSessions(request);
  assert.equal(typeof details?.totalResult, 'bigint', 'details.totalResult');
  return { total: Number(details.totalResult), ids: found.map((session) => session.id) };
}

/**
 * Asserts that `call` is refused with ZITADEL's error and that it changed nothing: ListSessions
 * with `again` answers the same before and after.
 */
async function assertRefusedUnchanged(sessions, again, call, code, message, id) {
  const before = await sessions.listSessions(again);
  await assertZitadelError(call(), code, message, id);
  const after = await sessions.listSessions(again);
  assert.equal(after.details?.totalResult, before.details?.totalResult);
  assert.deepEqual(after.sessions, before.sessions);
}

/** AddHumanUser (Ada Lovelace, a verified address, the test password) with `users`: { userId, email, org }. */
async function addHuman(users, email = uniqueEmail('zitadel-sessions')) {
  const added = await users.addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  assert.match(added.userId, /^\d+$/);
  assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
  return { userId: added.userId, email, org: added.details.resourceOwner };
}

/** A Timestamp as milliseconds (a number). */
const millis = (timestamp) => Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`ListSessions through @zitadel/client over ${name}`, () => {
    let sessions;
    let ada; // { userId, email, org }
    let grace;
    let first; // ada's, by user id, with a user agent, metadata and a lifetime
    let second; // grace's, by login name, with her password
    let third; // no user, nothing else
    let all; // the three ids query
    const fingerprints = { first: `fp-${hex()}`, second: `fp-${hex()}` };
    const agent = {
      fingerprintId: fingerprints.first,
      ip: '203.0.113.7',
      description: 'Firefox',
      header: { 'accept-language': { values: ['en', 'de'] } },
    };

    before(async () => {
      sessions = createSessionServiceClient(transport(tessera.adminPat));
      const users = createUserServiceClient(transport(tessera.adminPat));
      ada = await addHuman(users);
      grace = await addHuman(users);
      first = (
        await sessions.createSession({
          checks: { user: { search: { case: 'userId', value: ada.userId } } },
          userAgent: agent,
          metadata: { app: new TextEncoder().encode('login') },
          lifetime: { seconds: 600n },
        })
      ).sessionId;
      await sleep(APART_MS);
      second = (
        await sessions.createSession({
          checks: {
            user: { search: { case: 'loginName', value: grace.email } },
            password: { password: PASSWORD },
          },
          userAgent: { fingerprintId: fingerprints.second },
        })
      ).sessionId;
      await sleep(APART_MS);
      third = (await sessions.createSession({})).sessionId;
      all = byIds(first, second, third);
    });

    test('newest first by default: every session as GetSession shows it, and the total', async () => {
      const listed = await sessions.listSessions({ queries: [all] });
      assert.equal(listed.details?.totalResult, 3n);
      assert.ok(listed.details.timestamp?.seconds > 0n, 'details.timestamp');
      assert.deepEqual(
        listed.sessions.map((session) => session.id),
        [third, second, first],
      );
      for (const session of listed.sessions) {
        const { session: got } = await sessions.getSession({ sessionId: session.id });
        assert.deepEqual(session, got, `session ${session.id} as GetSession shows it`);
        assert.equal(typeof session.sequence, 'bigint');
        assert.ok(millis(session.changeDate) >= millis(session.creationDate), 'changeDate >= creationDate');
      }
      const [made3, made2, made1] = listed.sessions;
      assert.ok(millis(made1.creationDate) < millis(made2.creationDate), 'the first before the second');
      assert.ok(millis(made2.creationDate) < millis(made3.creationDate), 'the second before the third');

      // Ada's: checked by id, the user agent as given, the metadata, an expiry 600 s on.
      const { user } = made1.factors;
      assert.deepEqual(
        { id: user.id, loginName: user.loginName, displayName: user.displayName, organizationId: user.organizationId },
        { id: ada.userId, loginName: ada.email, displayName: 'Ada Lovelace', organizationId: ada.org },
      );
      assert.ok(user.verifiedAt?.seconds > 0n, 'factors.user.verifiedAt');
      assert.equal(made1.factors.password, undefined);
      assert.deepEqual(
        {
          fingerprintId: made1.userAgent?.fingerprintId,
          ip: made1.userAgent?.ip,
          description: made1.userAgent?.description,
          header: Object.fromEntries(Object.entries(made1.userAgent?.header ?? {}).map(([k, v]) => [k, v.values])),
        },
        { ...agent, header: { 'accept-language': ['en', 'de'] } },
      );
      assert.deepEqual(Object.keys(made1.metadata), ['app']);
      assert.equal(new TextDecoder().decode(made1.metadata.app), 'login');
      const lifetime = millis(made1.expirationDate) - millis(made1.creationDate);
      assert.ok(lifetime >= 600_000 && lifetime <= 601_000, `expires 600 s after creation, not ${lifetime} ms`);

      // Grace's: checked by login name, with her password; only a fingerprint.
      assert.equal(made2.factors?.user?.id, grace.userId);
      assert.equal(made2.factors.user.loginName, grace.email);
      assert.ok(made2.factors.password?.verifiedAt?.seconds > 0n, 'factors.password.verifiedAt');
      assert.equal(made2.userAgent?.fingerprintId, fingerprints.second);
      assert.deepEqual(made2.userAgent.header, {});
      assert.equal(made2.expirationDate, undefined);

      // Nobody's: no user, no user agent, no metadata, no expiry.
      assert.equal(made3.factors?.user, undefined);
      assert.equal(made3.userAgent, undefined);
      assert.deepEqual(made3.metadata, {});
      assert.equal(made3.expirationDate, undefined);
    });

    // ZITADEL's sessionToPb leaves factors out when no user was checked (factorsToPb answers nil
    // without a user factor).
    test(
      'a session without a checked user has no factors, as ZITADEL lists it',
      async () => {
        const { sessions: [nobodys] } = await sessions.listSessions({ queries: [byIds(third)] });
        assert.equal(nobodys?.id, third);
        assert.equal(nobodys.factors, undefined);
      },
    );

    test('asc reverses the order (with or without sortingColumn CREATION_DATE); offset and limit page, the total counts every match', async () => {
      assert.deepEqual(await listIds(sessions, { query: { asc: true }, queries: [all] }), {
        total: 3,
        ids: [first, second, third],
      });
      assert.deepEqual(
        await listIds(sessions, {
          query: { asc: true },
          sortingColumn: SessionFieldName.CREATION_DATE,
          queries: [all],
        }),
        { total: 3, ids: [first, second, third] },
      );
      assert.deepEqual(await listIds(sessions, { sortingColumn: SessionFieldName.CREATION_DATE, queries: [all] }), {
        total: 3,
        ids: [third, second, first],
      });
      assert.deepEqual(await listIds(sessions, { query: { offset: 1n, limit: 1 }, queries: [all] }), {
        total: 3,
        ids: [second],
      });
      assert.deepEqual(await listIds(sessions, { query: { offset: 0n, limit: 2, asc: true }, queries: [all] }), {
        total: 3,
        ids: [first, second],
      });
      assert.deepEqual(await listIds(sessions, { query: { offset: 2n, limit: 5 }, queries: [all] }), {
        total: 3,
        ids: [first],
      });
      assert.deepEqual(await listIds(sessions, { query: { offset: 3n }, queries: [all] }), { total: 3, ids: [] });
    });

    test('idsQuery, userIdQuery, userAgentQuery and creatorQuery each narrow the list, and queries are AND-ed', async () => {
      const found = async (...queries) => {
        const { total, ids } = await listIds(sessions, { queries: [all, ...queries] });
        assert.equal(total, ids.length, 'the total is what is listed');
        return ids;
      };
      assert.deepEqual(await listIds(sessions, { queries: [byIds(first, second)] }), { total: 2, ids: [second, first] });
      assert.deepEqual(await listIds(sessions, { queries: [byIds(first, `${first}0`)] }), { total: 1, ids: [first] });
      assert.deepEqual(await found(byUser(ada.userId)), [first]);
      assert.deepEqual(await found(byUser(grace.userId)), [second]);
      assert.deepEqual(await found(byUser('1')), []);
      // A fingerprint names its sessions across the project: no ids needed.
      assert.deepEqual(await listIds(sessions, { queries: [byAgent({ fingerprintId: fingerprints.first })] }), {
        total: 1,
        ids: [first],
      });
      assert.deepEqual(await found(byAgent({ fingerprintId: fingerprints.second })), [second]);
      assert.deepEqual(await found(byAgent({ fingerprintId: `fp-${hex()}` })), []);
      // No creator id: the caller's own, which here are all three.
      assert.deepEqual(await found(byCreator()), [third, second, first]);
      assert.deepEqual(await found(byCreator({ id: ada.userId })), []);
      // Every query must match.
      assert.deepEqual(await found(byUser(ada.userId), byAgent({ fingerprintId: fingerprints.first })), [first]);
      assert.deepEqual(await found(byUser(ada.userId), byAgent({ fingerprintId: fingerprints.second })), []);
      assert.deepEqual(await found(byIds(second, third), byCreator()), [third, second]);
    });

    test('creationDateQuery: each TimestampQueryMethod around the second session\'s creation date', async () => {
      const { sessions: [, made2] } = await sessions.listSessions({ queries: [all] });
      assert.equal(made2.id, second);
      const at = made2.creationDate;
      const found = async (method) => (await listIds(sessions, { queries: [all, byCreation(at, method)] })).ids;
      assert.deepEqual(await found(TimestampQueryMethod.EQUALS), [second]);
      assert.deepEqual(await found(TimestampQueryMethod.GREATER), [third]);
      assert.deepEqual(await found(TimestampQueryMethod.GREATER_OR_EQUALS), [third, second]);
      assert.deepEqual(await found(TimestampQueryMethod.LESS), [first]);
      assert.deepEqual(await found(TimestampQueryMethod.LESS_OR_EQUALS), [second, first]);
      // With asc, oldest first.
      assert.deepEqual(
        (
          await listIds(sessions, {
            query: { asc: true },
            queries: [all, byCreation(at, TimestampQueryMethod.GREATER_OR_EQUALS)],
          })
        ).ids,
        [second, third],
      );
    });

    test('SetSession shows in the list (its check, metadata, change date and sequence), DeleteSession takes the session out', async () => {
      const created = await sessions.createSession({ userAgent: { fingerprintId: `fp-${hex()}` } });
      const one = { queries: [byIds(created.sessionId)] };
      const { sessions: [made] } = await sessions.listSessions(one);
      assert.equal(made?.factors?.user, undefined);
      await sleep(APART_MS);
      await sessions.setSession({
        sessionId: created.sessionId,
        sessionToken: created.sessionToken,
        checks: { user: { search: { case: 'userId', value: ada.userId } } },
        metadata: { step: new TextEncoder().encode('two') },
      });
      const { sessions: [changed] } = await sessions.listSessions(one);
      const { session: got } = await sessions.getSession({ sessionId: created.sessionId });
      assert.deepEqual(changed, got);
      assert.equal(changed.factors?.user?.id, ada.userId);
      assert.equal(new TextDecoder().decode(changed.metadata.step), 'two');
      assert.deepEqual(changed.creationDate, made.creationDate);
      assert.ok(millis(changed.changeDate) > millis(made.changeDate), 'changeDate moved on');
      assert.ok(changed.sequence > made.sequence, 'sequence moved on');
      assert.deepEqual(await listIds(sessions, { queries: [all, byUser(ada.userId)] }), { total: 1, ids: [first] });

      await sessions.deleteSession({ sessionId: created.sessionId });
      assert.deepEqual(await listIds(sessions, one), { total: 0, ids: [] });
      assert.deepEqual(await listIds(sessions, { queries: [byUser(ada.userId)] }), { total: 1, ids: [first] });
    });

    test('an expired session is still listed, with its expiration date', async () => {
      const created = await sessions.createSession({
        checks: { user: { search: { case: 'userId', value: grace.userId } } },
        lifetime: { seconds: 1n },
      });
      const { sessions: [made] } = await sessions.listSessions({ queries: [byIds(created.sessionId)] });
      const expires = millis(made.expirationDate);
      const lifetime = expires - millis(made.creationDate);
      assert.ok(lifetime >= 1000 && lifetime <= 1001, `expires 1 s after creation, not ${lifetime} ms`);
      await sleep(Math.max(0, expires - Date.now()) + 200);
      assert.ok(Date.now() > expires, 'expired');
      const { sessions: [expired] } = await sessions.listSessions({ queries: [byIds(created.sessionId)] });
      assert.deepEqual(expired, made);
      assert.deepEqual(
        await listIds(sessions, { queries: [byUser(grace.userId)] }),
        { total: 2, ids: [created.sessionId, second] },
      );
    });

    test('a SearchQuery that sets nothing: InvalidArgument "List.Query.Invalid (GRPC-Sfefs)", nothing changed', async () => {
      for (const queries of [[NOTHING], [all, NOTHING]]) {
        await assertRefusedUnchanged(
          sessions,
          { queries: [all] },
          () => sessions.listSessions({ queries }),
          Code.InvalidArgument,
          'List.Query.Invalid',
          'GRPC-Sfefs',
        );
      }
    });

    test('creatorQuery with an empty id: InvalidArgument "List.Query.Invalid (GRPC-x8n24uh)", nothing changed', async () => {
      await assertRefusedUnchanged(
        sessions,
        { queries: [all] },
        () => sessions.listSessions({ queries: [all, byCreator({ id: '' })] }),
        Code.InvalidArgument,
        'List.Query.Invalid',
        'GRPC-x8n24uh',
      );
    });

    test('userAgentQuery without a fingerprint id, or an empty one: InvalidArgument "List.Query.Invalid (GRPC-x8n23uh)", nothing changed', async () => {
      for (const query of [byAgent(), byAgent({ fingerprintId: '' })]) {
        await assertRefusedUnchanged(
          sessions,
          { queries: [all] },
          () => sessions.listSessions({ queries: [all, query] }),
          Code.InvalidArgument,
          'List.Query.Invalid',
          'GRPC-x8n23uh',
        );
      }
    });

    test('creationDateQuery with a method no TimestampQueryMethod defines (9): refused, nothing changed', async () => {
      const undefinedMethod = () =>
        sessions.listSessions({ queries: [all, byCreation(undefined, 9)] });
      // Over binary the number arrives as sent; JSON carries it as "method": 9, which Tessera's JSON
      // reader refuses before the query is read (ZITADEL's protojson takes any number for an enum).
      const [message, id] = name.startsWith('Connect JSON')
        ? ['Errors.Request.Invalid', 'TESSERA-REQ01']
        : ['List.Query.InvalidComparisonMethod', 'GRPC-Dwigt'];
      await assertRefusedUnchanged(sessions, { queries: [all] }, undefinedMethod, Code.InvalidArgument, message, id);
    });

    test('a token the server did not issue: Unauthenticated "Errors.Token.Invalid (AUTH-7fs1e)", nothing changed', async () => {
      const stranger = createSessionServiceClient(transport(`not-a-pat-${hex()}`));
      await assertRefusedUnchanged(
        sessions,
        { queries: [all] },
        () => stranger.listSessions({ queries: [all] }),
        Code.Unauthenticated,
        'Errors.Token.Invalid',
        'AUTH-7fs1e',
      );
    });

    test('zitadel.session.v2beta.SessionService/ListSessions: the same sessions, queries, order and refusals', async () => {
      const beta = createSessionServiceClientV2beta(transport(tessera.adminPat));
      const listed = await beta.listSessions({ queries: [all] });
      assert.equal(listed.details?.totalResult, 3n);
      assert.deepEqual(
        listed.sessions.map((session) => session.$typeName),
        Array(3).fill('zitadel.session.v2beta.Session'),
      );
      const v2 = await sessions.listSessions({ queries: [all] });
      assert.deepEqual(
        listed.sessions.map((session) => toJson(SessionSchemaV2beta, session)),
        v2.sessions.map((session) => toJson(SessionSchema, session)),
      );
      assert.deepEqual(
        (await beta.listSessions({ query: { asc: true }, queries: [all] })).sessions.map((s) => s.id),
        [first, second, third],
      );
      assert.deepEqual(
        (await beta.listSessions({ query: { offset: 1n, limit: 1 }, queries: [all] })).sessions.map((s) => s.id),
        [second],
      );
      assert.deepEqual(
        (await beta.listSessions({ queries: [all, byUser(grace.userId)] })).sessions.map((s) => s.id),
        [second],
      );
      const at = v2.sessions[1].creationDate;
      assert.deepEqual(
        (await beta.listSessions({ queries: [all, byCreation(at, TimestampQueryMethod.LESS_OR_EQUALS)] })).sessions.map(
          (s) => s.id,
        ),
        [second, first],
      );
      await assertRefusedUnchanged(
        sessions,
        { queries: [all] },
        () => beta.listSessions({ queries: [all, NOTHING] }),
        Code.InvalidArgument,
        'List.Query.Invalid',
        'GRPC-Sfefs',
      );
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`who sees which sessions in ListSessions through @zitadel/client over ${name}`, () => {
    let admin; // session clients by caller
    let owner;
    let manager;
    let adaSelf;
    let ada; // a user of the default organization, { userId, email, org }
    let hank; // a user of another organization (Globex)
    let ownerId; // Globex's ORG_OWNER machine user
    let sessionsOf; // the session ids, by what they are
    let all;

    before(async () => {
      admin = createSessionServiceClient(transport(tessera.adminPat));
      const adminUsers = createUserServiceClient(transport(tessera.adminPat));
      ada = await addHuman(adminUsers);

      const management = createManagementServiceClient(transport(tessera.adminPat));
      const globex = await management.addOrg({ name: `Globex ${hex()}` });
      assert.ok(globex.id);
      const globexOwner = machineUser(tessera, globex.id, 'ORG_OWNER');
      ownerId = globexOwner.id;
      owner = createSessionServiceClient(transport(globexOwner.pat));
      hank = await addHuman(createUserServiceClient(transport(globexOwner.pat)));
      assert.equal(hank.org, globex.id);
      manager = createSessionServiceClient(transport(machineUser(tessera, ada.org, 'ORG_USER_MANAGER').pat));
      adaSelf = createSessionServiceClient(transport(await idToken(tessera, ada.email)));

      const forUser = (userId) => ({ checks: { user: { search: { case: 'userId', value: userId } } } });
      sessionsOf = {};
      sessionsOf.ada = (await admin.createSession(forUser(ada.userId))).sessionId;
      await sleep(APART_MS);
      sessionsOf.nobody = (await admin.createSession({})).sessionId;
      await sleep(APART_MS);
      sessionsOf.hankByOwner = (await owner.createSession(forUser(hank.userId))).sessionId;
      await sleep(APART_MS);
      sessionsOf.hankByAdmin = (await admin.createSession(forUser(hank.userId))).sessionId;
      all = byIds(...Object.values(sessionsOf));
    });

    test('the administrator (IAM_OWNER) sees every organization\'s sessions, and finds them by creator', async () => {
      assert.deepEqual(await listIds(admin, { queries: [all] }), {
        total: 4,
        ids: [sessionsOf.hankByAdmin, sessionsOf.hankByOwner, sessionsOf.nobody, sessionsOf.ada],
      });
      assert.deepEqual(await listIds(admin, { queries: [all, byCreator({ id: ownerId })] }), {
        total: 1,
        ids: [sessionsOf.hankByOwner],
      });
      assert.deepEqual(await listIds(admin, { queries: [all, byCreator()] }), {
        total: 3,
        ids: [sessionsOf.hankByAdmin, sessionsOf.nobody, sessionsOf.ada],
      });
      assert.deepEqual(await listIds(admin, { queries: [all, byUser(hank.userId)] }), {
        total: 2,
        ids: [sessionsOf.hankByAdmin, sessionsOf.hankByOwner],
      });
    });

    test('an ORG_OWNER of another organization sees that organization\'s sessions only; the total counts only those', async () => {
      const hanks = { total: 2, ids: [sessionsOf.hankByAdmin, sessionsOf.hankByOwner] };
      assert.deepEqual(await listIds(owner, { queries: [all] }), hanks);
      assert.deepEqual(await listIds(owner, {}), hanks);
      assert.deepEqual(await listIds(owner, { queries: [byCreator()] }), { total: 1, ids: [sessionsOf.hankByOwner] });
      assert.deepEqual(await listIds(owner, { queries: [all, byUser(ada.userId)] }), { total: 0, ids: [] });
      const { sessions: [shown] } = await owner.listSessions({ queries: [byIds(sessionsOf.hankByOwner)] });
      assert.equal(shown.factors?.user?.id, hank.userId);
      assert.equal(shown.factors.user.organizationId, hank.org);
    });

    test('a machine user without session permission (ORG_USER_MANAGER) creates none and sees none: total 0', async () => {
      assert.deepEqual(await listIds(manager, { queries: [all] }), { total: 0, ids: [] });
      assert.deepEqual(await listIds(manager, {}), { total: 0, ids: [] });
      assert.deepEqual(await listIds(manager, { queries: [byCreator()] }), { total: 0, ids: [] });
      await assertRefusedUnchanged(
        admin,
        { queries: [all] },
        () => manager.createSession({ checks: { user: { search: { case: 'userId', value: ada.userId } } } }),
        Code.PermissionDenied,
        'No matching permissions found',
        'AUTH-5mWD2',
      );
      assert.deepEqual(await listIds(manager, {}), { total: 0, ids: [] });
    });

    test('a user with its own ID token sees its own user\'s sessions only', async () => {
      const adas = { total: 1, ids: [sessionsOf.ada] };
      assert.deepEqual(await listIds(adaSelf, { queries: [all] }), adas);
      assert.deepEqual(await listIds(adaSelf, {}), adas);
      assert.deepEqual(await listIds(adaSelf, { queries: [byUser(ada.userId)] }), adas);
      assert.deepEqual(await listIds(adaSelf, { queries: [all, byUser(hank.userId)] }), { total: 0, ids: [] });
      // She created none herself.
      assert.deepEqual(await listIds(adaSelf, { queries: [byCreator()] }), { total: 0, ids: [] });
      const { sessions: [mine] } = await adaSelf.listSessions({});
      const { sessions: [asAdmin] } = await admin.listSessions({ queries: [byIds(sessionsOf.ada)] });
      assert.deepEqual(mine, asAdmin);
    });

    test('a refused query from a user or a machine user without permission is the same refusal, nothing changed', async () => {
      for (const caller of [adaSelf, manager, owner]) {
        await assertRefusedUnchanged(
          admin,
          { queries: [all] },
          () => caller.listSessions({ queries: [NOTHING] }),
          Code.InvalidArgument,
          'List.Query.Invalid',
          'GRPC-Sfefs',
        );
        await assertRefusedUnchanged(
          admin,
          { queries: [all] },
          () => caller.listSessions({ queries: [byAgent()] }),
          Code.InvalidArgument,
          'List.Query.Invalid',
          'GRPC-x8n23uh',
        );
      }
    });
  });
}

describe('ListSessions through @zitadel/node (v2beta over gRPC)', () => {
  let sessions;
  let user; // { userId, email, org }
  let older;
  let newer;

  before(async () => {
    sessions = createSessionClient(tessera.baseUrl, createAccessTokenInterceptor(tessera.adminPat));
    user = await addHuman(createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat)));
    older = (
      await sessions.createSession({
        checks: { user: { userId: user.userId }, password: { password: PASSWORD } },
        userAgent: { fingerprintId: `fp-${hex()}`, header: { 'user-agent': { values: ['node'] } } },
      })
    ).sessionId;
    await sleep(APART_MS);
    newer = (await sessions.createSession({ checks: { user: { loginName: user.email } } })).sessionId;
  });

  test('by ids, newest first, each as GetSession shows it; asc and paging', async () => {
    const listed = await sessions.listSessions({ queries: [{ idsQuery: { ids: [older, newer] } }] });
    assert.equal(listed.details?.totalResult.toNumber(), 2);
    assert.deepEqual(
      listed.sessions.map((session) => session.id),
      [newer, older],
    );
    for (const session of listed.sessions) {
      const { session: got } = await sessions.getSession({ sessionId: session.id });
      assert.deepEqual(session, got);
      assert.equal(session.factors?.user?.id, user.userId);
      assert.equal(session.factors.user.loginName, user.email);
      assert.ok(session.creationDate instanceof Date, 'creationDate');
    }
    assert.ok(listed.sessions[1].factors.password?.verifiedAt instanceof Date, 'password.verifiedAt');
    assert.deepEqual(listed.sessions[1].userAgent?.header, { 'user-agent': { values: ['node'] } });

    const asc = await sessions.listSessions({ query: { asc: true }, queries: [{ idsQuery: { ids: [older, newer] } }] });
    assert.deepEqual(
      asc.sessions.map((session) => session.id),
      [older, newer],
    );
    const page = await sessions.listSessions({
      query: { offset: 1, limit: 1 },
      queries: [{ idsQuery: { ids: [older, newer] } }],
    });
    assert.equal(page.details?.totalResult.toNumber(), 2);
    assert.deepEqual(
      page.sessions.map((session) => session.id),
      [older],
    );
  });

  test('userIdQuery and creationDateQuery', async () => {
    const mine = await sessions.listSessions({ queries: [{ userIdQuery: { id: user.userId } }] });
    assert.deepEqual(
      mine.sessions.map((session) => session.id),
      [newer, older],
    );
    const [, made] = mine.sessions;
    const ids = { idsQuery: { ids: [older, newer] } };
    const found = async (method) =>
      (
        await sessions.listSessions({ queries: [ids, { creationDateQuery: { creationDate: made.creationDate, method } }] })
      ).sessions.map((session) => session.id);
    assert.deepEqual(await found(NodeTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_EQUALS), [older]);
    assert.deepEqual(await found(NodeTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_GREATER), [newer]);
    assert.deepEqual(await found(NodeTimestampQueryMethod.TIMESTAMP_QUERY_METHOD_LESS_OR_EQUALS), [older]);
  });

  test('a SearchQuery that sets nothing: INVALID_ARGUMENT "List.Query.Invalid (GRPC-Sfefs)", nothing changed', async () => {
    const again = { queries: [{ idsQuery: { ids: [older, newer] } }] };
    const before = await sessions.listSessions(again);
    await assertGrpcError(
      sessions.listSessions({ queries: [{}] }),
      Status.INVALID_ARGUMENT,
      'List.Query.Invalid',
      'GRPC-Sfefs',
    );
    const after = await sessions.listSessions(again);
    assert.deepEqual(after.sessions, before.sessions);
    assert.equal(after.details?.totalResult.toNumber(), 2);
  });
});
