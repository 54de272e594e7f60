// ZITADEL's organization service v2 ListOrganizations (zitadel.org.v2.OrganizationService), through
// the unmodified @zitadel/client on the transports the other ZITADEL client tests use (gRPC over
// HTTP/2 without TLS, Connect over HTTP/1.1 as JSON and as binary), and its REST path
// (POST /v2/organizations/_search) with fetch.
//
// The organizations are the project's: its own (ZITADEL's default organization, named after the
// project) and each made with AddOrganization (named as given); each active, without a primary
// domain, its own resource owner. Queries are AND-ed: nameQuery (ZITADEL's eight text methods,
// the *_IGNORE_CASE ones folding case), idQuery, stateQuery (ACTIVE matches all, any other state
// none), defaultQuery (the project's own), domainQuery (nothing: organizations here have no
// domains). ORGANIZATION_FIELD_NAME_NAME sorts by name (byte order), anything else by id;
// query.asc ascends (without it, descending, as ZITADEL orders), offset and limit page, and
// details.totalResult counts every match.
//
// Who sees what: the instance owner (dev mode's PAT, an IAM_OWNER machine user) every one; a
// machine user of an organization (any role) only its own; a user with its own Identity Toolkit
// ID token none (an empty list, totalResult 0).
//
// The server is this file's own (node --test runs each file in its own process, with its own
// server), so the full list is exactly the project's organization and the four made here; the
// query tests still keep to this file's organizations by their common suffix.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { toJson } from '@bufbuild/protobuf';
import { createOrganizationServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { TextQueryMethod } from '@zitadel/proto/zitadel/object/v2/object_pb.js';
import { OrganizationState } from '@zitadel/proto/zitadel/org/v2/org_pb.js';
import { ListOrganizationsResponseSchema } from '@zitadel/proto/zitadel/org/v2/org_service_pb.js';
import { OrganizationFieldName } from '@zitadel/proto/zitadel/org/v2/query_pb.js';

import { idToken, machineUser, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, PROJECT, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const TRANSPORTS = zitadelTransports(tessera);

// Every organization made here ends with it (lowercase hex: its case matters to the queries).
const SUFFIX = hex();
const ORG_ROLES = ['ORG_OWNER', 'ORG_USER_MANAGER', 'ORG_OWNER_VIEWER'];

// The search queries, as @zitadel/client takes them.
const nameQuery = (name, method = TextQueryMethod.EQUALS) => ({ query: { case: 'nameQuery', value: { name, method } } });
const idQuery = (id) => ({ query: { case: 'idQuery', value: { id } } });
const stateQuery = (state) => ({ query: { case: 'stateQuery', value: { state } } });
const domainQuery = (domain, method = TextQueryMethod.EQUALS) => ({ query: { case: 'domainQuery', value: { domain, method } } });
const DEFAULT = { query: { case: 'defaultQuery', value: {} } };
// This file's organizations.
const OURS = nameQuery(` ${SUFFIX}`, TextQueryMethod.ENDS_WITH);
const BY_NAME = OrganizationFieldName.NAME;

/** An organization as the tests compare it. */
const shown = (org) => ({ id: org.id, name: org.name, state: org.state, primaryDomain: org.primaryDomain, resourceOwner: org.details?.resourceOwner });
/** What an organization { id, name } is listed as: active, no domain, its own resource owner. */
const listed = ({ id, name }) => ({ id, name, state: OrganizationState.ACTIVE, primaryDomain: '', resourceOwner: id });

const bytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const byName = (orgs) => [...orgs].sort((a, b) => bytes(a.name, b.name) || bytes(a.id, b.id));
const byId = (orgs) => [...orgs].sort((a, b) => bytes(a.id, b.id));

/** ListOrganizations: { total, orgs } (orgs as `shown`); checks the response's type and its echoed sorting column. */
async function list(client, request = {}) {
  const response = await client.listOrganizations(request);
  assert.equal(response.$typeName, 'zitadel.org.v2.ListOrganizationsResponse');
  assert.equal(response.sortingColumn, request.sortingColumn ?? OrganizationFieldName.UNSPECIFIED);
  assert.ok(response.details, 'list details');
  return { total: response.details.totalResult, orgs: response.result.map(shown) };
}

/** Asserts that `request` lists exactly `orgs`, in that order, all of them (totalResult). */
async function assertListed(client, request, orgs, why = JSON.stringify(request, (_, v) => (typeof v === 'bigint' ? `${v}` : v))) {
  assert.deepEqual(await list(client, request), { total: BigInt(orgs.length), orgs: orgs.map(listed) }, why);
}

// Made once for the file: the project's organization (the instance's), four more, machine users.
let instanceOrg; // { id, name }
let globex, labs, initech, uberwald; // { id, name }
let ours; // the four
let ada; // a human user of the project: her address
const machines = { instance: {}, globex: {} }; // role → { id, pat }

let made;
const makeOnce = () => (made ??= make());

async function make() {
  const admin = TRANSPORTS['gRPC (h2c)'](tessera.adminPat);
  ada = uniqueEmail('zitadel-organizations');
  const added = await createUserServiceClient(admin).addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email: ada, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  // The administrator's organization is the project's own, named after the project.
  instanceOrg = { id: added.details?.resourceOwner, name: PROJECT };
  assert.match(instanceOrg.id, /^\d+$/);
  const organizations = createOrganizationServiceClient(admin);
  const add = async (prefix) => {
    const name = `${prefix} ${SUFFIX}`;
    const { organizationId: id } = await organizations.addOrganization({ name });
    assert.match(id, /^\d+$/);
    return { id, name };
  };
  globex = await add('Globex');
  labs = await add('globex-Labs');
  initech = await add('Initech');
  uberwald = await add('Überwald');
  ours = [globex, labs, initech, uberwald];
  for (const role of ['IAM_OWNER', 'ORG_OWNER']) machines.instance[role] = machineUser(tessera, instanceOrg.id, role);
  for (const role of ORG_ROLES) machines.globex[role] = machineUser(tessera, globex.id, role);
}

for (const [transportName, transport] of Object.entries(TRANSPORTS)) {
  describe(`ListOrganizations through @zitadel/client over ${transportName}`, () => {
    let orgs; // the administrator's

    before(async () => {
      await makeOnce();
      orgs = createOrganizationServiceClient(transport(tessera.adminPat));
    });

    test('no queries: the project\'s own organization (named after the project) and every one added, each active, without a domain, its own resource owner; by id, descending without asc', async () => {
      const everyone = [instanceOrg, ...ours];
      await assertListed(orgs, {}, byId(everyone).reverse());
      await assertListed(orgs, { query: { asc: true } }, byId(everyone));
      const response = await orgs.listOrganizations({ queries: [idQuery(globex.id)] });
      const [org] = response.result;
      assert.ok(org.details?.changeDate && org.details.creationDate, 'details have their dates');
    });

    test('nameQuery: each of the eight text methods, the *_IGNORE_CASE ones folding case (also beyond ASCII)', async () => {
      const SUFFIX_UP = SUFFIX.toUpperCase();
      const cases = [
        [TextQueryMethod.EQUALS, `Globex ${SUFFIX}`, [globex]],
        [TextQueryMethod.EQUALS, `globex ${SUFFIX}`, []],
        [TextQueryMethod.EQUALS, 'Globex', []],
        [TextQueryMethod.EQUALS_IGNORE_CASE, `gLOBEX ${SUFFIX_UP}`, [globex]],
        [TextQueryMethod.EQUALS_IGNORE_CASE, `üBERWALD ${SUFFIX_UP}`, [uberwald]],
        [TextQueryMethod.STARTS_WITH, 'Globex', [globex]],
        [TextQueryMethod.STARTS_WITH, 'globex', [labs]],
        [TextQueryMethod.STARTS_WITH, 'lobex', []],
        [TextQueryMethod.STARTS_WITH_IGNORE_CASE, 'GLOBEX', [globex, labs]],
        [TextQueryMethod.STARTS_WITH_IGNORE_CASE, 'üBER', [uberwald]],
        [TextQueryMethod.CONTAINS, 'Lab', [labs]],
        [TextQueryMethod.CONTAINS, 'LAB', []],
        // Literal text: no LIKE wildcards.
        [TextQueryMethod.CONTAINS, '_', []],
        [TextQueryMethod.CONTAINS, '%', []],
        [TextQueryMethod.CONTAINS_IGNORE_CASE, 'LAB', [labs]],
        [TextQueryMethod.CONTAINS_IGNORE_CASE, 'EX', [globex, labs]],
        [TextQueryMethod.ENDS_WITH, `Labs ${SUFFIX}`, [labs]],
        [TextQueryMethod.ENDS_WITH, `LABS ${SUFFIX}`, []],
        [TextQueryMethod.ENDS_WITH, SUFFIX, ours],
        [TextQueryMethod.ENDS_WITH_IGNORE_CASE, `LABS ${SUFFIX_UP}`, [labs]],
        [TextQueryMethod.ENDS_WITH_IGNORE_CASE, `WALD ${SUFFIX_UP}`, [uberwald]],
      ];
      for (const [method, name, expected] of cases) {
        const request = { sortingColumn: BY_NAME, query: { asc: true }, queries: [OURS, nameQuery(name, method)] };
        await assertListed(orgs, request, byName(expected), `${TextQueryMethod[method]} ${JSON.stringify(name)}`);
      }
      // The project's own organization is named after the project.
      await assertListed(orgs, { queries: [nameQuery(PROJECT)] }, [instanceOrg]);
      await assertListed(orgs, { queries: [nameQuery(PROJECT.toUpperCase(), TextQueryMethod.EQUALS_IGNORE_CASE)] }, [instanceOrg]);
    });

    test('idQuery, stateQuery (ACTIVE: all; INACTIVE, REMOVED, UNSPECIFIED: none), defaultQuery (the project\'s own), domainQuery (none), all AND-ed', async () => {
      await assertListed(orgs, { queries: [idQuery(globex.id)] }, [globex]);
      await assertListed(orgs, { queries: [idQuery(instanceOrg.id)] }, [instanceOrg]);
      await assertListed(orgs, { queries: [idQuery('404')] }, []);
      await assertListed(orgs, { query: { asc: true }, queries: [OURS, stateQuery(OrganizationState.ACTIVE)] }, byId(ours));
      for (const state of [OrganizationState.INACTIVE, OrganizationState.REMOVED, OrganizationState.UNSPECIFIED]) {
        await assertListed(orgs, { queries: [stateQuery(state)] }, [], OrganizationState[state]);
      }
      await assertListed(orgs, { queries: [DEFAULT] }, [instanceOrg]);
      await assertListed(orgs, { queries: [DEFAULT, stateQuery(OrganizationState.ACTIVE)] }, [instanceOrg]);
      await assertListed(orgs, { queries: [DEFAULT, OURS] }, []);
      await assertListed(orgs, { queries: [DEFAULT, idQuery(globex.id)] }, []);
      for (const [domain, method] of [
        ['localhost', TextQueryMethod.EQUALS],
        ['', TextQueryMethod.CONTAINS],
        [`globex-${SUFFIX}`, TextQueryMethod.CONTAINS_IGNORE_CASE],
        ['', TextQueryMethod.STARTS_WITH],
      ]) {
        await assertListed(orgs, { queries: [domainQuery(domain, method)] }, [], `domain ${TextQueryMethod[method]} ${JSON.stringify(domain)}`);
      }
      // AND: each query narrows.
      await assertListed(orgs, { queries: [idQuery(globex.id), nameQuery('Globex', TextQueryMethod.STARTS_WITH)] }, [globex]);
      await assertListed(orgs, { queries: [idQuery(globex.id), nameQuery('Initech', TextQueryMethod.STARTS_WITH)] }, []);
      await assertListed(orgs, { queries: [idQuery(globex.id), idQuery(initech.id)] }, []);
      await assertListed(orgs, { queries: [OURS, nameQuery('globex', TextQueryMethod.STARTS_WITH_IGNORE_CASE), nameQuery('Labs', TextQueryMethod.CONTAINS)] }, [labs]);
    });

    test('sortingColumn NAME sorts by name in byte order (upper case before lower, Ü after both), ascending with asc, else descending; other columns by id', async () => {
      const everyone = [instanceOrg, ...ours];
      const names = byName(everyone).map((org) => org.name);
      assert.deepEqual(names, [globex.name, initech.name, PROJECT, labs.name, uberwald.name], 'the expectation itself');
      await assertListed(orgs, { sortingColumn: BY_NAME, query: { asc: true } }, byName(everyone));
      await assertListed(orgs, { sortingColumn: BY_NAME }, byName(everyone).reverse());
      await assertListed(orgs, { sortingColumn: BY_NAME, query: { asc: true }, queries: [OURS] }, byName(ours));
      await assertListed(orgs, { sortingColumn: OrganizationFieldName.UNSPECIFIED, query: { asc: true } }, byId(everyone));
    });

    test('query offset and limit page; totalResult counts every match', async () => {
      const sorted = byName([instanceOrg, ...ours]).map(listed);
      const page = async (offset, limit) => list(orgs, { sortingColumn: BY_NAME, query: { asc: true, offset: BigInt(offset), limit } });
      assert.deepEqual(await page(0, 2), { total: 5n, orgs: sorted.slice(0, 2) });
      assert.deepEqual(await page(2, 2), { total: 5n, orgs: sorted.slice(2, 4) });
      assert.deepEqual(await page(4, 2), { total: 5n, orgs: sorted.slice(4) });
      assert.deepEqual(await page(1, 0), { total: 5n, orgs: sorted.slice(1) }, 'limit 0: the default page');
      assert.deepEqual(await page(5, 10), { total: 5n, orgs: [] }, 'past the end');
      assert.deepEqual(await page(99, 1), { total: 5n, orgs: [] }, 'far past the end');
      const descending = await list(orgs, { query: { offset: 1n, limit: 2 }, queries: [OURS] });
      assert.deepEqual(descending, { total: 4n, orgs: byId(ours).reverse().slice(1, 3).map(listed) });
    });

    test('the instance owner\'s IAM_OWNER machine user sees every organization; a machine user of an organization, whatever its role, only its own', async () => {
      const iam = createOrganizationServiceClient(transport(machines.instance.IAM_OWNER.pat));
      await assertListed(iam, { query: { asc: true } }, byId([instanceOrg, ...ours]));
      const owner = createOrganizationServiceClient(transport(machines.instance.ORG_OWNER.pat));
      await assertListed(owner, {}, [instanceOrg], 'ORG_OWNER of the project\'s organization');
      await assertListed(owner, { queries: [DEFAULT] }, [instanceOrg]);
      await assertListed(owner, { queries: [idQuery(globex.id)] }, []);
      for (const [role, { pat }] of Object.entries(machines.globex)) {
        const theirs = createOrganizationServiceClient(transport(pat));
        await assertListed(theirs, {}, [globex], role);
        await assertListed(theirs, { sortingColumn: BY_NAME, query: { asc: true }, queries: [OURS, stateQuery(OrganizationState.ACTIVE)] }, [globex], role);
        await assertListed(theirs, { queries: [nameQuery('globex', TextQueryMethod.STARTS_WITH_IGNORE_CASE)] }, [globex], role);
        for (const other of [DEFAULT, idQuery(initech.id), idQuery(instanceOrg.id), nameQuery(PROJECT)]) {
          await assertListed(theirs, { queries: [other] }, [], `${role}: ${other.query.case}`);
        }
        assert.deepEqual(await list(theirs, { query: { offset: 1n } }), { total: 1n, orgs: [] }, role);
      }
    });

    test('a user with its own Identity Toolkit ID token sees none: an empty list, totalResult 0, whatever it asks', async () => {
      const self = createOrganizationServiceClient(transport(await idToken(tessera, ada)));
      for (const request of [{}, { queries: [DEFAULT] }, { queries: [idQuery(instanceOrg.id)] }, { sortingColumn: BY_NAME, query: { asc: true, limit: 10 } }]) {
        await assertListed(self, request, []);
      }
    });
  });
}

describe('ListOrganizations through REST: POST /v2/organizations/_search', () => {
  before(makeOnce);

  const search = (token, body) =>
    tessera.rest('/v2/organizations/_search', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
  // What is compared: the answer without its timestamps (details.timestamp, changeDate, creationDate).
  const withoutTimes = ({ details: { timestamp, ...details } = {}, result, ...rest }) => ({
    ...rest,
    details,
    ...(result ? { result: result.map(({ details: { changeDate, creationDate, sequence, ...owner }, ...org }) => ({ ...org, details: owner })) } : {}),
  });

  test('the administrator\'s JSON search answers what the client reads: sorted by name, paged, queried; each organization\'s JSON', async () => {
    const body = {
      sortingColumn: 'ORGANIZATION_FIELD_NAME_NAME',
      query: { asc: true, offset: '1', limit: 2 },
      queries: [{ nameQuery: { name: ` ${SUFFIX}`, method: 'TEXT_QUERY_METHOD_ENDS_WITH' } }, { stateQuery: { state: 'ORGANIZATION_STATE_ACTIVE' } }],
    };
    const answer = await search(tessera.adminPat, body);
    const [second, third] = byName(ours).slice(1, 3);
    assert.deepEqual(withoutTimes(answer), {
      details: { totalResult: '4' },
      sortingColumn: 'ORGANIZATION_FIELD_NAME_NAME',
      result: [second, third].map(({ id, name }) => ({ id, details: { resourceOwner: id }, state: 'ORGANIZATION_STATE_ACTIVE', name })),
    });
    const client = createOrganizationServiceClient(TRANSPORTS['Connect JSON (HTTP/1.1)'](tessera.adminPat));
    const read = await client.listOrganizations({
      sortingColumn: BY_NAME,
      query: { asc: true, offset: 1n, limit: 2 },
      queries: [OURS, stateQuery(OrganizationState.ACTIVE)],
    });
    assert.deepEqual(withoutTimes(toJson(ListOrganizationsResponseSchema, read)), withoutTimes(answer));
    const defaults = await search(tessera.adminPat, { queries: [{ defaultQuery: {} }] });
    assert.deepEqual(withoutTimes(defaults).result, [{ id: instanceOrg.id, details: { resourceOwner: instanceOrg.id }, state: 'ORGANIZATION_STATE_ACTIVE', name: PROJECT }]);
    const none = await search(tessera.adminPat, { queries: [{ domainQuery: { domain: 'localhost' } }] });
    assert.deepEqual(withoutTimes(none), { details: {} }, 'totalResult 0 and no result: left out of the JSON');
  });

  test('a machine user of Globex finds only Globex; a user through its ID token nothing', async () => {
    const own = await search(machines.globex.ORG_OWNER_VIEWER.pat, {});
    assert.deepEqual(withoutTimes(own), {
      details: { totalResult: '1' },
      result: [{ id: globex.id, details: { resourceOwner: globex.id }, state: 'ORGANIZATION_STATE_ACTIVE', name: globex.name }],
    });
    assert.deepEqual(withoutTimes(await search(await idToken(tessera, ada), {})), { details: {} });
  });
});
