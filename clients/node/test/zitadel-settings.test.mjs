// ZITADEL's settings service v2 (zitadel.settings.v2.SettingsService), read-only, through the
// unmodified official Node clients: @zitadel/client's v2 settings client on the transports the
// other ZITADEL client tests use (gRPC over HTTP/2 without TLS, Connect over HTTP/1.1 as JSON and
// as binary); @zitadel/node (nice-grpc over gRPC), whose own createSettingsClient speaks the
// v2beta service, so a v2 client is made from its generated v2 definition the way the package
// makes its clients; and the REST paths of ZITADEL's gateway (GET /v2/settings/…, with `ctx` as
// query parameters), with fetch.
//
// What dev mode answers, drawn from Tessera's configuration: the general settings (the instance's
// organization, the message languages en and de); the login settings (username and password,
// registration and passkeys allowed, no external providers, the four second factors and U2F with
// verification, ZITADEL's default check lifetimes, login by email and not by phone; forceMfa when
// the project's — or the tenant's — MFA state is MANDATORY, ignoreUnknownUsernames under its email
// privacy); passwords of at least six characters that never expire; no lockout; branding of
// THEME_MODE_AUTO and nothing else; no domain or legal settings; no embedded iframes, no
// impersonation; no active identity providers.
//
// `ctx` picks whose settings: an organization's (`orgId`, one the caller may act in), the
// instance's (`instance: true`, the project's own organization), or, without one, the caller's
// organization. The project's organization's settings are the instance's
// (RESOURCE_OWNER_TYPE_INSTANCE); an organization made with AddOrganization (a new tenant of the
// project) has login settings of its own (RESOURCE_OWNER_TYPE_ORG), drawn from its tenant's
// configuration, and the instance's for the rest. details.resourceOwner is whose settings they
// are: the organization read for its login settings, the instance's organization for the rest.
//
// Who may read: every machine role (IAM_OWNER, ORG_OWNER, ORG_USER_MANAGER, ORG_OWNER_VIEWER; from
// the `tessera admin` CLI, as an operator makes them) all but the security settings, which only
// IAM_OWNER reads; only the instance owner reaches another organization by ctx.orgId; a user
// through its own Identity Toolkit ID token nothing. Refusals are ZITADEL's: PermissionDenied "No
// matching permissions found (AUTH-5mWD2)", NotFound "Organisation not found (COMMAND-55M9f)" for
// an organization that does not exist. The Set… calls are not served.
//
// The tests that change the project's or a tenant's configuration (MFA state, email privacy) put
// it back in a finally block; the server is this file's own (node --test runs each file in its own
// process, with its own server).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { toJson } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { createOrganizationServiceClient, createSettingsServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { createAccessTokenInterceptor } from '@zitadel/node/dist/api/index.js';
import {
  GetActiveIdentityProvidersResponse as NodeGetActiveIdentityProvidersResponse,
  GetBrandingSettingsResponse as NodeGetBrandingSettingsResponse,
  GetDomainSettingsResponse as NodeGetDomainSettingsResponse,
  GetLegalAndSupportSettingsResponse as NodeGetLegalAndSupportSettingsResponse,
  GetLockoutSettingsResponse as NodeGetLockoutSettingsResponse,
  GetLoginSettingsResponse as NodeGetLoginSettingsResponse,
  GetPasswordComplexitySettingsResponse as NodeGetPasswordComplexitySettingsResponse,
  GetPasswordExpirySettingsResponse as NodeGetPasswordExpirySettingsResponse,
  GetSecuritySettingsResponse as NodeGetSecuritySettingsResponse,
  SettingsServiceDefinition as NodeSettingsServiceV2,
} from '@zitadel/node/dist/api/generated/zitadel/settings/v2/settings_service.js';
import {
  MultiFactorType as NodeMultiFactorType,
  PasskeysType as NodePasskeysType,
  SecondFactorType as NodeSecondFactorType,
} from '@zitadel/node/dist/api/generated/zitadel/settings/v2/login_settings.js';
import { ResourceOwnerType as NodeResourceOwnerType } from '@zitadel/node/dist/api/generated/zitadel/settings/v2/settings.js';
import { MultiFactorType, PasskeysType, SecondFactorType } from '@zitadel/proto/zitadel/settings/v2/login_settings_pb.js';
import { ResourceOwnerType } from '@zitadel/proto/zitadel/settings/v2/settings_pb.js';
import {
  GetActiveIdentityProvidersResponseSchema,
  GetBrandingSettingsResponseSchema,
  GetDomainSettingsResponseSchema,
  GetGeneralSettingsResponseSchema,
  GetLegalAndSupportSettingsResponseSchema,
  GetLockoutSettingsResponseSchema,
  GetLoginSettingsResponseSchema,
  GetPasswordComplexitySettingsResponseSchema,
  GetPasswordExpirySettingsResponseSchema,
  GetSecuritySettingsResponseSchema,
} from '@zitadel/proto/zitadel/settings/v2/settings_service_pb.js';
import { createChannel, createClientFactory, Status } from 'nice-grpc';

import { assertGrpcError, assertZitadelError, idToken, machineUser, zitadelTransports } from './zitadel-transports.mjs';
import { hex, PASSWORD, PROJECT, uniqueEmail, useTessera } from './server.mjs';

const tessera = useTessera();

const TRANSPORTS = zitadelTransports(tessera);

const ROLES = ['IAM_OWNER', 'ORG_OWNER', 'ORG_USER_MANAGER', 'ORG_OWNER_VIEWER'];

const DENIED = ['No matching permissions found', 'AUTH-5mWD2'];
const NO_ORG = ['Organisation not found', 'COMMAND-55M9f'];
// An organization id no organization has.
const UNKNOWN_ORG = '404';

// The `ctx` oneof, as @zitadel/client takes it.
const inOrg = (orgId) => ({ ctx: { resourceOwner: { case: 'orgId', value: orgId } } });
const INSTANCE = { ctx: { resourceOwner: { case: 'instance', value: true } } };

// What the settings calls answer, in proto3 JSON (what toJson makes of a client's message, and
// what the REST gateway answers): defaults are left out.
const INSTANCE_OWNED = 'RESOURCE_OWNER_TYPE_INSTANCE';
const ORG_OWNED = 'RESOURCE_OWNER_TYPE_ORG';

/** The login settings' JSON: `owner` is the resource owner type, `forceMfa` and `ignoreUnknownUsernames` when on. */
function loginJson({ owner = INSTANCE_OWNED, forceMfa = false, ignoreUnknownUsernames = false } = {}) {
  return {
    allowUsernamePassword: true,
    allowRegister: true,
    ...(forceMfa ? { forceMfa } : {}),
    passkeysType: 'PASSKEYS_TYPE_ALLOWED',
    ...(ignoreUnknownUsernames ? { ignoreUnknownUsernames } : {}),
    passwordCheckLifetime: '864000s', // 240 h
    externalLoginCheckLifetime: '864000s', // 240 h
    mfaInitSkipLifetime: '2592000s', // 720 h
    secondFactorCheckLifetime: '64800s', // 18 h
    multiFactorCheckLifetime: '43200s', // 12 h
    secondFactors: [
      'SECOND_FACTOR_TYPE_OTP',
      'SECOND_FACTOR_TYPE_U2F',
      'SECOND_FACTOR_TYPE_OTP_EMAIL',
      'SECOND_FACTOR_TYPE_OTP_SMS',
    ],
    multiFactors: ['MULTI_FACTOR_TYPE_U2F_WITH_VERIFICATION'],
    disableLoginWithPhone: true,
    resourceOwnerType: owner,
  };
}

/**
 * Each settings call that takes a `ctx`: its @zitadel/client method, its REST path, its response
 * schema, and the settings' JSON (the same for every organization but the login settings).
 */
const CTX_CALLS = {
  login: { method: 'getLoginSettings', path: '/v2/settings/login', schema: GetLoginSettingsResponseSchema },
  passwordComplexity: {
    method: 'getPasswordComplexitySettings',
    path: '/v2/settings/password/complexity',
    schema: GetPasswordComplexitySettingsResponseSchema,
    settings: { minLength: '6', resourceOwnerType: INSTANCE_OWNED },
  },
  passwordExpiry: {
    method: 'getPasswordExpirySettings',
    path: '/v2/settings/password/expiry',
    schema: GetPasswordExpirySettingsResponseSchema,
    settings: { resourceOwnerType: INSTANCE_OWNED },
  },
  branding: {
    method: 'getBrandingSettings',
    path: '/v2/settings/branding',
    schema: GetBrandingSettingsResponseSchema,
    settings: { resourceOwnerType: INSTANCE_OWNED, themeMode: 'THEME_MODE_AUTO' },
  },
  domain: {
    method: 'getDomainSettings',
    path: '/v2/settings/domain',
    schema: GetDomainSettingsResponseSchema,
    settings: { resourceOwnerType: INSTANCE_OWNED },
  },
  legalAndSupport: {
    method: 'getLegalAndSupportSettings',
    path: '/v2/settings/legal_support',
    schema: GetLegalAndSupportSettingsResponseSchema,
    settings: { resourceOwnerType: INSTANCE_OWNED },
  },
  lockout: {
    method: 'getLockoutSettings',
    path: '/v2/settings/lockout',
    schema: GetLockoutSettingsResponseSchema,
    settings: { resourceOwnerType: INSTANCE_OWNED },
  },
};
const CTX_NAMES = Object.keys(CTX_CALLS);

/**
 * What a ctx-taking call answers for organization `org` (its login settings as `login` has them;
 * the rest are the instance's).
 */
function expectedJson(name, org, login = {}) {
  if (name === 'login') return { details: { resourceOwner: org }, settings: loginJson(login) };
  return { details: { resourceOwner: instanceOrg }, settings: CTX_CALLS[name].settings };
}

/** The security settings' JSON: the instance's, with embedded iframes off (an empty message). */
const securityJson = (instanceOrg) => ({ details: { resourceOwner: instanceOrg }, settings: { embeddedIframe: {} } });

/** The general settings' JSON. */
const generalJson = (instanceOrg) => ({ defaultOrgId: instanceOrg, defaultLanguage: 'en', supportedLanguages: ['en', 'de'] });

/** A ctx-taking call as proto3 JSON: `settings[method](request)` through toJson. */
async function readJson(settings, name, request = {}) {
  const { method, schema } = CTX_CALLS[name];
  const response = await settings[method](request);
  assert.equal(response.$typeName, schema.typeName);
  return toJson(schema, response);
}

/** AddOrganization (the administrator's): { id, name }. */
async function addOrganization(name = `Globex ${hex()}`) {
  const organizations = createOrganizationServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat));
  const added = await organizations.addOrganization({ name });
  assert.match(added.organizationId, /^\d+$/);
  return { id: added.organizationId, name };
}

/** The Identity Toolkit tenant of an organization made with AddOrganization (its display name is the organization's name). */
async function tenantOf(org) {
  const { tenants } = await tessera.admin.tenantManager().listTenants();
  const matching = tenants.filter((tenant) => tenant.displayName === org.name);
  assert.equal(matching.length, 1, `one tenant named ${org.name}: ${JSON.stringify(matching)}`);
  return matching[0].tenantId;
}

/** PATCH of the Identity Toolkit admin API (v2) with dev mode's owner credentials; the JSON answer. */
const adminPatch = (path, updateMask, body) =>
  tessera.rest(`/identitytoolkit.googleapis.com/v2/projects/${PROJECT}${path}?updateMask=${updateMask}`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer owner' },
    body,
  });

/**
 * Sets the project's MFA state (firebase-admin knows only ENABLED and DISABLED, so MANDATORY goes
 * through the Identity Toolkit admin API itself); asserts the answer.
 */
async function setProjectMfa(state) {
  const config = await adminPatch('/config', 'mfa.state', { mfa: { state } });
  assert.equal(config.mfa?.state, state, JSON.stringify(config));
}

/** Sets a tenant's MFA state through the Identity Toolkit admin API; asserts the answer. */
async function setTenantMfa(tenantId, state) {
  const tenant = await adminPatch(`/tenants/${tenantId}`, 'mfaConfig.state', { mfaConfig: { state } });
  assert.equal(tenant.mfaConfig?.state, state, JSON.stringify(tenant));
}

/** firebase-admin's projectConfigManager: the project's improved email privacy on or off. */
async function setProjectPrivacy(on) {
  const config = await tessera.admin.projectConfigManager().updateProjectConfig({ emailPrivacyConfig: { enableImprovedEmailPrivacy: on } });
  assert.deepEqual(config.emailPrivacyConfig, { enableImprovedEmailPrivacy: on });
}

/** firebase-admin's tenantManager: a tenant's improved email privacy on or off. */
async function setTenantPrivacy(tenantId, on) {
  const tenant = await tessera.admin.tenantManager().updateTenant(tenantId, { emailPrivacyConfig: { enableImprovedEmailPrivacy: on } });
  assert.deepEqual(tenant.emailPrivacyConfig, { enableImprovedEmailPrivacy: on });
}

/** The project's MFA state and email privacy as firebase-admin reads them, to put back afterwards. */
async function projectConfig() {
  const { multiFactorConfig, emailPrivacyConfig } = await tessera.admin.projectConfigManager().getProjectConfig();
  return { mfa: multiFactorConfig?.state, privacy: emailPrivacyConfig?.enableImprovedEmailPrivacy ?? false };
}

/** Runs `body`, then puts the project's MFA state and email privacy back as they were, whatever happens. */
async function restoringProject(body) {
  const saved = await projectConfig();
  assert.deepEqual(saved, { mfa: 'ENABLED', privacy: false }, 'dev mode\'s project: MFA enabled, email privacy off');
  try {
    await body();
  } finally {
    await setProjectMfa(saved.mfa);
    await setProjectPrivacy(saved.privacy);
  }
}

// Made once for the file: the instance's organization (the administrator's), a tenant
// organization (Globex), a machine user of each role in each, and a human user.
let instanceOrg;
let globex; // { id, name }
let initech; // another organization, for reaching across
const machines = { instance: {}, globex: {} }; // role → { id, pat }
let ada; // a human user of the project (the instance's organization): { userId, email }

/** The file's organizations and users, made once, by the first suite's `before` (after the server's). */
let made;
const makeOnce = () => (made ??= make());

async function make() {
  const users = createUserServiceClient(TRANSPORTS['gRPC (h2c)'](tessera.adminPat));
  const email = uniqueEmail('zitadel-settings');
  const added = await users.addHumanUser({
    profile: { givenName: 'Ada', familyName: 'Lovelace' },
    email: { email, verification: { case: 'isVerified', value: true } },
    passwordType: { case: 'password', value: { password: PASSWORD } },
  });
  // The administrator's organization is the project's own: the instance's.
  instanceOrg = added.details?.resourceOwner;
  assert.match(instanceOrg, /^\d+$/);
  ada = { userId: added.userId, email };
  globex = await addOrganization();
  initech = await addOrganization(`Initech ${hex()}`);
  for (const role of ROLES) {
    machines.instance[role] = machineUser(tessera, instanceOrg, role);
    if (role !== 'IAM_OWNER') machines.globex[role] = machineUser(tessera, globex.id, role);
  }
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`settings v2 through @zitadel/client over ${name}`, () => {
    let settings; // the administrator's

    before(async () => {
      await makeOnce();
      settings = createSettingsServiceClient(transport(tessera.adminPat));
    });

    test('GetGeneralSettings: the instance\'s organization as the default, English first, then German', async () => {
      const general = await settings.getGeneralSettings({});
      assert.equal(general.$typeName, 'zitadel.settings.v2.GetGeneralSettingsResponse');
      assert.equal(general.defaultOrgId, instanceOrg);
      assert.equal(general.defaultLanguage, 'en');
      assert.deepEqual(general.supportedLanguages, ['en', 'de']);
      assert.deepEqual(toJson(GetGeneralSettingsResponseSchema, general), generalJson(instanceOrg));
    });

    test('GetLoginSettings: username and password, registration and passkeys allowed, no external IdPs, MFA not forced, the four second factors, ZITADEL\'s lifetimes, login by email and not by phone', async () => {
      const { details, settings: login } = await settings.getLoginSettings({});
      assert.equal(details?.resourceOwner, instanceOrg);
      assert.equal(login.allowUsernamePassword, true);
      assert.equal(login.allowRegister, true);
      assert.equal(login.allowExternalIdp, false, 'dev mode configures no identity provider');
      assert.equal(login.forceMfa, false, 'dev mode\'s project has MFA ENABLED, not MANDATORY');
      assert.equal(login.passkeysType, PasskeysType.ALLOWED);
      assert.equal(login.ignoreUnknownUsernames, false, 'email privacy is off');
      assert.equal(login.hidePasswordReset, false);
      assert.equal(login.allowDomainDiscovery, false);
      assert.equal(login.defaultRedirectUri, '');
      const hours = (duration) => {
        assert.equal(duration.nanos, 0);
        return Number(duration.seconds) / 3600;
      };
      assert.deepEqual(
        [
          login.passwordCheckLifetime,
          login.externalLoginCheckLifetime,
          login.mfaInitSkipLifetime,
          login.secondFactorCheckLifetime,
          login.multiFactorCheckLifetime,
        ].map(hours),
        [240, 240, 720, 18, 12],
      );
      assert.deepEqual(login.secondFactors, [SecondFactorType.OTP, SecondFactorType.U2F, SecondFactorType.OTP_EMAIL, SecondFactorType.OTP_SMS]);
      assert.deepEqual(login.multiFactors, [MultiFactorType.U2F_WITH_VERIFICATION]);
      assert.equal(login.disableLoginWithEmail, false);
      assert.equal(login.disableLoginWithPhone, true);
      assert.equal(login.resourceOwnerType, ResourceOwnerType.INSTANCE);
      assert.deepEqual(await readJson(settings, 'login'), expectedJson('login', instanceOrg));
    });

    test('the password complexity (six characters, nothing required), expiry (never), branding (AUTO), domain, legal and support, and lockout (none) settings: the instance\'s', async () => {
      const complexity = await settings.getPasswordComplexitySettings({});
      assert.equal(complexity.settings?.minLength, 6n);
      for (const flag of ['requiresUppercase', 'requiresLowercase', 'requiresNumber', 'requiresSymbol']) {
        assert.equal(complexity.settings[flag], false, flag);
      }
      const expiry = await settings.getPasswordExpirySettings({});
      assert.deepEqual([expiry.settings?.maxAgeDays, expiry.settings?.expireWarnDays], [0n, 0n]);
      const lockout = await settings.getLockoutSettings({});
      assert.deepEqual([lockout.settings?.maxPasswordAttempts, lockout.settings?.maxOtpAttempts], [0n, 0n]);
      for (const name of CTX_NAMES.filter((n) => n !== 'login')) {
        assert.deepEqual(await readJson(settings, name), expectedJson(name, instanceOrg), name);
      }
    });

    test('GetSecuritySettings: embedded iframes disabled (no allowed origins), no impersonation', async () => {
      const security = await settings.getSecuritySettings({});
      assert.equal(security.details?.resourceOwner, instanceOrg);
      assert.equal(security.settings?.embeddedIframe?.enabled, false);
      assert.deepEqual(security.settings.embeddedIframe.allowedOrigins, []);
      assert.equal(security.settings.enableImpersonation, false);
      assert.deepEqual(toJson(GetSecuritySettingsResponseSchema, security), securityJson(instanceOrg));
    });

    test('GetActiveIdentityProviders: none in dev mode, with or without the option filters; the list details are of now', async () => {
      for (const request of [{}, INSTANCE, inOrg(globex.id), { creationAllowed: true }, { linkingAllowed: true, autoCreation: true }, { autoLinking: false }]) {
        const started = Date.now();
        const listed = await settings.getActiveIdentityProviders(request);
        assert.deepEqual(listed.identityProviders, [], JSON.stringify(request));
        assert.equal(listed.details?.totalResult, 0n);
        const at = Number(listed.details.timestamp.seconds) * 1000 + listed.details.timestamp.nanos / 1e6;
        assert.ok(at >= started - 1000 && at <= Date.now() + 1000, `details.timestamp is now, not ${at}`);
        const json = toJson(GetActiveIdentityProvidersResponseSchema, listed);
        assert.deepEqual(Object.keys(json), ['details']);
        assert.deepEqual(Object.keys(json.details), ['timestamp']);
      }
    });

    test('ctx: none, {instance: true} and {orgId: the instance\'s organization} all read the instance\'s settings', async () => {
      for (const name of CTX_NAMES) {
        const expected = expectedJson(name, instanceOrg);
        assert.deepEqual(await readJson(settings, name), expected, `${name}, no ctx`);
        assert.deepEqual(await readJson(settings, name, INSTANCE), expected, `${name}, instance`);
        assert.deepEqual(await readJson(settings, name, inOrg(instanceOrg)), expected, `${name}, orgId`);
        // A ctx with neither set is no ctx.
        assert.deepEqual(await readJson(settings, name, { ctx: {} }), expected, `${name}, empty ctx`);
      }
    });

    test('ctx {orgId} of an organization made with AddOrganization: its own login settings (RESOURCE_OWNER_TYPE_ORG), the instance\'s for the rest; details name it', async () => {
      const login = await settings.getLoginSettings(inOrg(globex.id));
      assert.equal(login.details?.resourceOwner, globex.id);
      assert.equal(login.settings?.resourceOwnerType, ResourceOwnerType.ORG);
      for (const name of CTX_NAMES) {
        assert.deepEqual(await readJson(settings, name, inOrg(globex.id)), expectedJson(name, globex.id, { owner: ORG_OWNED }), name);
        assert.deepEqual(await readJson(settings, name, inOrg(initech.id)), expectedJson(name, initech.id, { owner: ORG_OWNED }), name);
      }
    });

    test('ctx {orgId} of no organization: NotFound "Organisation not found (COMMAND-55M9f)" on each of the eight calls that take a ctx', async () => {
      for (const name of [...CTX_NAMES, 'activeIdentityProviders']) {
        const method = CTX_CALLS[name]?.method ?? 'getActiveIdentityProviders';
        for (const org of [UNKNOWN_ORG, `${instanceOrg}0`]) {
          await assertZitadelError(settings[method](inOrg(org)), Code.NotFound, ...NO_ORG);
        }
      }
    });

    test('the project\'s MFA state MANDATORY forces MFA in the instance\'s login settings (only MANDATORY: ENABLED and DISABLED do not); its email privacy ignores unknown usernames; a tenant organization keeps its own', async () => {
      const instanceLogin = (ctx = {}) => readJson(settings, 'login', ctx);
      const globexLogin = () => readJson(settings, 'login', inOrg(globex.id));
      await restoringProject(async () => {
        await setProjectMfa('MANDATORY');
        const forced = expectedJson('login', instanceOrg, { forceMfa: true });
        assert.deepEqual(await instanceLogin(), forced);
        assert.deepEqual(await instanceLogin(INSTANCE), forced);
        assert.deepEqual(await instanceLogin(inOrg(instanceOrg)), forced);
        assert.equal((await settings.getLoginSettings({})).settings?.forceMfa, true);
        assert.deepEqual(await globexLogin(), expectedJson('login', globex.id, { owner: ORG_OWNED }), 'Globex\'s tenant is not MANDATORY');

        await setProjectPrivacy(true);
        assert.deepEqual(await instanceLogin(), expectedJson('login', instanceOrg, { forceMfa: true, ignoreUnknownUsernames: true }));
        assert.equal((await settings.getLoginSettings(INSTANCE)).settings?.ignoreUnknownUsernames, true);
        assert.deepEqual(await globexLogin(), expectedJson('login', globex.id, { owner: ORG_OWNED }), 'Globex\'s tenant keeps its privacy off');

        for (const state of ['DISABLED', 'ENABLED']) {
          await setProjectMfa(state);
          assert.deepEqual(await instanceLogin(), expectedJson('login', instanceOrg, { ignoreUnknownUsernames: true }), state);
        }
        await setProjectPrivacy(false);
        assert.deepEqual(await instanceLogin(), expectedJson('login', instanceOrg));
        // Nothing else follows the project's configuration.
        await setProjectMfa('MANDATORY');
        await setProjectPrivacy(true);
        for (const name of CTX_NAMES.filter((n) => n !== 'login')) {
          assert.deepEqual(await readJson(settings, name), expectedJson(name, instanceOrg), name);
        }
      });
      assert.deepEqual(await instanceLogin(), expectedJson('login', instanceOrg), 'the project is back as it was');
    });

    test('a tenant organization\'s MFA state MANDATORY and email privacy show in its login settings only, not in the instance\'s or another organization\'s', async () => {
      const tenantId = await tenantOf(globex);
      const { multiFactorConfig } = await tessera.admin.tenantManager().getTenant(tenantId);
      assert.equal(multiFactorConfig?.state, 'ENABLED', 'a new tenant has MFA enabled');
      try {
        await setTenantMfa(tenantId, 'MANDATORY');
        assert.deepEqual(await readJson(settings, 'login', inOrg(globex.id)), expectedJson('login', globex.id, { owner: ORG_OWNED, forceMfa: true }));
        await setTenantPrivacy(tenantId, true);
        const both = expectedJson('login', globex.id, { owner: ORG_OWNED, forceMfa: true, ignoreUnknownUsernames: true });
        assert.deepEqual(await readJson(settings, 'login', inOrg(globex.id)), both);
        assert.deepEqual(await readJson(settings, 'login'), expectedJson('login', instanceOrg), 'the instance\'s');
        assert.deepEqual(await readJson(settings, 'login', INSTANCE), expectedJson('login', instanceOrg), 'the instance\'s, by ctx');
        assert.deepEqual(await readJson(settings, 'login', inOrg(initech.id)), expectedJson('login', initech.id, { owner: ORG_OWNED }), 'Initech\'s');
        // Globex's machine users read the same without a ctx.
        const own = createSettingsServiceClient(transport(machines.globex.ORG_OWNER_VIEWER.pat));
        assert.deepEqual(await readJson(own, 'login'), both);
        await setTenantMfa(tenantId, 'DISABLED');
        assert.deepEqual(await readJson(settings, 'login', inOrg(globex.id)), expectedJson('login', globex.id, { owner: ORG_OWNED, ignoreUnknownUsernames: true }));
      } finally {
        await setTenantMfa(tenantId, 'ENABLED');
        await setTenantPrivacy(tenantId, false);
      }
      assert.deepEqual(await readJson(settings, 'login', inOrg(globex.id)), expectedJson('login', globex.id, { owner: ORG_OWNED }));
    });

    test('every machine role of the instance\'s organization reads its settings, the instance\'s and the general settings; only IAM_OWNER the security settings and another organization\'s (the others: PermissionDenied AUTH-5mWD2)', async () => {
      for (const role of ROLES) {
        const mine = createSettingsServiceClient(transport(machines.instance[role].pat));
        assert.deepEqual(toJson(GetGeneralSettingsResponseSchema, await mine.getGeneralSettings({})), generalJson(instanceOrg), role);
        for (const name of CTX_NAMES) {
          const expected = expectedJson(name, instanceOrg);
          assert.deepEqual(await readJson(mine, name), expected, `${role}: ${name}`);
          assert.deepEqual(await readJson(mine, name, INSTANCE), expected, `${role}: ${name}, instance`);
          assert.deepEqual(await readJson(mine, name, inOrg(instanceOrg)), expected, `${role}: ${name}, own organization`);
        }
        assert.deepEqual((await mine.getActiveIdentityProviders({})).identityProviders, [], role);
        if (role === 'IAM_OWNER') {
          assert.deepEqual(toJson(GetSecuritySettingsResponseSchema, await mine.getSecuritySettings({})), securityJson(instanceOrg));
          assert.deepEqual(await readJson(mine, 'login', inOrg(globex.id)), expectedJson('login', globex.id, { owner: ORG_OWNED }));
          assert.deepEqual((await mine.getActiveIdentityProviders(inOrg(globex.id))).identityProviders, []);
        } else {
          await assertZitadelError(mine.getSecuritySettings({}), Code.PermissionDenied, ...DENIED);
          for (const name of CTX_NAMES) {
            await assertZitadelError(mine[CTX_CALLS[name].method](inOrg(globex.id)), Code.PermissionDenied, ...DENIED);
          }
          await assertZitadelError(mine.getActiveIdentityProviders(inOrg(globex.id)), Code.PermissionDenied, ...DENIED);
        }
        // An organization that does not exist is not found, whoever asks.
        await assertZitadelError(mine.getLoginSettings(inOrg(UNKNOWN_ORG)), Code.NotFound, ...NO_ORG);
      }
    });

    test('a tenant organization\'s machine users (ORG_OWNER, ORG_USER_MANAGER, ORG_OWNER_VIEWER) read their own organization\'s settings without a ctx, and the instance\'s; not the security settings, nor another organization\'s (AUTH-5mWD2)', async () => {
      for (const [role, { pat }] of Object.entries(machines.globex)) {
        const theirs = createSettingsServiceClient(transport(pat));
        assert.deepEqual(toJson(GetGeneralSettingsResponseSchema, await theirs.getGeneralSettings({})), generalJson(instanceOrg), role);
        for (const name of CTX_NAMES) {
          const own = expectedJson(name, globex.id, { owner: ORG_OWNED });
          assert.deepEqual(await readJson(theirs, name), own, `${role}: ${name}`);
          assert.deepEqual(await readJson(theirs, name, inOrg(globex.id)), own, `${role}: ${name}, own organization`);
          assert.deepEqual(await readJson(theirs, name, INSTANCE), expectedJson(name, instanceOrg), `${role}: ${name}, instance`);
          for (const other of [instanceOrg, initech.id]) {
            await assertZitadelError(theirs[CTX_CALLS[name].method](inOrg(other)), Code.PermissionDenied, ...DENIED);
          }
        }
        assert.deepEqual((await theirs.getActiveIdentityProviders({})).identityProviders, [], role);
        await assertZitadelError(theirs.getActiveIdentityProviders(inOrg(instanceOrg)), Code.PermissionDenied, ...DENIED);
        await assertZitadelError(theirs.getSecuritySettings({}), Code.PermissionDenied, ...DENIED);
        await assertZitadelError(theirs.getLoginSettings(inOrg(UNKNOWN_ORG)), Code.NotFound, ...NO_ORG);
      }
    });

    test('a user with its own Identity Toolkit ID token reads none of the ten: PermissionDenied (AUTH-5mWD2), with any ctx; an unknown organization is still NotFound', async () => {
      const self = createSettingsServiceClient(transport(await idToken(tessera, ada.email)));
      await assertZitadelError(self.getGeneralSettings({}), Code.PermissionDenied, ...DENIED);
      await assertZitadelError(self.getSecuritySettings({}), Code.PermissionDenied, ...DENIED);
      for (const method of [...CTX_NAMES.map((n) => CTX_CALLS[n].method), 'getActiveIdentityProviders']) {
        for (const request of [{}, INSTANCE, inOrg(instanceOrg), inOrg(globex.id)]) {
          await assertZitadelError(self[method](request), Code.PermissionDenied, ...DENIED);
        }
        await assertZitadelError(self[method](inOrg(UNKNOWN_ORG)), Code.NotFound, ...NO_ORG);
      }
    });

    test('a token the server did not issue: Unauthenticated "Errors.Token.Invalid (AUTH-7fs1e)"', async () => {
      const stranger = createSettingsServiceClient(transport(`not-a-token-${hex()}`));
      for (const call of [() => stranger.getGeneralSettings({}), () => stranger.getLoginSettings({}), () => stranger.getSecuritySettings({})]) {
        await assertZitadelError(call(), Code.Unauthenticated, 'Errors.Token.Invalid', 'AUTH-7fs1e');
      }
    });

    test('the Set… calls (and GetHostedLoginTranslation) are not served: Unimplemented, and the settings stay as they were', async () => {
      // Only the code is asserted: over Connect the answer is ZITADEL's error "Errors.Method.NotImplemented
      // (TESSERA-RPC01)", over gRPC a bare UNIMPLEMENTED with no message and no ErrorDetail.
      const unimplemented = async (promise) => {
        const error = await promise.then(
          (response) => assert.fail(`expected Unimplemented, got a ${response.$typeName}`),
          (e) => e,
        );
        assert.ok(error instanceof ConnectError, String(error));
        assert.equal(error.code, Code.Unimplemented, `${Code[error.code]}: ${error.rawMessage}`);
      };
      await unimplemented(
        settings.setSecuritySettings({ embeddedIframe: { enabled: true, allowedOrigins: ['https://example.com'] }, enableImpersonation: true }),
      );
      await unimplemented(settings.setHostedLoginTranslation({ level: { case: 'instance', value: true }, locale: 'en', translations: {} }));
      await unimplemented(settings.getHostedLoginTranslation({ level: { case: 'instance', value: true }, locale: 'en' }));
      assert.deepEqual(toJson(GetSecuritySettingsResponseSchema, await settings.getSecuritySettings({})), securityJson(instanceOrg));
    });
  });
}

describe('settings v2 through @zitadel/node (nice-grpc over gRPC, from its generated v2 definition)', () => {
  const client = (token) => createClientFactory().use(createAccessTokenInterceptor(token)).create(NodeSettingsServiceV2, createChannel(tessera.baseUrl));
  // ts-proto's messages as proto3 JSON.
  const NODE_JSON = {
    login: NodeGetLoginSettingsResponse,
    passwordComplexity: NodeGetPasswordComplexitySettingsResponse,
    passwordExpiry: NodeGetPasswordExpirySettingsResponse,
    branding: NodeGetBrandingSettingsResponse,
    domain: NodeGetDomainSettingsResponse,
    legalAndSupport: NodeGetLegalAndSupportSettingsResponse,
    lockout: NodeGetLockoutSettingsResponse,
  };
  // ts-proto writes Durations as objects, not as "…s" strings.
  const durationsAsObjects = (login) =>
    Object.fromEntries(
      Object.entries(login).map(([key, value]) => [key, key.endsWith('Lifetime') ? { seconds: value.slice(0, -1) } : value]),
    );
  /** What @zitadel/node decodes: its definition knows LoginSettings.allowLocalAuthentication too. */
  const nodeExpected = (name, org, login) => {
    const expected = expectedJson(name, org, login);
    if (name !== 'login') return expected;
    return { ...expected, settings: { ...durationsAsObjects(expected.settings), allowLocalAuthentication: true } };
  };
  let settings;

  before(async () => {
    await makeOnce();
    settings = client(tessera.adminPat);
  });

  test('the general, login and security settings, field by field', async () => {
    const general = await settings.getGeneralSettings({});
    assert.equal(general.defaultOrgId, instanceOrg);
    assert.equal(general.defaultOrganizationId, instanceOrg);
    assert.equal(general.defaultLanguage, 'en');
    assert.deepEqual(general.supportedLanguages, ['en', 'de']);

    const { details, settings: login } = await settings.getLoginSettings({ ctx: undefined });
    assert.equal(details?.resourceOwner, instanceOrg);
    assert.equal(login.allowUsernamePassword, true);
    assert.equal(login.allowRegister, true);
    assert.equal(login.allowExternalIdp, false);
    assert.equal(login.forceMfa, false);
    assert.equal(login.passkeysType, NodePasskeysType.PASSKEYS_TYPE_ALLOWED);
    assert.equal(login.ignoreUnknownUsernames, false);
    assert.deepEqual(
      [
        login.passwordCheckLifetime,
        login.externalLoginCheckLifetime,
        login.mfaInitSkipLifetime,
        login.secondFactorCheckLifetime,
        login.multiFactorCheckLifetime,
      ].map((d) => [d.seconds.toNumber() / 3600, d.nanos]),
      [
        [240, 0],
        [240, 0],
        [720, 0],
        [18, 0],
        [12, 0],
      ],
    );
    assert.deepEqual(login.secondFactors, [
      NodeSecondFactorType.SECOND_FACTOR_TYPE_OTP,
      NodeSecondFactorType.SECOND_FACTOR_TYPE_U2F,
      NodeSecondFactorType.SECOND_FACTOR_TYPE_OTP_EMAIL,
      NodeSecondFactorType.SECOND_FACTOR_TYPE_OTP_SMS,
    ]);
    assert.deepEqual(login.multiFactors, [NodeMultiFactorType.MULTI_FACTOR_TYPE_U2F_WITH_VERIFICATION]);
    assert.equal(login.disableLoginWithEmail, false);
    assert.equal(login.disableLoginWithPhone, true);
    assert.equal(login.resourceOwnerType, NodeResourceOwnerType.RESOURCE_OWNER_TYPE_INSTANCE);

    const security = await settings.getSecuritySettings({});
    assert.deepEqual(NodeGetSecuritySettingsResponse.toJSON(security), securityJson(instanceOrg));
    assert.deepEqual(security.settings?.embeddedIframe, { enabled: false, allowedOrigins: [] });
    assert.equal(security.settings.enableImpersonation, false);

    const idps = await settings.getActiveIdentityProviders({ ctx: { instance: true } });
    assert.deepEqual(idps.identityProviders, []);
    assert.equal(idps.details?.totalResult.toNumber(), 0);
    assert.ok(Math.abs(idps.details.timestamp.getTime() - Date.now()) < 5000, `details.timestamp is now: ${idps.details.timestamp}`);
    assert.deepEqual(Object.keys(NodeGetActiveIdentityProvidersResponse.toJSON(idps)), ['details']);
  });

  test('each ctx-taking call for no ctx, {instance: true}, the instance\'s organization and a tenant organization', async () => {
    for (const name of CTX_NAMES) {
      const { method } = CTX_CALLS[name];
      const json = async (request) => NODE_JSON[name].toJSON(await settings[method](request));
      const instance = nodeExpected(name, instanceOrg);
      assert.deepEqual(await json({}), instance, name);
      assert.deepEqual(await json({ ctx: { instance: true } }), instance, `${name}, instance`);
      assert.deepEqual(await json({ ctx: { orgId: instanceOrg } }), instance, `${name}, orgId`);
      assert.deepEqual(await json({ ctx: { orgId: globex.id } }), nodeExpected(name, globex.id, { owner: ORG_OWNED }), `${name}, Globex`);
    }
  });

  test('the refusals as nice-grpc hands them over: NOT_FOUND (COMMAND-55M9f), PERMISSION_DENIED (AUTH-5mWD2) for a viewer\'s security settings and another organization, and for a user\'s ID token', async () => {
    for (const name of CTX_NAMES) {
      await assertGrpcError(settings[CTX_CALLS[name].method]({ ctx: { orgId: UNKNOWN_ORG } }), Status.NOT_FOUND, ...NO_ORG);
    }
    const viewer = client(machines.globex.ORG_OWNER_VIEWER.pat);
    assert.equal((await viewer.getLoginSettings({})).details?.resourceOwner, globex.id);
    await assertGrpcError(viewer.getSecuritySettings({}), Status.PERMISSION_DENIED, ...DENIED);
    await assertGrpcError(viewer.getLoginSettings({ ctx: { orgId: instanceOrg } }), Status.PERMISSION_DENIED, ...DENIED);
    await assertGrpcError(viewer.getBrandingSettings({ ctx: { orgId: initech.id } }), Status.PERMISSION_DENIED, ...DENIED);
    const self = client(await idToken(tessera, ada.email));
    for (const call of [
      () => self.getGeneralSettings({}),
      () => self.getLoginSettings({}),
      () => self.getPasswordComplexitySettings({ ctx: { instance: true } }),
      () => self.getActiveIdentityProviders({}),
      () => self.getSecuritySettings({}),
    ]) {
      await assertGrpcError(call(), Status.PERMISSION_DENIED, ...DENIED);
    }
  });

  test('the project\'s MFA state MANDATORY shows as forceMfa', async () => {
    await restoringProject(async () => {
      await setProjectMfa('MANDATORY');
      assert.equal((await settings.getLoginSettings({})).settings?.forceMfa, true);
      assert.equal((await settings.getLoginSettings({ ctx: { orgId: globex.id } })).settings?.forceMfa, false);
    });
    assert.equal((await settings.getLoginSettings({})).settings?.forceMfa, false);
  });
});

describe("settings v2 through the REST paths of ZITADEL's gateway (fetch)", () => {
  /** GET `path` with `token` (the administrator's by default): { status, body }. */
  const get = async (path, token = tessera.adminPat) => {
    const response = await fetch(new URL(path, tessera.baseUrl), { headers: { authorization: `Bearer ${token}` } });
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return { status: response.status, body: await response.json() };
  };
  /**
   * GET `path`, asserting 200; the JSON body as @zitadel/proto 1.3.1 knows it. ZITADEL's newer
   * fields, which its descriptors lack, are checked against the older ones they replace and
   * left out: defaultOrganizationId (defaultOrgId), allowLocalAuthentication
   * (allowUsernamePassword).
   */
  const ok = async (path, token) => {
    const { status, body } = await get(path, token);
    assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
    if ('defaultOrgId' in body) {
      assert.equal(body.defaultOrganizationId, body.defaultOrgId, path);
      delete body.defaultOrganizationId;
    }
    if (body.settings && 'allowUsernamePassword' in body.settings) {
      assert.equal(body.settings.allowLocalAuthentication, body.settings.allowUsernamePassword, path);
      delete body.settings.allowLocalAuthentication;
    }
    return body;
  };
  /** Asserts ZITADEL's REST error: the HTTP status, the gRPC code, the message and its ErrorDetail. */
  const assertRestError = ({ status, body }, httpStatus, code, [message, id]) => {
    assert.equal(status, httpStatus, JSON.stringify(body));
    assert.equal(body.code, code, JSON.stringify(body));
    assert.equal(body.message, `${message} (${id})`);
    assert.deepEqual(
      body.details.map((detail) => ({ type: detail['@type'], id: detail.id, message: detail.message })),
      [{ type: 'type.googleapis.com/zitadel.v1.ErrorDetail', id, message }],
    );
  };
  const withCtx = (path, query) => `${path}${query ? `?${query}` : ''}`;

  before(makeOnce);

  test('GET /v2/settings and /v2/settings/security: the general and security settings', async () => {
    assert.deepEqual(await ok('/v2/settings'), generalJson(instanceOrg));
    assert.deepEqual(await ok('/v2/settings/security'), securityJson(instanceOrg));
  });

  test('each ctx-taking path with no ctx, ?ctx.instance=true and ?ctx.orgId=…: the same JSON the clients decode', async () => {
    const connect = createSettingsServiceClient(TRANSPORTS['Connect JSON (HTTP/1.1)'](tessera.adminPat));
    for (const name of CTX_NAMES) {
      const { path } = CTX_CALLS[name];
      const instance = expectedJson(name, instanceOrg);
      for (const query of ['', 'ctx.instance=true', `ctx.orgId=${instanceOrg}`]) {
        assert.deepEqual(await ok(withCtx(path, query)), instance, `${path}?${query}`);
      }
      const tenant = await ok(withCtx(path, `ctx.orgId=${globex.id}`));
      assert.deepEqual(tenant, expectedJson(name, globex.id, { owner: ORG_OWNED }), `${path}, Globex`);
      assert.deepEqual(tenant, await readJson(connect, name, inOrg(globex.id)), `${path}: what the client decodes`);
    }
  });

  test('GET /v2/settings/login/idps: none, with or without filters; totalResult (0) left out, the timestamp now', async () => {
    for (const query of ['', 'ctx.instance=true', `ctx.orgId=${globex.id}`, 'creationAllowed=true', 'linkingAllowed=true&autoCreation=true&autoLinking=false']) {
      const started = Date.now();
      const body = await ok(withCtx('/v2/settings/login/idps', query));
      assert.deepEqual(Object.keys(body), ['details'], `${query}: ${JSON.stringify(body)}`);
      assert.deepEqual(Object.keys(body.details), ['timestamp']);
      const at = Date.parse(body.details.timestamp);
      assert.ok(at >= started - 1000 && at <= Date.now() + 1000, `details.timestamp is now, not ${body.details.timestamp}`);
    }
  });

  test('the project\'s MFA state MANDATORY and email privacy show in GET /v2/settings/login', async () => {
    await restoringProject(async () => {
      await setProjectMfa('MANDATORY');
      await setProjectPrivacy(true);
      const expected = expectedJson('login', instanceOrg, { forceMfa: true, ignoreUnknownUsernames: true });
      assert.deepEqual(await ok('/v2/settings/login'), expected);
      assert.deepEqual(await ok('/v2/settings/login?ctx.instance=true'), expected);
      assert.deepEqual(await ok(`/v2/settings/login?ctx.orgId=${globex.id}`), expectedJson('login', globex.id, { owner: ORG_OWNED }));
    });
    assert.deepEqual(await ok('/v2/settings/login'), expectedJson('login', instanceOrg));
  });

  test('the refusals: 404 (5) COMMAND-55M9f for an unknown ?ctx.orgId, 403 (7) AUTH-5mWD2 for a viewer\'s security settings, another organization and an ID token, 401 (16) for a token not issued here', async () => {
    const paths = [...CTX_NAMES.map((n) => CTX_CALLS[n].path), '/v2/settings/login/idps'];
    for (const path of paths) {
      assertRestError(await get(`${path}?ctx.orgId=${UNKNOWN_ORG}`), 404, 5, NO_ORG);
    }
    const viewer = machines.globex.ORG_OWNER_VIEWER.pat;
    assert.equal((await ok('/v2/settings/login', viewer)).details.resourceOwner, globex.id);
    assertRestError(await get('/v2/settings/security', viewer), 403, 7, DENIED);
    for (const path of paths) {
      assertRestError(await get(`${path}?ctx.orgId=${instanceOrg}`, viewer), 403, 7, DENIED);
    }
    const token = await idToken(tessera, ada.email);
    for (const path of ['/v2/settings', '/v2/settings/security', ...paths]) {
      assertRestError(await get(path, token), 403, 7, DENIED);
    }
    assertRestError(await get('/v2/settings/login', `not-a-token-${hex()}`), 401, 16, ['Errors.Token.Invalid', 'AUTH-7fs1e']);
  });
});
