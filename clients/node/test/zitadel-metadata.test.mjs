// ZITADEL's user metadata through the unmodified official Node clients: @zitadel/client's v2
// user service (SetUserMetadata, ListUserMetadata with key filters and pagination,
// DeleteUserMetadata, and AddHumanUser's metadata), its management v1 client (SetUserMetadata,
// BulkSetUserMetadata, ListUserMetadata, GetUserMetadata, RemoveUserMetadata,
// BulkRemoveUserMetadata) and its auth v1 client (ListMyMetadata, GetMyMetadata), each on the
// transports the other ZITADEL client tests use (gRPC over HTTP/2 without TLS, Connect over
// HTTP/1.1 as JSON and as binary); and @zitadel/node (nice-grpc over gRPC): its management and auth
// clients (v1), and a v2 user service client made from its own generated v2 definition the way the
// package makes its clients.
//
// And an organization's metadata, through the same management v1 clients (SetOrgMetadata,
// BulkSetOrgMetadata, ListOrgMetadata, GetOrgMetadata, RemoveOrgMetadata, BulkRemoveOrgMetadata):
// the same rules as a user's, with the organization commands' own error ids. They act on the
// caller's organization, or the one x-zitadel-orgid names (the administrator's choice); most tests
// use an organization of their own (v2 AddOrganization), since the administrator's is shared.
//
// Values are bytes: the tests set values that are not UTF-8 (JSON carries them as base64 with '+'
// and '/') and check that every transport hands back exactly the bytes set.
//
// Entries set in one request share their creation time; their relative order is by key as the
// database collates it (which differs between SQLite and PostgreSQL), so the tests assert no order
// among them. Entries set apart are made APART_MS apart: creation times are kept to the
// millisecond, and the times the writes answer (v2's setDate and deletionDate, v1's
// details.changeDate and sequence) are those same whole milliseconds.
//
// Who may do what: dev mode's administrator (an IAM_OWNER machine user, the PAT in
// <data-dir>/admin.pat) everything; an ORG_OWNER_VIEWER machine user (from the `tessera admin`
// CLI, as an operator makes it) reads and may not write; a human user through its own Identity
// Toolkit ID token its own metadata only (v2, and auth v1's "my" calls). Management v1 acts in the
// caller's organization (or the one x-zitadel-orgid names). An organization's metadata: every
// machine role reads it (org.read), IAM_OWNER and ORG_OWNER change it (org.write), a user through
// its own ID token does neither, and an ORG_OWNER reaches its own organization only.
//
// A refused call changes nothing: the user's (or organization's) metadata listed before and after
// is the same.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { Code } from '@connectrpc/connect';
import { createAuthServiceClient, createManagementServiceClient } from '@zitadel/client/v1';
import { createOrganizationServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { createAccessTokenInterceptor, createAuthClient, createManagementClient } from '@zitadel/node/dist/api/index.js';
import { TextFilterMethod as NodeTextFilterMethod } from '@zitadel/node/dist/api/generated/zitadel/filter/v2/filter.js';
import { TextQueryMethod as NodeTextQueryMethod } from '@zitadel/node/dist/api/generated/zitadel/object.js';
import { UserServiceDefinition as NodeUserServiceV2 } from '@zitadel/node/dist/api/generated/zitadel/user/v2/user_service.js';
import { TextFilterMethod } from '@zitadel/proto/zitadel/filter/v2/filter_pb.js';
import { TextQueryMethod } from '@zitadel/proto/zitadel/object_pb.js';
import { createChannel, createClientFactory, Metadata, Status } from 'nice-grpc';

import { assertGrpcError, assertZitadelError, idToken, machineUser, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, sleep, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const TRANSPORTS = zitadelTransports(tessera);

// Creation times are kept to the millisecond: entries set this far apart sort apart.
const APART_MS = 25;

const text = (s) => new TextEncoder().encode(s);
const hexOf = (bytes) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Not UTF-8: 0xfb/0xff/0xfe never occur in it, 0x80 and 0xbf are continuation bytes on their own,
 * 0xc0 0xaf is an overlong '/', 0xed 0xa0 0x80 a surrogate; with a NUL and a newline. Its base64
 * ("+/+/AIDAr/7toIAK") has both '+' and '/'.
 */
const BINARY = Uint8Array.from([0xfb, 0xff, 0xbf, 0x00, 0x80, 0xc0, 0xaf, 0xfe, 0xed, 0xa0, 0x80, 0x0a]);
const UTF8 = text('Zürich ✓ 日本 😀');

// ZITADEL's limits: keys of 1 to 200 characters, values of 1 to 500,000 bytes.
const MAX_KEY = 200;
const MAX_VALUE = 500_000;

const entry = (key, value) => ({ key, value: typeof value === 'string' ? text(value) : value });

// The filter oneofs, as @zitadel/client takes them.
const byKey = (key, method = TextFilterMethod.EQUALS) => ({ filter: { case: 'keyFilter', value: { key, method } } });
const byKeyV1 = (key, method = TextQueryMethod.EQUALS) => ({ query: { case: 'keyQuery', value: { key, method } } });

/** A Timestamp as milliseconds (a number). */
const millis = (timestamp) => Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);

/** v2 ListUserMetadata: the total and applied limit (numbers; the client's are bigints, checked here) and the keys in order. */
async function listV2(users, userId, request = {}) {
  const listed = await users.listUserMetadata({ userId, ...request });
  assert.equal(typeof listed.pagination?.totalResult, 'bigint', 'pagination.totalResult');
  assert.equal(typeof listed.pagination.appliedLimit, 'bigint', 'pagination.appliedLimit');
  return {
    total: Number(listed.pagination.totalResult),
    limit: Number(listed.pagination.appliedLimit),
    keys: listed.metadata.map((m) => m.key),
    metadata: listed.metadata,
  };
}

/** The keys v2 ListUserMetadata finds, oldest first, with the total checked to be what is listed. */
async function foundV2(users, userId, ...filters) {
  const { total, keys } = await listV2(users, userId, { pagination: { asc: true }, filters });
  assert.equal(total, keys.length, 'the total is what is listed');
  return keys;
}

/** key → hex of the value, of a list of entries (any version's), for comparisons without order. */
const valuesOf = (metadata) => Object.fromEntries(metadata.map((m) => [m.key, hexOf(m.value)]));

/** What the administrator's v2 ListUserMetadata shows of `userId`: the whole reply, to compare before and after. */
const snapshotOf = (users, userId) => () => users.listUserMetadata({ userId, pagination: { asc: true } });

/** Asserts that `call` is refused with ZITADEL's error and that it changed nothing `snapshot` shows. */
async function assertRefusedUnchanged(snapshot, call, code, message, id) {
  const before = await snapshot();
  await assertZitadelError(call(), code, message, id);
  assert.deepEqual(await snapshot(), before, 'nothing changed');
}

/** AddHumanUser (Ada Lovelace, a verified address, the test password) with `users`: { userId, email, org }. */
async function addHuman(users, { email = uniqueEmail('zitadel-metadata'), org } = {}) {
  const added = await users.addHumanUser({
    ...(org ? { organization: { org: { case: 'orgId', value: org } } } : {}),
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  assert.match(added.userId, /^\d+$/);
  assert.ok(added.details?.resourceOwner, 'details.resourceOwner');
  return { userId: added.userId, email, org: added.details.resourceOwner };
}

/** Sets each entry in its own request, APART_MS apart, so that they sort by creation time. */
async function setApart(users, userId, ...entries) {
  for (const [i, one] of entries.entries()) {
    if (i > 0) await sleep(APART_MS);
    await users.setUserMetadata({ userId, metadata: [one] });
  }
}

test('the non-UTF-8 value really is not UTF-8, and its base64 has both "+" and "/"', () => {
  assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(BINARY), TypeError);
  const base64 = Buffer.from(BINARY).toString('base64');
  assert.ok(base64.includes('+') && base64.includes('/'), base64);
});

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`v2 user metadata through @zitadel/client over ${name}`, () => {
    let users;

    before(() => {
      users = createUserServiceClient(transport(tessera.adminPat));
    });

    test('SetUserMetadata sets several entries in one request; ListUserMetadata hands back every value byte for byte, with one creation time', async () => {
      const { userId } = await addHuman(users);
      const before = Date.now();
      const set = await users.setUserMetadata({
        userId,
        metadata: [entry('binary', BINARY), entry('text', UTF8), entry('nul', Uint8Array.of(0)), entry('città 😀', 'x')],
      });
      assert.equal(set.$typeName, 'zitadel.user.v2.SetUserMetadataResponse');
      assert.ok(set.setDate, 'setDate');
      const setAt = millis(set.setDate);
      assert.ok(setAt >= before - 1000 && setAt <= Date.now() + 1000, `setDate is now, not ${setAt}`);

      const listed = await listV2(users, userId);
      assert.deepEqual({ total: listed.total, limit: listed.limit }, { total: 4, limit: 100 });
      assert.deepEqual(valuesOf(listed.metadata), {
        binary: hexOf(BINARY),
        text: hexOf(UTF8),
        nul: '00',
        'città 😀': hexOf(text('x')),
      });
      const [first] = listed.metadata;
      for (const m of listed.metadata) {
        assert.equal(m.$typeName, 'zitadel.metadata.v2.Metadata');
        assert.ok(m.value instanceof Uint8Array, 'value is bytes');
        assert.deepEqual(m.creationDate, first.creationDate, `${m.key}: one creation time for the request`);
        assert.deepEqual(m.changeDate, m.creationDate, `${m.key}: changed when created`);
      }
      // Kept to the millisecond: the request's setDate, to the millisecond.
      assert.equal(millis(first.creationDate), setAt);
    });

    test('setDate is exactly the creation and change date the entries it set carry, in whole milliseconds (ZITADEL answers the event date)', async () => {
      const { userId } = await addHuman(users);
      const { setDate } = await users.setUserMetadata({ userId, metadata: [entry('a', 'A'), entry('b', BINARY)] });
      assert.equal(setDate.nanos % 1e6, 0, `setDate ${setDate.seconds}.${setDate.nanos} is whole milliseconds`);
      const { metadata } = await listV2(users, userId);
      assert.equal(metadata.length, 2);
      for (const m of metadata) {
        assert.deepEqual(m.creationDate, setDate, `${m.key}.creationDate`);
        assert.deepEqual(m.changeDate, setDate, `${m.key}.changeDate`);
      }
      // A new value: the change date is the new request's setDate, the creation date the first's.
      await sleep(APART_MS);
      const changed = await users.setUserMetadata({ userId, metadata: [entry('a', 'A2')] });
      assert.ok(millis(changed.setDate) > millis(setDate), 'a later setDate');
      const [a] = (await listV2(users, userId, { filters: [byKey('a')] })).metadata;
      assert.deepEqual(a.creationDate, setDate, 'a.creationDate');
      assert.deepEqual(a.changeDate, changed.setDate, 'a.changeDate');
    });

    test('newest first by default; asc reverses; offset and limit page; the total counts every entry; appliedLimit is the limit or 100', async () => {
      const { userId } = await addHuman(users);
      await setApart(users, userId, entry('a', 'A'), entry('b', 'B'), entry('c', 'C'));
      const page = async (pagination) => {
        const { total, limit, keys } = await listV2(users, userId, pagination ? { pagination } : {});
        return { total, limit, keys };
      };
      assert.deepEqual(await page(), { total: 3, limit: 100, keys: ['c', 'b', 'a'] });
      assert.deepEqual(await page({ asc: true }), { total: 3, limit: 100, keys: ['a', 'b', 'c'] });
      assert.deepEqual(await page({ offset: 1n, limit: 1 }), { total: 3, limit: 1, keys: ['b'] });
      assert.deepEqual(await page({ offset: 0n, limit: 2, asc: true }), { total: 3, limit: 2, keys: ['a', 'b'] });
      assert.deepEqual(await page({ offset: 2n, limit: 5 }), { total: 3, limit: 5, keys: ['a'] });
      assert.deepEqual(await page({ offset: 3n }), { total: 3, limit: 100, keys: [] });
      const { metadata } = await listV2(users, userId, { pagination: { asc: true } });
      assert.ok(millis(metadata[0].creationDate) < millis(metadata[1].creationDate), 'a before b');
      assert.ok(millis(metadata[1].creationDate) < millis(metadata[2].creationDate), 'b before c');
    });

    test('a limit of 1000 (ZITADEL\'s largest page) is served; a limit over 1000 is InvalidArgument (QUERY-4M0fs), with or without filters', async () => {
      const { userId } = await addHuman(users);
      await users.setUserMetadata({ userId, metadata: [entry('k', 'v')] });
      const { total, limit, keys } = await listV2(users, userId, { pagination: { limit: 1000 } });
      assert.deepEqual({ total, limit, keys }, { total: 1, limit: 1000, keys: ['k'] });
      for (const request of [
        { pagination: { limit: 1001 } },
        { pagination: { offset: 1n, limit: 5000, asc: true } },
        { pagination: { limit: 4294967295 }, filters: [byKey('k')] },
      ]) {
        await assertRefusedUnchanged(
          snapshotOf(users, userId),
          () => users.listUserMetadata({ userId, ...request }),
          Code.InvalidArgument,
          'Limit exceeded',
          'QUERY-4M0fs',
        );
      }
    });

    test('AddHumanUser\'s metadata is the new user\'s: listed with one creation time (the user\'s), values byte for byte', async () => {
      const email = uniqueEmail('zitadel-metadata-add');
      const before = Date.now();
      const added = await users.addHumanUser({
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: { email, verification: { case: 'isVerified', value: true } },
        metadata: [entry('plan', 'pro'), entry('binary', BINARY), entry('text', UTF8)],
      });
      const listed = await listV2(users, added.userId);
      assert.equal(listed.total, 3);
      assert.deepEqual(valuesOf(listed.metadata), { plan: hexOf(text('pro')), binary: hexOf(BINARY), text: hexOf(UTF8) });
      const [first] = listed.metadata;
      const at = millis(first.creationDate);
      assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `created now, not ${at}`);
      for (const m of listed.metadata) {
        assert.deepEqual(m.creationDate, first.creationDate, `${m.key}: one creation time`);
        assert.deepEqual(m.changeDate, m.creationDate, `${m.key}: changed when created`);
      }
      const { user } = await users.getUserByID({ userId: added.userId });
      assert.deepEqual(first.creationDate, user.details.creationDate, 'created with the user');
      // They are metadata like any other: found by key, replaced, deleted.
      assert.deepEqual(await foundV2(users, added.userId, byKey('pl', TextFilterMethod.STARTS_WITH)), ['plan']);
      await users.deleteUserMetadata({ userId: added.userId, keys: ['plan', 'text'] });
      assert.deepEqual((await listV2(users, added.userId)).keys, ['binary']);
    });

    test('AddHumanUser with invalid metadata (an empty key or value, a key over 200 characters, next to good entries): InvalidArgument (META-2m00f), and no user is created', async () => {
      const withEmail = async (email) =>
        (
          await users.listUsers({ queries: [{ query: { case: 'emailQuery', value: { emailAddress: email } } }] })
        ).result.map((u) => u.userId);
      for (const metadata of [
        [entry('', 'v')],
        [entry('k', new Uint8Array())],
        [entry('k'.repeat(MAX_KEY + 1), 'v')],
        [entry('fine', 'v'), entry('empty', new Uint8Array())],
        [entry('big', new Uint8Array(MAX_VALUE + 1).fill(7))],
      ]) {
        const email = uniqueEmail('zitadel-metadata-bad');
        const request = {
          profile: { givenName: 'Ada', familyName: 'Lovelace' },
          email: { email, verification: { case: 'isVerified', value: true } },
          passwordType: { case: 'password', value: { password: PASSWORD } },
          metadata,
        };
        await assertZitadelError(users.addHumanUser(request), Code.InvalidArgument, 'Metadata is invalid', 'META-2m00f');
        assert.deepEqual(await withEmail(email), [], `no user of ${email}`);
        // The address is still free.
        const again = await addHuman(users, { email });
        assert.deepEqual(await withEmail(email), [again.userId]);
        assert.deepEqual((await listV2(users, again.userId)).keys, []);
      }
    });

    test('keyFilter: each TextFilterMethod, with LIKE\'s wildcards taken literally, and filters AND-ed', async () => {
      const { userId } = await addHuman(users);
      await setApart(
        users,
        userId,
        entry('colour', 'red'),
        entry('Country', 'CH'),
        entry('city', 'Zürich'),
        entry('a_b', '1'),
        entry('axb', '2'),
        entry('100%', '3'),
      );
      const found = (key, method, ...more) => foundV2(users, userId, byKey(key, method), ...more);
      const M = TextFilterMethod;
      assert.deepEqual(await found('Country', M.EQUALS), ['Country']);
      assert.deepEqual(await found('country', M.EQUALS), []);
      assert.deepEqual(await found('country', M.EQUALS_IGNORE_CASE), ['Country']);
      assert.deepEqual(await found('co', M.STARTS_WITH), ['colour']);
      assert.deepEqual(await found('co', M.STARTS_WITH_IGNORE_CASE), ['colour', 'Country']);
      assert.deepEqual(await found('t', M.CONTAINS), ['Country', 'city']);
      assert.deepEqual(await found('C', M.CONTAINS), ['Country']);
      assert.deepEqual(await found('C', M.CONTAINS_IGNORE_CASE), ['colour', 'Country', 'city']);
      assert.deepEqual(await found('y', M.ENDS_WITH), ['Country', 'city']);
      assert.deepEqual(await found('R', M.ENDS_WITH), []);
      assert.deepEqual(await found('R', M.ENDS_WITH_IGNORE_CASE), ['colour']);
      // '_' and '%' are characters, not LIKE's wildcards.
      assert.deepEqual(await found('a_', M.STARTS_WITH), ['a_b']);
      assert.deepEqual(await found('_', M.CONTAINS), ['a_b']);
      assert.deepEqual(await found('%', M.ENDS_WITH), ['100%']);
      assert.deepEqual(await found('%', M.EQUALS), []);
      // An empty key contains in every key.
      assert.deepEqual(await found('', M.CONTAINS), ['colour', 'Country', 'city', 'a_b', 'axb', '100%']);
      // Every filter must match.
      assert.deepEqual(await found('c', M.STARTS_WITH_IGNORE_CASE, byKey('y', M.ENDS_WITH)), ['Country', 'city']);
      assert.deepEqual(
        await found('c', M.STARTS_WITH_IGNORE_CASE, byKey('y', M.ENDS_WITH), byKey('o', M.CONTAINS)),
        ['Country'],
      );
      assert.deepEqual(await found('colour', M.EQUALS, byKey('city', M.EQUALS)), []);
      // Filters and paging: the total counts the matches, the page is a part of them.
      const paged = await listV2(users, userId, {
        pagination: { offset: 1n, limit: 1 },
        filters: [byKey('c', M.STARTS_WITH_IGNORE_CASE)],
      });
      assert.deepEqual({ total: paged.total, keys: paged.keys }, { total: 3, keys: ['Country'] });
      // The entries found are the entries, values and all.
      const { metadata } = await listV2(users, userId, { filters: [byKey('city')] });
      assert.equal(new TextDecoder().decode(metadata[0].value), 'Zürich');
    });

    test('setting a key again: a new value replaces the value and the change date, the same value changes nothing; in one request the last entry of a key wins', async () => {
      const { userId } = await addHuman(users);
      await users.setUserMetadata({ userId, metadata: [entry('plan', 'free'), entry('seats', '1')] });
      const [original] = (await listV2(users, userId, { filters: [byKey('plan')] })).metadata;
      const [seats] = (await listV2(users, userId, { filters: [byKey('seats')] })).metadata;

      await sleep(APART_MS);
      await users.setUserMetadata({ userId, metadata: [entry('plan', BINARY)] });
      const [replaced] = (await listV2(users, userId, { filters: [byKey('plan')] })).metadata;
      assert.equal(hexOf(replaced.value), hexOf(BINARY));
      assert.deepEqual(replaced.creationDate, original.creationDate);
      assert.ok(millis(replaced.changeDate) > millis(original.changeDate), 'changeDate moved on');

      // The same value again, alone or next to a new one: the unchanged entries keep their dates.
      await sleep(APART_MS);
      await users.setUserMetadata({ userId, metadata: [entry('plan', BINARY)] });
      await users.setUserMetadata({ userId, metadata: [entry('seats', '1'), entry('plan', BINARY), entry('tier', 'gold')] });
      const after = await listV2(users, userId, { pagination: { asc: true } });
      // plan and seats were created together, tier after them.
      assert.equal(after.total, 3);
      assert.deepEqual(after.keys.slice(0, 2).sort(), ['plan', 'seats']);
      const byName = Object.fromEntries(after.metadata.map((m) => [m.key, m]));
      assert.deepEqual(byName.plan, replaced);
      assert.deepEqual(byName.seats, seats);
      assert.ok(millis(byName.tier.creationDate) > millis(replaced.changeDate), 'tier is new');
      assert.equal(after.keys.at(-1), 'tier', 'the newest entry last in ascending order');

      // One request setting a key twice: the last value is kept.
      await users.setUserMetadata({ userId, metadata: [entry('twice', 'first'), entry('twice', 'second')] });
      const { metadata: [twice], total } = await listV2(users, userId, { filters: [byKey('twice')] });
      assert.equal(total, 1);
      assert.equal(new TextDecoder().decode(twice.value), 'second');
    });

    test('the longest key (200 characters, counted as characters) and the largest value (500,000 bytes) are kept exactly', async () => {
      const { userId } = await addHuman(users);
      const large = randomBytes(MAX_VALUE);
      const keys = ['é'.repeat(MAX_KEY), '😀'.repeat(MAX_KEY), 'k'.repeat(MAX_KEY)];
      await users.setUserMetadata({ userId, metadata: [entry(keys[0], BINARY), entry(keys[1], UTF8), entry(keys[2], large)] });
      const { metadata, total } = await listV2(users, userId);
      assert.equal(total, 3);
      const byName = Object.fromEntries(metadata.map((m) => [m.key, m.value]));
      assert.deepEqual(Object.keys(byName).sort(), [...keys].sort());
      assert.equal(hexOf(byName[keys[0]]), hexOf(BINARY));
      assert.equal(hexOf(byName[keys[1]]), hexOf(UTF8));
      assert.equal(byName[keys[2]].length, MAX_VALUE);
      assert.equal(sha256(byName[keys[2]]), sha256(large));
    });

    test('DeleteUserMetadata removes the keys named (a key named twice once), and answers the deletion date, in whole milliseconds', async () => {
      const { userId } = await addHuman(users);
      const { setDate } = await users.setUserMetadata({ userId, metadata: [entry('a', 'A'), entry('b', BINARY), entry('c', 'C')] });
      const before = Date.now();
      const deleted = await users.deleteUserMetadata({ userId, keys: ['a', 'c'] });
      assert.equal(deleted.$typeName, 'zitadel.user.v2.DeleteUserMetadataResponse');
      const at = millis(deleted.deletionDate);
      assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `deletionDate is now, not ${at}`);
      const { seconds, nanos } = deleted.deletionDate;
      assert.equal(nanos % 1e6, 0, `deletionDate ${seconds}.${nanos} is whole milliseconds`);
      assert.ok(at >= millis(setDate), 'deleted no earlier than set');
      const left = await listV2(users, userId);
      assert.deepEqual(valuesOf(left.metadata), { b: hexOf(BINARY) });
      assert.equal(left.total, 1);
      await users.deleteUserMetadata({ userId, keys: ['b', 'b'] });
      assert.deepEqual(await listV2(users, userId), { total: 0, limit: 100, keys: [], metadata: [] });
    });

    test('SetUserMetadata refusals: no entries FailedPrecondition (META-9mm2d); an empty key, an empty value or a key over 200 characters, alone or next to good entries, InvalidArgument (META-2m00f); nothing changed', async () => {
      const { userId } = await addHuman(users);
      await users.setUserMetadata({ userId, metadata: [entry('kept', BINARY)] });
      const snapshot = snapshotOf(users, userId);
      await assertRefusedUnchanged(
        snapshot,
        () => users.setUserMetadata({ userId, metadata: [] }),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mm2d',
      );
      for (const metadata of [
        [entry('', 'v')],
        [entry('k', new Uint8Array())],
        [entry('k'.repeat(MAX_KEY + 1), 'v')],
        [entry('é'.repeat(MAX_KEY + 1), 'v')],
        [entry('fine', 'v'), entry('kept', 'new'), entry('empty', new Uint8Array())],
        [entry('kept', 'new'), entry('', 'v')],
      ]) {
        await assertRefusedUnchanged(
          snapshot,
          () => users.setUserMetadata({ userId, metadata }),
          Code.InvalidArgument,
          'Metadata is invalid',
          'META-2m00f',
        );
      }
      const { metadata } = await snapshot();
      assert.deepEqual(valuesOf(metadata), { kept: hexOf(BINARY) });
    });

    test('a value over 500,000 bytes: InvalidArgument (META-2m00f), nothing changed', async () => {
      const { userId } = await addHuman(users);
      await users.setUserMetadata({ userId, metadata: [entry('kept', 'v')] });
      await assertRefusedUnchanged(
        snapshotOf(users, userId),
        () => users.setUserMetadata({ userId, metadata: [entry('big', new Uint8Array(MAX_VALUE + 1).fill(7))] }),
        Code.InvalidArgument,
        'Metadata is invalid',
        'META-2m00f',
      );
    });

    test('DeleteUserMetadata refusals: no keys FailedPrecondition (META-9mm2d), an empty key InvalidArgument (COMMAND-m29ds), a key not set NotFound (META-2nnds); all or none, nothing changed', async () => {
      const { userId } = await addHuman(users);
      await users.setUserMetadata({ userId, metadata: [entry('kept', 'v'), entry('other', BINARY)] });
      const snapshot = snapshotOf(users, userId);
      await assertRefusedUnchanged(
        snapshot,
        () => users.deleteUserMetadata({ userId, keys: [] }),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mm2d',
      );
      for (const keys of [[''], ['kept', '']]) {
        await assertRefusedUnchanged(
          snapshot,
          () => users.deleteUserMetadata({ userId, keys }),
          Code.InvalidArgument,
          'Metadata is invalid',
          'COMMAND-m29ds',
        );
      }
      for (const keys of [['missing'], ['kept', 'missing'], ['kept', 'other', 'KEPT']]) {
        await assertRefusedUnchanged(
          snapshot,
          () => users.deleteUserMetadata({ userId, keys }),
          Code.NotFound,
          'One or more keys do not exist',
          'META-2nnds',
        );
      }
      assert.deepEqual((await listV2(users, userId)).total, 2);
    });

    test('a user that does not exist: SetUserMetadata and DeleteUserMetadata FailedPrecondition (COMMAND-uXHNj); ListUserMetadata finds nothing', async () => {
      const nobody = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
      await assertZitadelError(
        users.setUserMetadata({ userId: nobody, metadata: [entry('k', 'v')] }),
        Code.FailedPrecondition,
        'User could not be found',
        'COMMAND-uXHNj',
      );
      await assertZitadelError(
        users.deleteUserMetadata({ userId: nobody, keys: ['k'] }),
        Code.FailedPrecondition,
        'User could not be found',
        'COMMAND-uXHNj',
      );
      assert.deepEqual(await listV2(users, nobody), { total: 0, limit: 100, keys: [], metadata: [] });
    });

    test('v2 addresses users across organizations: the administrator sets, lists and deletes metadata of another organization\'s user', async () => {
      const management = createManagementServiceClient(transport(tessera.adminPat));
      const globex = await management.addOrg({ name: `Globex ${hex()}` });
      const hank = await addHuman(users, { org: globex.id });
      assert.equal(hank.org, globex.id);
      await users.setUserMetadata({ userId: hank.userId, metadata: [entry('badge', BINARY), entry('floor', '3')] });
      const listed = await listV2(users, hank.userId);
      assert.deepEqual(valuesOf(listed.metadata), { badge: hexOf(BINARY), floor: hexOf(text('3')) });
      await users.deleteUserMetadata({ userId: hank.userId, keys: ['floor'] });
      assert.deepEqual((await listV2(users, hank.userId)).keys, ['badge']);
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`management v1 user metadata through @zitadel/client over ${name}`, () => {
    let users; // v2, to add users and to look at the metadata as v2 shows it
    let management;

    before(() => {
      users = createUserServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
    });

    test('SetUserMetadata answers the user id and details of the caller\'s organization; GetUserMetadata hands back the value byte for byte, with its dates', async () => {
      const { userId, org } = await addHuman(users);
      const set = await management.setUserMetadata({ id: userId, key: 'binary', value: BINARY });
      assert.equal(set.$typeName, 'zitadel.management.v1.SetUserMetadataResponse');
      assert.equal(set.id, userId);
      assert.equal(set.details?.resourceOwner, org);
      assert.ok(set.details.changeDate, 'details.changeDate');
      assert.equal(typeof set.details.sequence, 'bigint');

      const { metadata } = await management.getUserMetadata({ id: userId, key: 'binary' });
      assert.equal(metadata?.$typeName, 'zitadel.metadata.v1.Metadata');
      assert.equal(metadata.key, 'binary');
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
      assert.equal(metadata.details?.resourceOwner, org);
      assert.deepEqual(metadata.details.changeDate, metadata.details.creationDate);
      // (That the answer's details are exactly the entry's is the next test.)
      assert.ok(millis(set.details.changeDate) >= millis(metadata.details.changeDate), 'answered after the entry was set');

      // v2 shows the same entry with the same dates.
      const [v2] = (await listV2(users, userId)).metadata;
      assert.equal(v2.key, 'binary');
      assert.equal(hexOf(v2.value), hexOf(BINARY));
      assert.deepEqual(v2.creationDate, metadata.details.creationDate);
      assert.deepEqual(v2.changeDate, metadata.details.changeDate);
    });

    test('SetUserMetadata and BulkSetUserMetadata answer the details of the entry they set: changeDate and sequence (its milliseconds) as GetUserMetadata and ListUserMetadata show them (ZITADEL answers the event\'s)', async () => {
      const { userId } = await addHuman(users);
      const set = await management.setUserMetadata({ id: userId, key: 'one', value: BINARY });
      await sleep(APART_MS);
      const bulk = await management.bulkSetUserMetadata({ id: userId, metadata: [entry('two', 'v'), entry('three', UTF8)] });
      const listed = await management.listUserMetadata({ id: userId });
      const listedDetails = Object.fromEntries(listed.result.map((m) => [m.key, m.details]));
      for (const [key, answered] of [['one', set.details], ['two', bulk.details], ['three', bulk.details]]) {
        const { metadata } = await management.getUserMetadata({ id: userId, key });
        assert.deepEqual(answered?.changeDate, metadata.details.changeDate, `${key}: changeDate`);
        assert.equal(answered.sequence, metadata.details.sequence, `${key}: sequence`);
        assert.equal(answered.sequence, BigInt(millis(answered.changeDate)), `${key}: the sequence is the change date in milliseconds`);
        assert.equal(answered.changeDate.nanos % 1e6, 0, `${key}: whole milliseconds`);
        assert.deepEqual(listedDetails[key].changeDate, answered.changeDate, `${key}: listed changeDate`);
        assert.equal(listedDetails[key].sequence, answered.sequence, `${key}: listed sequence`);
      }
      // A new value: the answer is the entry's new change date; its creation date stays.
      await sleep(APART_MS);
      const again = await management.setUserMetadata({ id: userId, key: 'one', value: text('new') });
      const { metadata: one } = await management.getUserMetadata({ id: userId, key: 'one' });
      assert.deepEqual(one.details.changeDate, again.details.changeDate);
      assert.equal(one.details.sequence, again.details.sequence);
      assert.ok(millis(again.details.changeDate) > millis(set.details.changeDate), 'changed later');
      assert.deepEqual(one.details.creationDate, set.details.changeDate, 'created when first set');
    });

    test('RemoveUserMetadata and BulkRemoveUserMetadata answer the removal\'s details: changeDate in whole milliseconds, sequence its milliseconds, no earlier than the entries\' change', async () => {
      const { userId, org } = await addHuman(users);
      const set = await management.bulkSetUserMetadata({ id: userId, metadata: [entry('a', 'A'), entry('b', BINARY), entry('c', 'C')] });
      const before = Date.now();
      const removed = await management.removeUserMetadata({ id: userId, key: 'a' });
      const bulk = await management.bulkRemoveUserMetadata({ id: userId, keys: ['b', 'c'] });
      for (const [name, details] of [['RemoveUserMetadata', removed.details], ['BulkRemoveUserMetadata', bulk.details]]) {
        assert.equal(details?.resourceOwner, org, `${name}: resourceOwner`);
        const at = millis(details.changeDate);
        assert.equal(details.changeDate.nanos % 1e6, 0, `${name}: whole milliseconds`);
        assert.equal(details.sequence, BigInt(at), `${name}: the sequence is the change date in milliseconds`);
        assert.ok(at >= millis(set.details.changeDate), `${name}: not before the entries were set`);
        assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `${name}: now, not ${at}`);
      }
      assert.ok(millis(bulk.details.changeDate) >= millis(removed.details.changeDate), 'in the order made');
      assert.deepEqual((await listV2(users, userId)).keys, []);
    });

    test('BulkSetUserMetadata sets several at once; ListUserMetadata lists them with details, newest first unless asc, paged, the total counting all', async () => {
      const { userId, org } = await addHuman(users);
      await management.setUserMetadata({ id: userId, key: 'language', value: text('en') });
      await sleep(APART_MS);
      const bulk = await management.bulkSetUserMetadata({
        id: userId,
        metadata: [entry('plan', BINARY), entry('seats', UTF8)],
      });
      assert.equal(bulk.$typeName, 'zitadel.management.v1.BulkSetUserMetadataResponse');
      assert.equal(bulk.details?.resourceOwner, org);
      await sleep(APART_MS);
      await management.setUserMetadata({ id: userId, key: 'zone', value: text('UTC') });

      const listed = await management.listUserMetadata({ id: userId });
      assert.equal(listed.$typeName, 'zitadel.management.v1.ListUserMetadataResponse');
      assert.equal(listed.details?.totalResult, 4n);
      assert.ok(listed.details.viewTimestamp?.seconds > 0n, 'details.viewTimestamp');
      const keys = listed.result.map((m) => m.key);
      assert.equal(keys[0], 'zone');
      assert.deepEqual(keys.slice(1, 3).sort(), ['plan', 'seats']);
      assert.equal(keys[3], 'language');
      assert.deepEqual(valuesOf(listed.result), {
        language: hexOf(text('en')),
        plan: hexOf(BINARY),
        seats: hexOf(UTF8),
        zone: hexOf(text('UTC')),
      });
      for (const m of listed.result) {
        assert.equal(m.$typeName, 'zitadel.metadata.v1.Metadata');
        assert.equal(m.details?.resourceOwner, org);
        assert.deepEqual(m.details.changeDate, m.details.creationDate);
      }
      const [, plan, seats] = listed.result;
      assert.deepEqual(plan.details.creationDate, seats.details.creationDate, 'one creation time for the bulk request');

      const page = async (query) => {
        const { details, result } = await management.listUserMetadata({ id: userId, query });
        return { total: Number(details.totalResult), keys: result.map((m) => m.key) };
      };
      assert.deepEqual((await page({ asc: true })).keys.at(0), 'language');
      assert.deepEqual((await page({ asc: true })).keys.at(-1), 'zone');
      assert.deepEqual(await page({ offset: 3n, limit: 1 }), { total: 4, keys: ['language'] });
      assert.deepEqual(await page({ offset: 0n, limit: 1, asc: true }), { total: 4, keys: ['language'] });
      assert.deepEqual(await page({ offset: 4n }), { total: 4, keys: [] });
      assert.equal((await page({ offset: 1n, limit: 2 })).keys.length, 2);
    });

    test('keyQuery: each TextQueryMethod, and queries AND-ed', async () => {
      const { userId } = await addHuman(users);
      for (const [key, value] of [['colour', 'red'], ['Country', 'CH'], ['city', 'Zürich']]) {
        await management.setUserMetadata({ id: userId, key, value: text(value) });
        await sleep(APART_MS);
      }
      const found = async (...queries) => {
        const { details, result } = await management.listUserMetadata({ id: userId, query: { asc: true }, queries });
        assert.equal(Number(details.totalResult), result.length);
        return result.map((m) => m.key);
      };
      const M = TextQueryMethod;
      assert.deepEqual(await found(byKeyV1('Country')), ['Country']);
      assert.deepEqual(await found(byKeyV1('country')), []);
      assert.deepEqual(await found(byKeyV1('country', M.EQUALS_IGNORE_CASE)), ['Country']);
      assert.deepEqual(await found(byKeyV1('co', M.STARTS_WITH)), ['colour']);
      assert.deepEqual(await found(byKeyV1('co', M.STARTS_WITH_IGNORE_CASE)), ['colour', 'Country']);
      assert.deepEqual(await found(byKeyV1('t', M.CONTAINS)), ['Country', 'city']);
      assert.deepEqual(await found(byKeyV1('C', M.CONTAINS_IGNORE_CASE)), ['colour', 'Country', 'city']);
      assert.deepEqual(await found(byKeyV1('y', M.ENDS_WITH)), ['Country', 'city']);
      assert.deepEqual(await found(byKeyV1('R', M.ENDS_WITH_IGNORE_CASE)), ['colour']);
      assert.deepEqual(await found(byKeyV1('c', M.STARTS_WITH), byKeyV1('y', M.ENDS_WITH)), ['city']);
      assert.deepEqual(await found(byKeyV1('c', M.STARTS_WITH), byKeyV1('o', M.CONTAINS)), ['colour']);
    });

    test('SetUserMetadata again: a new value replaces it and its change date, the same value changes nothing', async () => {
      const { userId } = await addHuman(users);
      await management.setUserMetadata({ id: userId, key: 'plan', value: text('free') });
      const { metadata: original } = await management.getUserMetadata({ id: userId, key: 'plan' });
      await sleep(APART_MS);
      await management.setUserMetadata({ id: userId, key: 'plan', value: BINARY });
      const { metadata: replaced } = await management.getUserMetadata({ id: userId, key: 'plan' });
      assert.equal(hexOf(replaced.value), hexOf(BINARY));
      assert.deepEqual(replaced.details.creationDate, original.details.creationDate);
      assert.ok(millis(replaced.details.changeDate) > millis(original.details.changeDate), 'changeDate moved on');
      await sleep(APART_MS);
      await management.setUserMetadata({ id: userId, key: 'plan', value: BINARY });
      await management.bulkSetUserMetadata({ id: userId, metadata: [entry('plan', BINARY)] });
      const { metadata: again } = await management.getUserMetadata({ id: userId, key: 'plan' });
      assert.deepEqual(again, replaced);
    });

    test('RemoveUserMetadata removes one key; GetUserMetadata of it is NotFound (QUERY-Rgh32), removing it again NotFound (META-ncnw3), an empty key InvalidArgument (META-2n0fs); nothing changed', async () => {
      const { userId, org } = await addHuman(users);
      await management.bulkSetUserMetadata({ id: userId, metadata: [entry('language', 'en'), entry('kept', BINARY)] });
      const removed = await management.removeUserMetadata({ id: userId, key: 'language' });
      assert.equal(removed.$typeName, 'zitadel.management.v1.RemoveUserMetadataResponse');
      assert.equal(removed.details?.resourceOwner, org);
      const snapshot = snapshotOf(users, userId);
      assert.deepEqual(valuesOf((await snapshot()).metadata), { kept: hexOf(BINARY) });
      await assertRefusedUnchanged(
        snapshot,
        () => management.getUserMetadata({ id: userId, key: 'language' }),
        Code.NotFound,
        'Metadata not found',
        'QUERY-Rgh32',
      );
      // Keys are matched exactly.
      await assertRefusedUnchanged(
        snapshot,
        () => management.getUserMetadata({ id: userId, key: 'KEPT' }),
        Code.NotFound,
        'Metadata not found',
        'QUERY-Rgh32',
      );
      for (const key of ['language', 'KEPT']) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.removeUserMetadata({ id: userId, key }),
          Code.NotFound,
          'Metadata not found',
          'META-ncnw3',
        );
      }
      await assertRefusedUnchanged(
        snapshot,
        () => management.removeUserMetadata({ id: userId, key: '' }),
        Code.InvalidArgument,
        'Metadata is invalid',
        'META-2n0fs',
      );
    });

    test('BulkRemoveUserMetadata removes the keys named; no keys FailedPrecondition (META-9mm2d), an empty key InvalidArgument (COMMAND-m29ds), a key not set NotFound (META-2nnds); all or none, nothing changed', async () => {
      const { userId, org } = await addHuman(users);
      await management.bulkSetUserMetadata({
        id: userId,
        metadata: [entry('a', 'A'), entry('b', BINARY), entry('c', 'C'), entry('d', 'D')],
      });
      const removed = await management.bulkRemoveUserMetadata({ id: userId, keys: ['a', 'c'] });
      assert.equal(removed.$typeName, 'zitadel.management.v1.BulkRemoveUserMetadataResponse');
      assert.equal(removed.details?.resourceOwner, org);
      const snapshot = snapshotOf(users, userId);
      assert.deepEqual(valuesOf((await snapshot()).metadata), { b: hexOf(BINARY), d: hexOf(text('D')) });
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkRemoveUserMetadata({ id: userId, keys: [] }),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mm2d',
      );
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkRemoveUserMetadata({ id: userId, keys: ['b', ''] }),
        Code.InvalidArgument,
        'Metadata is invalid',
        'COMMAND-m29ds',
      );
      for (const keys of [['a'], ['b', 'd', 'a']]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.bulkRemoveUserMetadata({ id: userId, keys }),
          Code.NotFound,
          'One or more keys do not exist',
          'META-2nnds',
        );
      }
      await management.bulkRemoveUserMetadata({ id: userId, keys: ['d', 'b'] });
      const { details, result } = await management.listUserMetadata({ id: userId });
      assert.deepEqual({ total: details?.totalResult, result }, { total: 0n, result: [] });
    });

    test('set refusals: an empty key, an empty value or a key over 200 characters InvalidArgument (META-2m00f); BulkSetUserMetadata of nothing FailedPrecondition (META-9mm2d), with one bad entry InvalidArgument; a user not there FailedPrecondition (COMMAND-uXHNj) on every write; nothing changed', async () => {
      const { userId } = await addHuman(users);
      await management.setUserMetadata({ id: userId, key: 'kept', value: BINARY });
      const snapshot = snapshotOf(users, userId);
      for (const [key, value] of [
        ['', text('v')],
        ['kept', new Uint8Array()],
        ['k'.repeat(MAX_KEY + 1), text('v')],
      ]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.setUserMetadata({ id: userId, key, value }),
          Code.InvalidArgument,
          'Metadata is invalid',
          'META-2m00f',
        );
      }
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkSetUserMetadata({ id: userId, metadata: [] }),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mm2d',
      );
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkSetUserMetadata({ id: userId, metadata: [entry('kept', 'new'), entry('fine', 'v'), entry('', 'v')] }),
        Code.InvalidArgument,
        'Metadata is invalid',
        'META-2m00f',
      );
      const nobody = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
      for (const call of [
        () => management.setUserMetadata({ id: nobody, key: 'k', value: text('v') }),
        () => management.bulkSetUserMetadata({ id: nobody, metadata: [entry('k', 'v')] }),
        () => management.removeUserMetadata({ id: nobody, key: 'k' }),
        () => management.bulkRemoveUserMetadata({ id: nobody, keys: ['k'] }),
      ]) {
        await assertZitadelError(call(), Code.FailedPrecondition, 'User could not be found', 'COMMAND-uXHNj');
      }
      // Reading: an empty list, and no entry to get.
      const { details, result } = await management.listUserMetadata({ id: nobody });
      assert.deepEqual({ total: details?.totalResult, result }, { total: 0n, result: [] });
      await assertZitadelError(
        management.getUserMetadata({ id: nobody, key: 'k' }),
        Code.NotFound,
        'Metadata not found',
        'QUERY-Rgh32',
      );
      assert.deepEqual(valuesOf((await snapshot()).metadata), { kept: hexOf(BINARY) });
    });

    test('v1 acts in the caller\'s organization: another organization\'s user is not found, unless x-zitadel-orgid names its organization', async () => {
      const globex = await management.addOrg({ name: `Globex ${hex()}` });
      const hank = await addHuman(users, { org: globex.id });
      await users.setUserMetadata({ userId: hank.userId, metadata: [entry('badge', BINARY)] });
      const snapshot = snapshotOf(users, hank.userId);

      // In the administrator's own organization: none of Hank's metadata, and no Hank to set it on.
      const { details, result } = await management.listUserMetadata({ id: hank.userId });
      assert.deepEqual({ total: details?.totalResult, result }, { total: 0n, result: [] });
      await assertRefusedUnchanged(
        snapshot,
        () => management.getUserMetadata({ id: hank.userId, key: 'badge' }),
        Code.NotFound,
        'Metadata not found',
        'QUERY-Rgh32',
      );
      for (const call of [
        () => management.setUserMetadata({ id: hank.userId, key: 'floor', value: text('3') }),
        () => management.bulkSetUserMetadata({ id: hank.userId, metadata: [entry('floor', '3')] }),
        () => management.removeUserMetadata({ id: hank.userId, key: 'badge' }),
        () => management.bulkRemoveUserMetadata({ id: hank.userId, keys: ['badge'] }),
      ]) {
        await assertRefusedUnchanged(snapshot, call, Code.FailedPrecondition, 'User could not be found', 'COMMAND-uXHNj');
      }

      // In Globex: all of it.
      const headers = { 'x-zitadel-orgid': globex.id };
      const set = await management.setUserMetadata({ id: hank.userId, key: 'floor', value: text('3') }, { headers });
      assert.equal(set.details?.resourceOwner, globex.id);
      const { metadata } = await management.getUserMetadata({ id: hank.userId, key: 'badge' }, { headers });
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
      assert.equal(metadata.details?.resourceOwner, globex.id);
      const listed = await management.listUserMetadata({ id: hank.userId, query: { asc: true } }, { headers });
      assert.deepEqual(listed.result.map((m) => m.key), ['badge', 'floor']);
      await management.bulkRemoveUserMetadata({ id: hank.userId, keys: ['badge', 'floor'] }, { headers });
      assert.deepEqual((await listV2(users, hank.userId)).keys, []);
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`who may read and write user metadata through @zitadel/client over ${name}`, () => {
    let admin; // v2 user service clients by caller
    let adminV1; // management v1 clients by caller
    let viewer;
    let viewerV1;
    let adaSelf;
    let ada; // { userId, email, org }
    let grace;

    before(async () => {
      admin = createUserServiceClient(transport(tessera.adminPat));
      adminV1 = createManagementServiceClient(transport(tessera.adminPat));
      ada = await addHuman(admin);
      grace = await addHuman(admin);
      await admin.setUserMetadata({ userId: grace.userId, metadata: [entry('k', BINARY), entry('team', 'ops')] });
      const { pat } = machineUser(tessera, grace.org, 'ORG_OWNER_VIEWER');
      viewer = createUserServiceClient(transport(pat));
      viewerV1 = createManagementServiceClient(transport(pat));
      adaSelf = createUserServiceClient(transport(await idToken(tessera, ada.email)));
    });

    test('an ORG_OWNER_VIEWER machine user lists (v2 and v1) and gets (v1) what the administrator does', async () => {
      const asAdmin = await admin.listUserMetadata({ userId: grace.userId });
      assert.deepEqual(await viewer.listUserMetadata({ userId: grace.userId }), asAdmin);
      const filtered = { userId: grace.userId, filters: [byKey('team')] };
      assert.deepEqual(await viewer.listUserMetadata(filtered), await admin.listUserMetadata(filtered));
      const v1 = await viewerV1.listUserMetadata({ id: grace.userId });
      assert.equal(v1.details?.totalResult, 2n);
      assert.deepEqual(valuesOf(v1.result), valuesOf(asAdmin.metadata));
      const { metadata } = await viewerV1.getUserMetadata({ id: grace.userId, key: 'k' });
      assert.deepEqual(metadata, (await adminV1.getUserMetadata({ id: grace.userId, key: 'k' })).metadata);
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
    });

    test('an ORG_OWNER_VIEWER machine user may not write: every set and delete, v2 and v1, PermissionDenied (AUTH-5mWD2), nothing changed', async () => {
      const snapshot = snapshotOf(admin, grace.userId);
      const denied = ['No matching permissions found', 'AUTH-5mWD2'];
      for (const call of [
        () => viewer.setUserMetadata({ userId: grace.userId, metadata: [entry('k', 'new')] }),
        () => viewer.setUserMetadata({ userId: grace.userId, metadata: [entry('new', 'v')] }),
        () => viewer.deleteUserMetadata({ userId: grace.userId, keys: ['k'] }),
        () => viewerV1.setUserMetadata({ id: grace.userId, key: 'k', value: text('new') }),
        () => viewerV1.bulkSetUserMetadata({ id: grace.userId, metadata: [entry('new', 'v')] }),
        () => viewerV1.removeUserMetadata({ id: grace.userId, key: 'k' }),
        () => viewerV1.bulkRemoveUserMetadata({ id: grace.userId, keys: ['k', 'team'] }),
      ]) {
        await assertRefusedUnchanged(snapshot, call, Code.PermissionDenied, ...denied);
      }
    });

    test('a user with its own ID token sets, lists and deletes its own metadata (v2)', async () => {
      const set = await adaSelf.setUserMetadata({ userId: ada.userId, metadata: [entry('theme', 'dark'), entry('blob', BINARY)] });
      assert.ok(set.setDate, 'setDate');
      const own = await adaSelf.listUserMetadata({ userId: ada.userId });
      assert.equal(own.pagination?.totalResult, 2n);
      assert.deepEqual(valuesOf(own.metadata), { theme: hexOf(text('dark')), blob: hexOf(BINARY) });
      assert.deepEqual(own, await admin.listUserMetadata({ userId: ada.userId }));
      assert.deepEqual(
        (await adaSelf.listUserMetadata({ userId: ada.userId, filters: [byKey('th', TextFilterMethod.STARTS_WITH)] })).metadata.map(
          (m) => m.key,
        ),
        ['theme'],
      );
      await adaSelf.deleteUserMetadata({ userId: ada.userId, keys: ['theme'] });
      assert.deepEqual(valuesOf((await admin.listUserMetadata({ userId: ada.userId })).metadata), { blob: hexOf(BINARY) });
    });

    test('a user with its own ID token may not list, set or delete another user\'s metadata: PermissionDenied (AUTH-5mWD2), nothing changed', async () => {
      const snapshot = snapshotOf(admin, grace.userId);
      for (const call of [
        () => adaSelf.listUserMetadata({ userId: grace.userId }),
        () => adaSelf.setUserMetadata({ userId: grace.userId, metadata: [entry('k', 'new')] }),
        () => adaSelf.deleteUserMetadata({ userId: grace.userId, keys: ['k'] }),
      ]) {
        await assertRefusedUnchanged(snapshot, call, Code.PermissionDenied, 'No matching permissions found', 'AUTH-5mWD2');
      }
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`auth v1's own metadata (ListMyMetadata, GetMyMetadata) through @zitadel/client over ${name}`, () => {
    let users; // the administrator's v2 user service
    let management; // the administrator's management v1
    let me; // auth v1 with Ada's own ID token
    let ada;

    before(async () => {
      users = createUserServiceClient(transport(tessera.adminPat));
      management = createManagementServiceClient(transport(tessera.adminPat));
      ada = await addHuman(users);
      const grace = await addHuman(users);
      await users.setUserMetadata({ userId: grace.userId, metadata: [entry('secret', 'grace'), entry('theme', 'light')] });
      await setApart(users, ada.userId, entry('theme', 'dark'), entry('blob', BINARY), entry('zone', UTF8));
      me = createAuthServiceClient(transport(await idToken(tessera, ada.email)));
    });

    test('ListMyMetadata lists the signed-in user\'s own entries as management v1\'s ListUserMetadata does: values byte for byte, details, order, paging and key queries', async () => {
      const mine = await me.listMyMetadata({});
      assert.equal(mine.$typeName, 'zitadel.auth.v1.ListMyMetadataResponse');
      assert.equal(mine.details?.totalResult, 3n);
      assert.ok(mine.details.viewTimestamp?.seconds > 0n, 'details.viewTimestamp');
      assert.deepEqual(mine.result.map((m) => m.key), ['zone', 'blob', 'theme'], 'newest first');
      assert.deepEqual(valuesOf(mine.result), { theme: hexOf(text('dark')), blob: hexOf(BINARY), zone: hexOf(UTF8) });
      for (const m of mine.result) {
        assert.equal(m.$typeName, 'zitadel.metadata.v1.Metadata');
        assert.equal(m.details?.resourceOwner, ada.org);
      }
      const M = TextQueryMethod;
      for (const request of [
        {},
        { query: { asc: true } },
        { query: { offset: 1n, limit: 1 } },
        { query: { offset: 3n } },
        { queries: [byKeyV1('theme')] },
        { queries: [byKeyV1('secret')] },
        { queries: [byKeyV1('Z', M.STARTS_WITH_IGNORE_CASE)] },
        { query: { asc: true }, queries: [byKeyV1('e', M.CONTAINS), byKeyV1('e', M.ENDS_WITH)] },
      ]) {
        const [own, asAdmin] = [await me.listMyMetadata(request), await management.listUserMetadata({ id: ada.userId, ...request })];
        const label = JSON.stringify(request, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
        assert.deepEqual(own.result, asAdmin.result, label);
        assert.equal(own.details?.totalResult, asAdmin.details?.totalResult, label);
      }
      assert.deepEqual((await me.listMyMetadata({ query: { offset: 1n, limit: 1 } })).result.map((m) => m.key), ['blob']);
      const { details, result } = await me.listMyMetadata({ queries: [byKeyV1('secret')] });
      assert.deepEqual({ total: details?.totalResult, result }, { total: 0n, result: [] }, 'another user\'s key is not listed');
    });

    test('GetMyMetadata answers what management v1\'s GetUserMetadata does; a key not set (or another user\'s, or in another case) NotFound (QUERY-Rgh32)', async () => {
      for (const key of ['theme', 'blob', 'zone']) {
        const own = await me.getMyMetadata({ key });
        assert.equal(own.$typeName, 'zitadel.auth.v1.GetMyMetadataResponse');
        assert.deepEqual(own.metadata, (await management.getUserMetadata({ id: ada.userId, key })).metadata, key);
      }
      assert.equal(hexOf((await me.getMyMetadata({ key: 'blob' })).metadata.value), hexOf(BINARY));
      for (const key of ['missing', 'secret', 'THEME']) {
        await assertZitadelError(me.getMyMetadata({ key }), Code.NotFound, 'Metadata not found', 'QUERY-Rgh32');
      }
      // A change the user makes through v2 shows at once.
      await sleep(APART_MS);
      const { setDate } = await createUserServiceClient(transport(await idToken(tessera, ada.email))).setUserMetadata({
        userId: ada.userId,
        metadata: [entry('theme', BINARY)],
      });
      const { metadata } = await me.getMyMetadata({ key: 'theme' });
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
      assert.deepEqual(metadata.details.changeDate, setDate);
      assert.ok(millis(metadata.details.creationDate) < millis(setDate), 'created before');
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`a deleted user's metadata through @zitadel/client over ${name}`, () => {
    test('DeleteUser takes the metadata with it: lists find nothing, Get is NotFound (QUERY-Rgh32), set and delete (v2 and v1) FailedPrecondition (COMMAND-uXHNj); a new user of the same address starts empty', async () => {
      const users = createUserServiceClient(transport(tessera.adminPat));
      const management = createManagementServiceClient(transport(tessera.adminPat));
      const ada = await addHuman(users);
      await users.setUserMetadata({ userId: ada.userId, metadata: [entry('k', BINARY), entry('team', 'ops')] });
      assert.equal((await listV2(users, ada.userId)).total, 2);

      await users.deleteUser({ userId: ada.userId });
      assert.deepEqual(await listV2(users, ada.userId), { total: 0, limit: 100, keys: [], metadata: [] });
      const v1 = await management.listUserMetadata({ id: ada.userId });
      assert.deepEqual({ total: v1.details?.totalResult, result: v1.result }, { total: 0n, result: [] });
      await assertZitadelError(
        management.getUserMetadata({ id: ada.userId, key: 'k' }),
        Code.NotFound,
        'Metadata not found',
        'QUERY-Rgh32',
      );
      for (const call of [
        () => users.setUserMetadata({ userId: ada.userId, metadata: [entry('k', 'v')] }),
        () => users.deleteUserMetadata({ userId: ada.userId, keys: ['k'] }),
        () => management.setUserMetadata({ id: ada.userId, key: 'k', value: text('v') }),
        () => management.bulkSetUserMetadata({ id: ada.userId, metadata: [entry('k', 'v')] }),
        () => management.removeUserMetadata({ id: ada.userId, key: 'k' }),
        () => management.bulkRemoveUserMetadata({ id: ada.userId, keys: ['k'] }),
      ]) {
        await assertZitadelError(call(), Code.FailedPrecondition, 'User could not be found', 'COMMAND-uXHNj');
      }
      assert.deepEqual((await listV2(users, ada.userId)).total, 0);

      const again = await addHuman(users, { email: ada.email });
      assert.notEqual(again.userId, ada.userId);
      assert.deepEqual(await listV2(users, again.userId), { total: 0, limit: 100, keys: [], metadata: [] });
    });
  });
}

/** A new organization (v2 AddOrganization, by the administrator, over `transport`): its id. */
async function newOrg(transport, name = 'Initech') {
  const organizations = createOrganizationServiceClient(transport(tessera.adminPat));
  const added = await organizations.addOrganization({ name: `${name} ${hex()}` });
  assert.equal(added.$typeName, 'zitadel.org.v2.AddOrganizationResponse');
  assert.ok(added.organizationId, 'organizationId');
  return added.organizationId;
}

/** Call options of management v1 acting on the organization `org` (x-zitadel-orgid). */
const inOrg = (org) => ({ headers: { 'x-zitadel-orgid': org } });

/**
 * What `management`'s ListOrgMetadata (with `options`) shows: the total and every entry, oldest
 * first, to compare before and after (not the reply's viewTimestamp, which is the time of asking).
 */
const orgSnapshotOf = (management, options) => async () => {
  const { details, result } = await management.listOrgMetadata({ query: { asc: true } }, options);
  return { total: details?.totalResult, result };
};

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`management v1 organization metadata through @zitadel/client over ${name}`, () => {
    let management; // the administrator's, acting on the organization x-zitadel-orgid names

    before(() => {
      management = createManagementServiceClient(transport(tessera.adminPat));
    });

    test('SetOrgMetadata answers the organization\'s details; GetOrgMetadata hands back the value byte for byte, with its dates', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      const set = await management.setOrgMetadata({ key: 'binary', value: BINARY }, at);
      assert.equal(set.$typeName, 'zitadel.management.v1.SetOrgMetadataResponse');
      assert.equal(set.details?.resourceOwner, org);
      assert.ok(set.details.changeDate, 'details.changeDate');
      assert.equal(typeof set.details.sequence, 'bigint');

      const got = await management.getOrgMetadata({ key: 'binary' }, at);
      assert.equal(got.$typeName, 'zitadel.management.v1.GetOrgMetadataResponse');
      const { metadata } = got;
      assert.equal(metadata?.$typeName, 'zitadel.metadata.v1.Metadata');
      assert.equal(metadata.key, 'binary');
      assert.ok(metadata.value instanceof Uint8Array, 'value is bytes');
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
      assert.equal(metadata.details?.resourceOwner, org);
      assert.deepEqual(metadata.details.changeDate, metadata.details.creationDate, 'changed when created');

      // UTF-8 values and keys, and a NUL, come back as set.
      await management.setOrgMetadata({ key: 'città 😀', value: UTF8 }, at);
      await management.setOrgMetadata({ key: 'nul', value: Uint8Array.of(0) }, at);
      assert.equal(hexOf((await management.getOrgMetadata({ key: 'città 😀' }, at)).metadata.value), hexOf(UTF8));
      assert.equal(hexOf((await management.getOrgMetadata({ key: 'nul' }, at)).metadata.value), '00');
    });

    test('SetOrgMetadata and BulkSetOrgMetadata answer the details of the entry they set: changeDate and sequence (its milliseconds) as GetOrgMetadata and ListOrgMetadata show them', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      const set = await management.setOrgMetadata({ key: 'one', value: BINARY }, at);
      await sleep(APART_MS);
      const bulk = await management.bulkSetOrgMetadata({ metadata: [entry('two', 'v'), entry('three', UTF8)] }, at);
      const listed = await management.listOrgMetadata({}, at);
      const listedDetails = Object.fromEntries(listed.result.map((m) => [m.key, m.details]));
      for (const [key, answered] of [['one', set.details], ['two', bulk.details], ['three', bulk.details]]) {
        const { metadata } = await management.getOrgMetadata({ key }, at);
        assert.deepEqual(answered?.changeDate, metadata.details.changeDate, `${key}: changeDate`);
        assert.equal(answered.sequence, metadata.details.sequence, `${key}: sequence`);
        assert.equal(answered.sequence, BigInt(millis(answered.changeDate)), `${key}: the sequence is the change date in milliseconds`);
        assert.equal(answered.changeDate.nanos % 1e6, 0, `${key}: whole milliseconds`);
        assert.deepEqual(metadata.details.creationDate, answered.changeDate, `${key}: created then`);
        assert.deepEqual(listedDetails[key].changeDate, answered.changeDate, `${key}: listed changeDate`);
        assert.equal(listedDetails[key].sequence, answered.sequence, `${key}: listed sequence`);
      }
      // A new value: the answer is the entry's new change date; its creation date stays.
      await sleep(APART_MS);
      const again = await management.setOrgMetadata({ key: 'one', value: text('new') }, at);
      const { metadata: one } = await management.getOrgMetadata({ key: 'one' }, at);
      assert.equal(hexOf(one.value), hexOf(text('new')));
      assert.deepEqual(one.details.changeDate, again.details.changeDate);
      assert.equal(one.details.sequence, again.details.sequence);
      assert.ok(millis(again.details.changeDate) > millis(set.details.changeDate), 'changed later');
      assert.deepEqual(one.details.creationDate, set.details.changeDate, 'created when first set');
      // And through BulkSetOrgMetadata.
      await sleep(APART_MS);
      const bulkAgain = await management.bulkSetOrgMetadata({ metadata: [entry('two', BINARY)] }, at);
      const { metadata: two } = await management.getOrgMetadata({ key: 'two' }, at);
      assert.deepEqual(two.details.changeDate, bulkAgain.details.changeDate);
      assert.equal(two.details.sequence, bulkAgain.details.sequence);
      assert.deepEqual(two.details.creationDate, bulk.details.changeDate, 'created when first set');
    });

    test('setting a key again: a new value replaces it and moves its change date, the same value (Set or BulkSet) changes nothing; in one bulk request the last entry of a key wins', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      await management.setOrgMetadata({ key: 'plan', value: text('free') }, at);
      const { metadata: original } = await management.getOrgMetadata({ key: 'plan' }, at);
      await sleep(APART_MS);
      await management.setOrgMetadata({ key: 'plan', value: BINARY }, at);
      const { metadata: replaced } = await management.getOrgMetadata({ key: 'plan' }, at);
      assert.equal(hexOf(replaced.value), hexOf(BINARY));
      assert.deepEqual(replaced.details.creationDate, original.details.creationDate);
      assert.ok(millis(replaced.details.changeDate) > millis(original.details.changeDate), 'changeDate moved on');
      await sleep(APART_MS);
      await management.setOrgMetadata({ key: 'plan', value: BINARY }, at);
      await management.bulkSetOrgMetadata({ metadata: [entry('plan', BINARY)] }, at);
      const { metadata: again } = await management.getOrgMetadata({ key: 'plan' }, at);
      assert.deepEqual(again, replaced);

      await management.bulkSetOrgMetadata({ metadata: [entry('twice', 'first'), entry('twice', 'second')] }, at);
      const { details, result } = await management.listOrgMetadata({ queries: [byKeyV1('twice')] }, at);
      assert.equal(details?.totalResult, 1n);
      assert.equal(new TextDecoder().decode(result[0].value), 'second');
    });

    test('RemoveOrgMetadata and BulkRemoveOrgMetadata answer the removal\'s details: the organization, changeDate in whole milliseconds, sequence its milliseconds, no earlier than the entries\' change', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      const set = await management.bulkSetOrgMetadata({ metadata: [entry('a', 'A'), entry('b', BINARY), entry('c', 'C')] }, at);
      const before = Date.now();
      const removed = await management.removeOrgMetadata({ key: 'a' }, at);
      assert.equal(removed.$typeName, 'zitadel.management.v1.RemoveOrgMetadataResponse');
      const bulk = await management.bulkRemoveOrgMetadata({ keys: ['b', 'c'] }, at);
      assert.equal(bulk.$typeName, 'zitadel.management.v1.BulkRemoveOrgMetadataResponse');
      for (const [call, details] of [['RemoveOrgMetadata', removed.details], ['BulkRemoveOrgMetadata', bulk.details]]) {
        assert.equal(details?.resourceOwner, org, `${call}: resourceOwner`);
        const when = millis(details.changeDate);
        assert.equal(details.changeDate.nanos % 1e6, 0, `${call}: whole milliseconds`);
        assert.equal(details.sequence, BigInt(when), `${call}: the sequence is the change date in milliseconds`);
        assert.ok(when >= millis(set.details.changeDate), `${call}: not before the entries were set`);
        assert.ok(when >= before - 1000 && when <= Date.now() + 1000, `${call}: now, not ${when}`);
      }
      assert.ok(millis(bulk.details.changeDate) >= millis(removed.details.changeDate), 'in the order made');
      assert.deepEqual(await orgSnapshotOf(management, at)(), { total: 0n, result: [] });
    });

    test('BulkSetOrgMetadata sets several at once; ListOrgMetadata lists them with details, newest first unless asc, paged, the total counting all', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      await management.setOrgMetadata({ key: 'language', value: text('en') }, at);
      await sleep(APART_MS);
      const bulk = await management.bulkSetOrgMetadata({ metadata: [entry('plan', BINARY), entry('seats', UTF8)] }, at);
      assert.equal(bulk.$typeName, 'zitadel.management.v1.BulkSetOrgMetadataResponse');
      assert.equal(bulk.details?.resourceOwner, org);
      await sleep(APART_MS);
      await management.setOrgMetadata({ key: 'zone', value: text('UTC') }, at);

      const listed = await management.listOrgMetadata({}, at);
      assert.equal(listed.$typeName, 'zitadel.management.v1.ListOrgMetadataResponse');
      assert.equal(listed.details?.totalResult, 4n);
      assert.ok(listed.details.viewTimestamp?.seconds > 0n, 'details.viewTimestamp');
      const keys = listed.result.map((m) => m.key);
      assert.equal(keys[0], 'zone');
      assert.deepEqual(keys.slice(1, 3).sort(), ['plan', 'seats']);
      assert.equal(keys[3], 'language');
      assert.deepEqual(valuesOf(listed.result), {
        language: hexOf(text('en')),
        plan: hexOf(BINARY),
        seats: hexOf(UTF8),
        zone: hexOf(text('UTC')),
      });
      for (const m of listed.result) {
        assert.equal(m.$typeName, 'zitadel.metadata.v1.Metadata');
        assert.equal(m.details?.resourceOwner, org);
        assert.deepEqual(m.details.changeDate, m.details.creationDate);
      }
      const [, plan, seats] = listed.result;
      assert.deepEqual(plan.details.creationDate, seats.details.creationDate, 'one creation time for the bulk request');
      assert.deepEqual(plan.details.creationDate, bulk.details.changeDate, 'the bulk request\'s');

      const page = async (query) => {
        const { details, result } = await management.listOrgMetadata({ query }, at);
        return { total: Number(details.totalResult), keys: result.map((m) => m.key) };
      };
      assert.deepEqual((await page({ asc: true })).keys.at(0), 'language');
      assert.deepEqual((await page({ asc: true })).keys.at(-1), 'zone');
      assert.deepEqual(await page({ offset: 3n, limit: 1 }), { total: 4, keys: ['language'] });
      assert.deepEqual(await page({ offset: 0n, limit: 1, asc: true }), { total: 4, keys: ['language'] });
      assert.deepEqual(await page({ offset: 0n, limit: 1 }), { total: 4, keys: ['zone'] });
      assert.deepEqual(await page({ offset: 4n }), { total: 4, keys: [] });
      assert.equal((await page({ offset: 1n, limit: 2 })).keys.length, 2);
    });

    test('keyQuery: each TextQueryMethod, with LIKE\'s wildcards taken literally, and queries AND-ed', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      for (const [key, value] of [['colour', 'red'], ['Country', 'CH'], ['city', 'Zürich'], ['a_b', '1'], ['axb', '2'], ['100%', '3']]) {
        await management.setOrgMetadata({ key, value: text(value) }, at);
        await sleep(APART_MS);
      }
      const found = async (...queries) => {
        const { details, result } = await management.listOrgMetadata({ query: { asc: true }, queries }, at);
        assert.equal(Number(details.totalResult), result.length);
        return result.map((m) => m.key);
      };
      const M = TextQueryMethod;
      assert.deepEqual(await found(byKeyV1('Country')), ['Country']);
      assert.deepEqual(await found(byKeyV1('country')), []);
      assert.deepEqual(await found(byKeyV1('country', M.EQUALS_IGNORE_CASE)), ['Country']);
      assert.deepEqual(await found(byKeyV1('co', M.STARTS_WITH)), ['colour']);
      assert.deepEqual(await found(byKeyV1('co', M.STARTS_WITH_IGNORE_CASE)), ['colour', 'Country']);
      assert.deepEqual(await found(byKeyV1('t', M.CONTAINS)), ['Country', 'city']);
      assert.deepEqual(await found(byKeyV1('C', M.CONTAINS_IGNORE_CASE)), ['colour', 'Country', 'city']);
      assert.deepEqual(await found(byKeyV1('y', M.ENDS_WITH)), ['Country', 'city']);
      assert.deepEqual(await found(byKeyV1('R', M.ENDS_WITH_IGNORE_CASE)), ['colour']);
      assert.deepEqual(await found(byKeyV1('a_', M.STARTS_WITH)), ['a_b']);
      assert.deepEqual(await found(byKeyV1('%', M.ENDS_WITH)), ['100%']);
      assert.deepEqual(await found(byKeyV1('c', M.STARTS_WITH), byKeyV1('y', M.ENDS_WITH)), ['city']);
      assert.deepEqual(await found(byKeyV1('c', M.STARTS_WITH), byKeyV1('o', M.CONTAINS)), ['colour']);
      // The entries found are the entries, values and all.
      const { result } = await management.listOrgMetadata({ queries: [byKeyV1('city')] }, at);
      assert.equal(new TextDecoder().decode(result[0].value), 'Zürich');
    });

    test('the longest key (200 characters, counted as characters) and the largest value (500,000 bytes) are kept exactly; a value over 500,000 bytes InvalidArgument (META-2ml0f)', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      const large = randomBytes(MAX_VALUE);
      const keys = ['é'.repeat(MAX_KEY), '😀'.repeat(MAX_KEY), 'k'.repeat(MAX_KEY)];
      await management.bulkSetOrgMetadata({ metadata: [entry(keys[0], BINARY), entry(keys[1], UTF8)] }, at);
      await management.setOrgMetadata({ key: keys[2], value: large }, at);
      const { details, result } = await management.listOrgMetadata({}, at);
      assert.equal(details?.totalResult, 3n);
      const byName = Object.fromEntries(result.map((m) => [m.key, m.value]));
      assert.deepEqual(Object.keys(byName).sort(), [...keys].sort());
      assert.equal(hexOf(byName[keys[0]]), hexOf(BINARY));
      assert.equal(hexOf(byName[keys[1]]), hexOf(UTF8));
      assert.equal(byName[keys[2]].length, MAX_VALUE);
      assert.equal(sha256(byName[keys[2]]), sha256(large));
      assert.equal(sha256((await management.getOrgMetadata({ key: keys[2] }, at)).metadata.value), sha256(large));
      const tooLarge = new Uint8Array(MAX_VALUE + 1).fill(7);
      for (const call of [
        () => management.setOrgMetadata({ key: 'big', value: tooLarge }, at),
        () => management.bulkSetOrgMetadata({ metadata: [entry('big', tooLarge)] }, at),
      ]) {
        await assertRefusedUnchanged(orgSnapshotOf(management, at), call, Code.InvalidArgument, 'Metadata is invalid', 'META-2ml0f');
      }
    });

    test('set refusals: an empty key, an empty value or a key over 200 characters InvalidArgument (META-2ml0f); BulkSetOrgMetadata of nothing FailedPrecondition (META-9mm2d), with one bad entry next to good ones InvalidArgument (META-2ml0f); nothing changed', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      await management.setOrgMetadata({ key: 'kept', value: BINARY }, at);
      const snapshot = orgSnapshotOf(management, at);
      const invalid = ['Metadata is invalid', 'META-2ml0f'];
      for (const [key, value] of [
        ['', text('v')],
        ['kept', new Uint8Array()],
        ['new', new Uint8Array()],
        ['k'.repeat(MAX_KEY + 1), text('v')],
        ['é'.repeat(MAX_KEY + 1), text('v')],
      ]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.setOrgMetadata({ key, value }, at),
          Code.InvalidArgument,
          ...invalid,
        );
      }
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkSetOrgMetadata({ metadata: [] }, at),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mm2d',
      );
      for (const metadata of [
        [entry('kept', 'new'), entry('fine', 'v'), entry('', 'v')],
        [entry('fine', 'v'), entry('empty', new Uint8Array())],
        [entry('k'.repeat(MAX_KEY + 1), 'v'), entry('fine', 'v')],
      ]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.bulkSetOrgMetadata({ metadata }, at),
          Code.InvalidArgument,
          ...invalid,
        );
      }
      assert.deepEqual(valuesOf((await snapshot()).result), { kept: hexOf(BINARY) });
    });

    test('RemoveOrgMetadata removes one key; GetOrgMetadata of it is NotFound (QUERY-Rph32), removing it again NotFound (META-mcnw3), an empty key InvalidArgument (META-2n0f1); keys match exactly; nothing changed', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      await management.bulkSetOrgMetadata({ metadata: [entry('language', 'en'), entry('kept', BINARY)] }, at);
      const removed = await management.removeOrgMetadata({ key: 'language' }, at);
      assert.equal(removed.details?.resourceOwner, org);
      const snapshot = orgSnapshotOf(management, at);
      assert.deepEqual(valuesOf((await snapshot()).result), { kept: hexOf(BINARY) });
      for (const key of ['language', 'KEPT', 'missing']) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.getOrgMetadata({ key }, at),
          Code.NotFound,
          'Metadata not found',
          'QUERY-Rph32',
        );
        await assertRefusedUnchanged(
          snapshot,
          () => management.removeOrgMetadata({ key }, at),
          Code.NotFound,
          'Metadata not found',
          'META-mcnw3',
        );
      }
      await assertRefusedUnchanged(
        snapshot,
        () => management.removeOrgMetadata({ key: '' }, at),
        Code.InvalidArgument,
        'Metadata is invalid',
        'META-2n0f1',
      );
      await management.removeOrgMetadata({ key: 'kept' }, at);
      assert.deepEqual(await snapshot(), { total: 0n, result: [] });
    });

    test('BulkRemoveOrgMetadata removes the keys named; no keys FailedPrecondition (META-9mw2d), an empty key InvalidArgument (COMMAND-m19ds), a key not set NotFound (META-2npds); all or none, nothing changed', async () => {
      const org = await newOrg(transport);
      const at = inOrg(org);
      await management.bulkSetOrgMetadata({ metadata: [entry('a', 'A'), entry('b', BINARY), entry('c', 'C'), entry('d', 'D')] }, at);
      const removed = await management.bulkRemoveOrgMetadata({ keys: ['a', 'c'] }, at);
      assert.equal(removed.details?.resourceOwner, org);
      const snapshot = orgSnapshotOf(management, at);
      assert.deepEqual(valuesOf((await snapshot()).result), { b: hexOf(BINARY), d: hexOf(text('D')) });
      await assertRefusedUnchanged(
        snapshot,
        () => management.bulkRemoveOrgMetadata({ keys: [] }, at),
        Code.FailedPrecondition,
        'Metadata list is empty',
        'META-9mw2d',
      );
      for (const keys of [[''], ['b', '']]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.bulkRemoveOrgMetadata({ keys }, at),
          Code.InvalidArgument,
          'Metadata is invalid',
          'COMMAND-m19ds',
        );
      }
      for (const keys of [['a'], ['b', 'd', 'a'], ['b', 'D']]) {
        await assertRefusedUnchanged(
          snapshot,
          () => management.bulkRemoveOrgMetadata({ keys }, at),
          Code.NotFound,
          'One or more keys do not exist',
          'META-2npds',
        );
      }
      // A key named twice is removed once.
      await management.bulkRemoveOrgMetadata({ keys: ['d', 'b', 'd'] }, at);
      assert.deepEqual(await snapshot(), { total: 0n, result: [] });
    });

    test('each organization\'s metadata is its own: without x-zitadel-orgid the administrator\'s own organization, with it the one named; a user\'s metadata of the same key stays apart', async () => {
      const users = createUserServiceClient(transport(tessera.adminPat));
      const own = (await addHuman(users)).org; // the administrator's organization
      const globex = await newOrg(transport, 'Globex');
      assert.notEqual(globex, own);
      const at = inOrg(globex);
      const key = `plan-${hex()}`; // the administrator's organization is shared by the file's tests

      const ownSet = await management.setOrgMetadata({ key, value: text('own') });
      assert.equal(ownSet.details?.resourceOwner, own);
      // Globex has none of it.
      assert.deepEqual(await orgSnapshotOf(management, at)(), { total: 0n, result: [] });
      await assertZitadelError(management.getOrgMetadata({ key }, at), Code.NotFound, 'Metadata not found', 'QUERY-Rph32');
      await assertZitadelError(management.removeOrgMetadata({ key }, at), Code.NotFound, 'Metadata not found', 'META-mcnw3');
      await assertZitadelError(
        management.bulkRemoveOrgMetadata({ keys: [key] }, at),
        Code.NotFound,
        'One or more keys do not exist',
        'META-2npds',
      );

      // The same key in Globex, and on a user of Globex: three entries apart.
      const globexSet = await management.setOrgMetadata({ key, value: BINARY }, at);
      assert.equal(globexSet.details?.resourceOwner, globex);
      const hank = await addHuman(users, { org: globex });
      await users.setUserMetadata({ userId: hank.userId, metadata: [entry(key, 'user'), entry('badge', '7')] });
      // x-zitadel-orgid naming the administrator's own organization is the same as naming none.
      for (const options of [undefined, inOrg(own)]) {
        const { metadata } = await management.getOrgMetadata({ key }, options);
        assert.equal(new TextDecoder().decode(metadata.value), 'own');
        assert.equal(metadata.details?.resourceOwner, own);
      }
      const { metadata } = await management.getOrgMetadata({ key }, at);
      assert.equal(hexOf(metadata.value), hexOf(BINARY));
      assert.equal(metadata.details?.resourceOwner, globex);
      const globexListed = await management.listOrgMetadata({}, at);
      assert.deepEqual(valuesOf(globexListed.result), { [key]: hexOf(BINARY) }, 'no user metadata among the organization\'s');
      const ownListed = await management.listOrgMetadata({ queries: [byKeyV1(key)] });
      assert.deepEqual(valuesOf(ownListed.result), { [key]: hexOf(text('own')) });
      assert.deepEqual(valuesOf((await listV2(users, hank.userId)).metadata), { [key]: hexOf(text('user')), badge: hexOf(text('7')) });
      await assertZitadelError(management.getOrgMetadata({ key: 'badge' }, at), Code.NotFound, 'Metadata not found', 'QUERY-Rph32');

      // Removing one removes only it.
      await management.removeOrgMetadata({ key }, at);
      assert.deepEqual(await orgSnapshotOf(management, at)(), { total: 0n, result: [] });
      assert.deepEqual(valuesOf((await listV2(users, hank.userId)).metadata), { [key]: hexOf(text('user')), badge: hexOf(text('7')) });
      assert.equal(new TextDecoder().decode((await management.getOrgMetadata({ key })).metadata.value), 'own');
      await users.deleteUserMetadata({ userId: hank.userId, keys: [key] });
      await management.setOrgMetadata({ key, value: text('again') }, at);
      assert.deepEqual(valuesOf((await listV2(users, hank.userId)).metadata), { badge: hexOf(text('7')) });
      await management.bulkRemoveOrgMetadata({ keys: [key] });
      await assertZitadelError(management.getOrgMetadata({ key }), Code.NotFound, 'Metadata not found', 'QUERY-Rph32');
      assert.equal(new TextDecoder().decode((await management.getOrgMetadata({ key }, at)).metadata.value), 'again');
    });
  });
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`who may read and write organization metadata through @zitadel/client over ${name}`, () => {
    let admin; // the administrator's management v1, acting on Acme by x-zitadel-orgid
    let acme; // the organization's id
    let at; // inOrg(acme)
    let byRole; // management v1 clients of Acme's machine users, by role
    let adaSelf; // management v1 with the ID token of Ada, a user of the administrator's organization
    let ada;

    before(async () => {
      admin = createManagementServiceClient(transport(tessera.adminPat));
      acme = await newOrg(transport, 'Acme');
      at = inOrg(acme);
      await admin.bulkSetOrgMetadata({ metadata: [entry('tier', BINARY), entry('region', 'eu')] }, at);
      byRole = Object.fromEntries(
        ['IAM_OWNER', 'ORG_OWNER', 'ORG_USER_MANAGER', 'ORG_OWNER_VIEWER'].map((role) => [
          role,
          createManagementServiceClient(transport(machineUser(tessera, acme, role).pat)),
        ]),
      );
      // Identity Toolkit signs in users of the administrator's organization (the project's).
      ada = await addHuman(createUserServiceClient(transport(tessera.adminPat)));
      adaSelf = createManagementServiceClient(transport(await idToken(tessera, ada.email)));
    });

    test('every machine role (IAM_OWNER, ORG_OWNER, ORG_USER_MANAGER, ORG_OWNER_VIEWER) lists and gets its own organization\'s metadata as the administrator does (org.read)', async () => {
      const asAdmin = await orgSnapshotOf(admin, at)();
      assert.equal(asAdmin.total, 2n);
      for (const [role, management] of Object.entries(byRole)) {
        assert.deepEqual(await orgSnapshotOf(management)(), asAdmin, role);
        const filtered = { queries: [byKeyV1('tier')] };
        assert.deepEqual((await management.listOrgMetadata(filtered)).result, (await admin.listOrgMetadata(filtered, at)).result, role);
        const { metadata } = await management.getOrgMetadata({ key: 'tier' });
        assert.deepEqual(metadata, (await admin.getOrgMetadata({ key: 'tier' }, at)).metadata, role);
        assert.equal(hexOf(metadata.value), hexOf(BINARY), role);
        assert.equal(metadata.details?.resourceOwner, acme, role);
        await assertZitadelError(management.getOrgMetadata({ key: 'missing' }), Code.NotFound, 'Metadata not found', 'QUERY-Rph32');
      }
    });

    test('IAM_OWNER and ORG_OWNER machine users change their own organization\'s metadata (org.write): set, bulk set, remove and bulk remove, as the administrator then sees', async () => {
      for (const role of ['IAM_OWNER', 'ORG_OWNER']) {
        const management = byRole[role];
        const key = role.toLowerCase();
        const set = await management.setOrgMetadata({ key, value: BINARY });
        assert.equal(set.details?.resourceOwner, acme, role);
        const bulk = await management.bulkSetOrgMetadata({ metadata: [entry(`${key}-a`, 'A'), entry(`${key}-b`, UTF8)] });
        assert.equal(bulk.details?.resourceOwner, acme, role);
        const { metadata } = await admin.getOrgMetadata({ key }, at);
        assert.equal(hexOf(metadata.value), hexOf(BINARY), role);
        assert.deepEqual(metadata.details.changeDate, set.details.changeDate, role);
        assert.equal(hexOf((await admin.getOrgMetadata({ key: `${key}-b` }, at)).metadata.value), hexOf(UTF8), role);
        const removed = await management.removeOrgMetadata({ key });
        assert.equal(removed.details?.resourceOwner, acme, role);
        const bulkRemoved = await management.bulkRemoveOrgMetadata({ keys: [`${key}-a`, `${key}-b`] });
        assert.equal(bulkRemoved.details?.resourceOwner, acme, role);
        assert.deepEqual(Object.keys(valuesOf((await admin.listOrgMetadata({}, at)).result)).sort(), ['region', 'tier'], role);
      }
    });

    test('ORG_USER_MANAGER and ORG_OWNER_VIEWER machine users may not change it: each of the four writes PermissionDenied (AUTH-5mWD2), nothing changed', async () => {
      const snapshot = orgSnapshotOf(admin, at);
      for (const role of ['ORG_USER_MANAGER', 'ORG_OWNER_VIEWER']) {
        const management = byRole[role];
        for (const call of [
          () => management.setOrgMetadata({ key: 'tier', value: text('new') }),
          () => management.setOrgMetadata({ key: 'new', value: text('v') }),
          () => management.bulkSetOrgMetadata({ metadata: [entry('new', 'v')] }),
          () => management.removeOrgMetadata({ key: 'tier' }),
          () => management.bulkRemoveOrgMetadata({ keys: ['tier', 'region'] }),
        ]) {
          await assertRefusedUnchanged(snapshot, call, Code.PermissionDenied, 'No matching permissions found', 'AUTH-5mWD2');
        }
      }
    });

    test('a user with its own ID token may neither read nor change its organization\'s metadata (nor another\'s): all six PermissionDenied (AUTH-5mWD2), nothing changed', async () => {
      // Ada's organization is the administrator's, which the file's other tests share: a key of its own.
      const key = `tier-${hex()}`;
      await admin.setOrgMetadata({ key, value: BINARY });
      for (const [options, snapshot] of [
        [undefined, orgSnapshotOf(admin, inOrg(ada.org))],
        [inOrg(ada.org), orgSnapshotOf(admin, inOrg(ada.org))],
        [at, orgSnapshotOf(admin, at)],
      ]) {
        for (const call of [
          () => adaSelf.listOrgMetadata({}, options),
          () => adaSelf.getOrgMetadata({ key }, options),
          () => adaSelf.setOrgMetadata({ key, value: text('new') }, options),
          () => adaSelf.bulkSetOrgMetadata({ metadata: [entry('new', 'v')] }, options),
          () => adaSelf.removeOrgMetadata({ key }, options),
          () => adaSelf.bulkRemoveOrgMetadata({ keys: [key] }, options),
        ]) {
          await assertRefusedUnchanged(snapshot, call, Code.PermissionDenied, 'No matching permissions found', 'AUTH-5mWD2');
        }
      }
      await admin.removeOrgMetadata({ key });
    });

    test('an ORG_OWNER of another organization sees and changes only its own organization\'s metadata; the administrator reaches either by x-zitadel-orgid', async () => {
      const globex = await newOrg(transport, 'Globex');
      const owner = createManagementServiceClient(transport(machineUser(tessera, globex, 'ORG_OWNER').pat));
      const acmeSnapshot = orgSnapshotOf(admin, at);
      const acmeBefore = await acmeSnapshot();

      // Globex starts empty: none of Acme's.
      assert.deepEqual(await orgSnapshotOf(owner)(), { total: 0n, result: [] });
      await assertZitadelError(owner.getOrgMetadata({ key: 'tier' }), Code.NotFound, 'Metadata not found', 'QUERY-Rph32');
      await assertZitadelError(owner.removeOrgMetadata({ key: 'tier' }), Code.NotFound, 'Metadata not found', 'META-mcnw3');
      await assertZitadelError(
        owner.bulkRemoveOrgMetadata({ keys: ['tier', 'region'] }),
        Code.NotFound,
        'One or more keys do not exist',
        'META-2npds',
      );

      // The same keys set in Globex are Globex's.
      const set = await owner.bulkSetOrgMetadata({ metadata: [entry('tier', 'globex'), entry('floor', '3')] });
      assert.equal(set.details?.resourceOwner, globex);
      assert.deepEqual(await acmeSnapshot(), acmeBefore, 'Acme\'s unchanged');
      const asOwner = await orgSnapshotOf(owner)();
      assert.deepEqual(valuesOf(asOwner.result), { tier: hexOf(text('globex')), floor: hexOf(text('3')) });
      assert.ok(asOwner.result.every((m) => m.details?.resourceOwner === globex), 'Globex\'s details');
      assert.deepEqual(await orgSnapshotOf(admin, inOrg(globex))(), asOwner, 'the administrator sees Globex\'s by x-zitadel-orgid');
      assert.equal(hexOf((await admin.getOrgMetadata({ key: 'tier' }, at)).metadata.value), hexOf(BINARY), 'and Acme\'s');

      // Naming Acme does not take Globex's owner there.
      for (const call of [
        () => owner.listOrgMetadata({}, at),
        () => owner.getOrgMetadata({ key: 'tier' }, at),
        () => owner.setOrgMetadata({ key: 'tier', value: text('new') }, at),
        () => owner.bulkSetOrgMetadata({ metadata: [entry('new', 'v')] }, at),
        () => owner.removeOrgMetadata({ key: 'tier' }, at),
        () => owner.bulkRemoveOrgMetadata({ keys: ['tier'] }, at),
      ]) {
        await assertRefusedUnchanged(acmeSnapshot, call, Code.PermissionDenied, 'No matching permissions found', 'AUTH-5mWD2');
      }

      await owner.removeOrgMetadata({ key: 'tier' });
      assert.deepEqual(Object.keys(valuesOf((await orgSnapshotOf(owner)()).result)), ['floor']);
      assert.deepEqual(await acmeSnapshot(), acmeBefore, 'Acme\'s tier stays');
    });
  });
}

describe('user metadata through @zitadel/node (management v1, and v2 from its own definition, over gRPC)', () => {
  let management;
  let usersV2;
  let user; // { userId, email, org }

  before(async () => {
    const auth = createAccessTokenInterceptor(tessera.adminPat);
    management = createManagementClient(tessera.baseUrl, auth);
    // As @zitadel/node's own create…Client functions make a client, from the v2 definition it
    // generates but has no factory for.
    usersV2 = createClientFactory().use(auth).create(NodeUserServiceV2, createChannel(tessera.baseUrl));
    user = await addHuman(createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat)));
  });

  test('v1: SetUserMetadata, BulkSetUserMetadata, GetUserMetadata and ListUserMetadata keep Buffers byte for byte', async () => {
    const set = await management.setUserMetadata({ id: user.userId, key: 'binary', value: Buffer.from(BINARY) });
    assert.equal(set.id, user.userId);
    assert.equal(set.details?.resourceOwner, user.org);
    await sleep(APART_MS);
    await management.bulkSetUserMetadata({
      id: user.userId,
      metadata: [
        { key: 'text', value: Buffer.from(UTF8) },
        { key: 'tier', value: Buffer.from('gold') },
      ],
    });
    const { metadata } = await management.getUserMetadata({ id: user.userId, key: 'binary' });
    assert.ok(Buffer.isBuffer(metadata.value));
    assert.equal(hexOf(metadata.value), hexOf(BINARY));
    assert.equal(metadata.details?.resourceOwner, user.org);
    assert.ok(metadata.details.creationDate instanceof Date, 'details.creationDate');

    const listed = await management.listUserMetadata({ id: user.userId, query: { asc: true } });
    assert.equal(listed.details?.totalResult.toNumber(), 3);
    assert.equal(listed.result[0].key, 'binary');
    assert.deepEqual(valuesOf(listed.result), { binary: hexOf(BINARY), text: hexOf(UTF8), tier: hexOf(text('gold')) });
    const found = await management.listUserMetadata({
      id: user.userId,
      queries: [{ keyQuery: { key: 'T', method: NodeTextQueryMethod.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE } }],
    });
    assert.deepEqual(found.result.map((m) => m.key).sort(), ['text', 'tier']);
    const page = await management.listUserMetadata({ id: user.userId, query: { offset: 1, limit: 1, asc: true } });
    assert.equal(page.details?.totalResult.toNumber(), 3);
    assert.equal(page.result.length, 1);
    assert.notEqual(page.result[0].key, 'binary');
  });

  test('v1: RemoveUserMetadata and BulkRemoveUserMetadata; a key not set is NOT_FOUND (META-ncnw3, META-2nnds, QUERY-Rgh32) and nothing is removed', async () => {
    const { userId } = user;
    const keys = async () =>
      (await management.listUserMetadata({ id: userId })).result.map((m) => m.key).sort();
    const before = await keys();
    assert.deepEqual(before, ['binary', 'text', 'tier']);
    await assertGrpcError(
      management.bulkRemoveUserMetadata({ id: userId, keys: ['text', 'missing'] }),
      Status.NOT_FOUND,
      'One or more keys do not exist',
      'META-2nnds',
    );
    await assertGrpcError(
      management.removeUserMetadata({ id: userId, key: 'missing' }),
      Status.NOT_FOUND,
      'Metadata not found',
      'META-ncnw3',
    );
    await assertGrpcError(
      management.bulkSetUserMetadata({ id: userId, metadata: [] }),
      Status.FAILED_PRECONDITION,
      'Metadata list is empty',
      'META-9mm2d',
    );
    assert.deepEqual(await keys(), before);
    await management.removeUserMetadata({ id: userId, key: 'tier' });
    await assertGrpcError(
      management.getUserMetadata({ id: userId, key: 'tier' }),
      Status.NOT_FOUND,
      'Metadata not found',
      'QUERY-Rgh32',
    );
    await management.bulkRemoveUserMetadata({ id: userId, keys: ['binary', 'text'] });
    assert.deepEqual(await keys(), []);
  });

  test('v2: SetUserMetadata, ListUserMetadata (key filter, pagination) and DeleteUserMetadata', async () => {
    const { userId } = user;
    const set = await usersV2.setUserMetadata({
      userId,
      metadata: [
        { key: 'binary', value: Buffer.from(BINARY) },
        { key: 'big', value: Buffer.alloc(MAX_VALUE, 0xfe) },
      ],
    });
    assert.ok(set.setDate instanceof Date, 'setDate');
    const listed = await usersV2.listUserMetadata({ userId });
    assert.equal(listed.pagination?.totalResult.toNumber(), 2);
    assert.equal(listed.pagination.appliedLimit.toNumber(), 100);
    const byName = Object.fromEntries(listed.metadata.map((m) => [m.key, m]));
    assert.equal(hexOf(byName.binary.value), hexOf(BINARY));
    assert.equal(sha256(byName.big.value), sha256(Buffer.alloc(MAX_VALUE, 0xfe)));
    assert.ok(byName.binary.creationDate instanceof Date);
    assert.equal(byName.binary.creationDate.getTime(), byName.big.creationDate.getTime());

    const filtered = await usersV2.listUserMetadata({
      userId,
      pagination: { offset: 0, limit: 1, asc: true },
      filters: [{ keyFilter: { key: 'B', method: NodeTextFilterMethod.TEXT_FILTER_METHOD_STARTS_WITH_IGNORE_CASE } }],
    });
    assert.equal(filtered.pagination?.totalResult.toNumber(), 2);
    assert.equal(filtered.pagination.appliedLimit.toNumber(), 1);
    assert.equal(filtered.metadata.length, 1);
    const none = await usersV2.listUserMetadata({
      userId,
      filters: [{ keyFilter: { key: 'B', method: NodeTextFilterMethod.TEXT_FILTER_METHOD_STARTS_WITH } }],
    });
    assert.equal(none.pagination?.totalResult.toNumber(), 0);
    const largest = await usersV2.listUserMetadata({ userId, pagination: { limit: 1000 } });
    assert.equal(largest.pagination?.appliedLimit.toNumber(), 1000);
    assert.equal(largest.metadata.length, 2);
    await assertGrpcError(
      usersV2.listUserMetadata({ userId, pagination: { limit: 1001 } }),
      Status.INVALID_ARGUMENT,
      'Limit exceeded',
      'QUERY-4M0fs',
    );

    await assertGrpcError(
      usersV2.deleteUserMetadata({ userId, keys: ['binary', ''] }),
      Status.INVALID_ARGUMENT,
      'Metadata is invalid',
      'COMMAND-m29ds',
    );
    await assertGrpcError(
      usersV2.setUserMetadata({ userId, metadata: [{ key: 'k', value: Buffer.alloc(0) }] }),
      Status.INVALID_ARGUMENT,
      'Metadata is invalid',
      'META-2m00f',
    );
    const deleted = await usersV2.deleteUserMetadata({ userId, keys: ['binary', 'big'] });
    assert.ok(deleted.deletionDate instanceof Date, 'deletionDate');
    assert.equal((await usersV2.listUserMetadata({ userId })).pagination?.totalResult.toNumber(), 0);
    await assertGrpcError(
      usersV2.setUserMetadata({ userId: '404404404', metadata: [{ key: 'k', value: Buffer.from('v') }] }),
      Status.FAILED_PRECONDITION,
      'User could not be found',
      'COMMAND-uXHNj',
    );
  });

  test("auth v1: ListMyMetadata and GetMyMetadata with the user's own ID token, Buffers byte for byte, as management v1 answers them", async () => {
    const { userId } = user;
    const me = createAuthClient(tessera.baseUrl, createAccessTokenInterceptor(await idToken(tessera, user.email)));
    await management.bulkSetUserMetadata({
      id: userId,
      metadata: [
        { key: 'binary', value: Buffer.from(BINARY) },
        { key: 'text', value: Buffer.from(UTF8) },
      ],
    });
    const mine = await me.listMyMetadata({ query: { asc: true } });
    assert.equal(mine.details?.totalResult.toNumber(), 2);
    assert.deepEqual(valuesOf(mine.result), { binary: hexOf(BINARY), text: hexOf(UTF8) });
    assert.ok(mine.result.every((m) => Buffer.isBuffer(m.value)), 'values are Buffers');
    assert.deepEqual(mine.result, (await management.listUserMetadata({ id: userId, query: { asc: true } })).result);
    const found = await me.listMyMetadata({
      queries: [{ keyQuery: { key: 'T', method: NodeTextQueryMethod.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE } }],
    });
    assert.deepEqual(found.result.map((m) => m.key), ['text']);
    const { metadata } = await me.getMyMetadata({ key: 'binary' });
    assert.ok(Buffer.isBuffer(metadata.value));
    assert.equal(hexOf(metadata.value), hexOf(BINARY));
    assert.deepEqual(metadata, (await management.getUserMetadata({ id: userId, key: 'binary' })).metadata);
    await assertGrpcError(me.getMyMetadata({ key: 'missing' }), Status.NOT_FOUND, 'Metadata not found', 'QUERY-Rgh32');
    await management.bulkRemoveUserMetadata({ id: userId, keys: ['binary', 'text'] });
    assert.equal((await me.listMyMetadata({})).details?.totalResult.toNumber(), 0);
  });
});

describe('organization metadata through @zitadel/node (management v1 over gRPC)', () => {
  let management; // the administrator's
  let org; // a new organization, reached by x-zitadel-orgid
  let at; // nice-grpc's call options naming it

  before(async () => {
    management = createManagementClient(tessera.baseUrl, createAccessTokenInterceptor(tessera.adminPat));
    org = await newOrg(TRANSPORTS['gRPC (h2c)'], 'Initrode');
    at = { metadata: new Metadata({ 'x-zitadel-orgid': org }) };
  });

  test('SetOrgMetadata, BulkSetOrgMetadata, GetOrgMetadata and ListOrgMetadata keep Buffers byte for byte, with the organization\'s details', async () => {
    const set = await management.setOrgMetadata({ key: 'binary', value: Buffer.from(BINARY) }, at);
    assert.equal(set.details?.resourceOwner, org);
    assert.ok(set.details.changeDate instanceof Date, 'details.changeDate');
    await sleep(APART_MS);
    const bulk = await management.bulkSetOrgMetadata(
      {
        metadata: [
          { key: 'text', value: Buffer.from(UTF8) },
          { key: 'tier', value: Buffer.from('gold') },
        ],
      },
      at,
    );
    assert.equal(bulk.details?.resourceOwner, org);
    const { metadata } = await management.getOrgMetadata({ key: 'binary' }, at);
    assert.ok(Buffer.isBuffer(metadata.value));
    assert.equal(hexOf(metadata.value), hexOf(BINARY));
    assert.equal(metadata.details?.resourceOwner, org);
    assert.ok(metadata.details.creationDate instanceof Date, 'details.creationDate');
    assert.equal(metadata.details.changeDate.getTime(), set.details.changeDate.getTime(), 'the answered change date');
    assert.equal(metadata.details.sequence.toString(), set.details.sequence.toString(), 'the answered sequence');

    const listed = await management.listOrgMetadata({ query: { asc: true } }, at);
    assert.equal(listed.details?.totalResult.toNumber(), 3);
    assert.equal(listed.result[0].key, 'binary');
    assert.deepEqual(valuesOf(listed.result), { binary: hexOf(BINARY), text: hexOf(UTF8), tier: hexOf(text('gold')) });
    assert.ok(listed.result.every((m) => Buffer.isBuffer(m.value)), 'values are Buffers');
    const found = await management.listOrgMetadata(
      { queries: [{ keyQuery: { key: 'T', method: NodeTextQueryMethod.TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE } }] },
      at,
    );
    assert.deepEqual(found.result.map((m) => m.key).sort(), ['text', 'tier']);
    const page = await management.listOrgMetadata({ query: { offset: 1, limit: 1, asc: true } }, at);
    assert.equal(page.details?.totalResult.toNumber(), 3);
    assert.equal(page.result.length, 1);
    assert.notEqual(page.result[0].key, 'binary');
  });

  test('the refusals as nice-grpc hands them over (META-2ml0f, META-9mm2d, META-9mw2d, COMMAND-m19ds, META-2npds, META-mcnw3, META-2n0f1, QUERY-Rph32), nothing changed; RemoveOrgMetadata and BulkRemoveOrgMetadata', async () => {
    const keys = async () => (await management.listOrgMetadata({}, at)).result.map((m) => m.key).sort();
    const before = await keys();
    assert.deepEqual(before, ['binary', 'text', 'tier']);
    const refusals = [
      [() => management.setOrgMetadata({ key: 'k', value: Buffer.alloc(0) }, at), Status.INVALID_ARGUMENT, 'Metadata is invalid', 'META-2ml0f'],
      [() => management.setOrgMetadata({ key: '', value: Buffer.from('v') }, at), Status.INVALID_ARGUMENT, 'Metadata is invalid', 'META-2ml0f'],
      [
        () => management.bulkSetOrgMetadata({ metadata: [{ key: 'fine', value: Buffer.from('v') }, { key: 'k'.repeat(MAX_KEY + 1), value: Buffer.from('v') }] }, at),
        Status.INVALID_ARGUMENT,
        'Metadata is invalid',
        'META-2ml0f',
      ],
      [() => management.bulkSetOrgMetadata({ metadata: [] }, at), Status.FAILED_PRECONDITION, 'Metadata list is empty', 'META-9mm2d'],
      [() => management.bulkRemoveOrgMetadata({ keys: [] }, at), Status.FAILED_PRECONDITION, 'Metadata list is empty', 'META-9mw2d'],
      [() => management.bulkRemoveOrgMetadata({ keys: ['text', ''] }, at), Status.INVALID_ARGUMENT, 'Metadata is invalid', 'COMMAND-m19ds'],
      [() => management.bulkRemoveOrgMetadata({ keys: ['text', 'missing'] }, at), Status.NOT_FOUND, 'One or more keys do not exist', 'META-2npds'],
      [() => management.removeOrgMetadata({ key: 'missing' }, at), Status.NOT_FOUND, 'Metadata not found', 'META-mcnw3'],
      [() => management.removeOrgMetadata({ key: '' }, at), Status.INVALID_ARGUMENT, 'Metadata is invalid', 'META-2n0f1'],
      [() => management.getOrgMetadata({ key: 'missing' }, at), Status.NOT_FOUND, 'Metadata not found', 'QUERY-Rph32'],
    ];
    for (const [call, status, message, id] of refusals) {
      await assertGrpcError(call(), status, message, id);
    }
    assert.deepEqual(await keys(), before);
    await management.removeOrgMetadata({ key: 'tier' }, at);
    await assertGrpcError(management.getOrgMetadata({ key: 'tier' }, at), Status.NOT_FOUND, 'Metadata not found', 'QUERY-Rph32');
    await management.bulkRemoveOrgMetadata({ keys: ['binary', 'text'] }, at);
    assert.deepEqual(await keys(), []);
  });

  test('an ORG_OWNER machine user changes its own organization\'s metadata; an ORG_OWNER_VIEWER reads it and is PERMISSION_DENIED (AUTH-5mWD2) on writes; a user with its own ID token on all six', async () => {
    const client = (token) => createManagementClient(tessera.baseUrl, createAccessTokenInterceptor(token));
    const owner = client(machineUser(tessera, org, 'ORG_OWNER').pat);
    const viewer = client(machineUser(tessera, org, 'ORG_OWNER_VIEWER').pat);
    // A user of the administrator's organization (Identity Toolkit signs in the project's users).
    const ada = await addHuman(createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat)));
    const adaSelf = client(await idToken(tessera, ada.email));
    const ownKey = `tier-${hex()}`;
    await management.setOrgMetadata({ key: ownKey, value: Buffer.from('own') });

    const set = await owner.setOrgMetadata({ key: 'badge', value: Buffer.from(BINARY) });
    assert.equal(set.details?.resourceOwner, org);
    const { metadata } = await viewer.getOrgMetadata({ key: 'badge' });
    assert.equal(hexOf(metadata.value), hexOf(BINARY));
    assert.deepEqual(metadata, (await management.getOrgMetadata({ key: 'badge' }, at)).metadata);
    const listed = await viewer.listOrgMetadata({});
    assert.deepEqual(listed.result, (await management.listOrgMetadata({}, at)).result);

    const snapshot = async () => [
      (await management.listOrgMetadata({ query: { asc: true } }, at)).result,
      (await management.listOrgMetadata({ query: { asc: true } })).result,
    ];
    const before = await snapshot();
    const denied = [Status.PERMISSION_DENIED, 'No matching permissions found', 'AUTH-5mWD2'];
    for (const call of [
      () => viewer.setOrgMetadata({ key: 'badge', value: Buffer.from('new') }),
      () => viewer.bulkSetOrgMetadata({ metadata: [{ key: 'new', value: Buffer.from('v') }] }),
      () => viewer.removeOrgMetadata({ key: 'badge' }),
      () => viewer.bulkRemoveOrgMetadata({ keys: ['badge'] }),
      () => adaSelf.listOrgMetadata({}),
      () => adaSelf.getOrgMetadata({ key: ownKey }),
      () => adaSelf.setOrgMetadata({ key: ownKey, value: Buffer.from('new') }),
      () => adaSelf.bulkSetOrgMetadata({ metadata: [{ key: 'new', value: Buffer.from('v') }] }),
      () => adaSelf.removeOrgMetadata({ key: ownKey }),
      () => adaSelf.bulkRemoveOrgMetadata({ keys: [ownKey] }),
    ]) {
      await assertGrpcError(call(), ...denied);
    }
    assert.deepEqual(await snapshot(), before, 'nothing changed');
    await owner.bulkRemoveOrgMetadata({ keys: ['badge'] });
    await management.removeOrgMetadata({ key: ownKey });
    assert.deepEqual((await snapshot())[0], []);
  });
});
