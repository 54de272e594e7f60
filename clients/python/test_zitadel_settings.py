"""The settings service v2, read-only, through ZITADEL's official Python client (PyPI
`zitadel-client`, Connect JSON), unmodified: `settings.get_general_settings`,
`get_login_settings`, `get_active_identity_providers`, `get_password_complexity_settings`,
`get_password_expiry_settings`, `get_branding_settings`, `get_domain_settings`,
`get_legal_and_support_settings`, `get_lockout_settings` and `get_security_settings`
(zitadel.settings.v2.SettingsService).

What dev mode answers, drawn from Tessera's configuration: the general settings (the instance's
organization as the default, the message languages en and de); the login settings (username and
password, registration and passkeys allowed, no external providers, the four second factors and
U2F with verification, ZITADEL's default check lifetimes, login by email and not by phone;
`forceMfa` when the project's — or the tenant's — MFA state is MANDATORY, `ignoreUnknownUsernames`
under its email privacy); passwords of at least six characters that never expire; no lockout;
branding of THEME_MODE_AUTO and nothing else; no domain or legal settings; no embedded iframes,
no impersonation; no active identity providers.

`ctx` picks whose settings: an organization's (`orgId`, one the caller may act in), the
instance's (`instance`, the project's own organization), or, without one, the caller's
organization. The project's organization's settings are the instance's
(RESOURCE_OWNER_TYPE_INSTANCE); an organization made with AddOrganization (a new tenant) has
login settings of its own (RESOURCE_OWNER_TYPE_ORG), from its tenant's configuration, and the
instance's for the rest. `details.resourceOwner` is the organization read.

Who may read: every machine role (IAM_OWNER, ORG_OWNER, ORG_USER_MANAGER, ORG_OWNER_VIEWER, made
with the `tessera admin` CLI as an operator makes them) all but the security settings, which
only IAM_OWNER reads; only the instance owner reaches another organization by `ctx.orgId`; a
user through its own Identity Toolkit ID token nothing. Refusals arrive as the client's ApiError
with ZITADEL's body. The Set… calls are not served.

The responses are compared as the JSON the client would send them back as (`to_json`, which
with what is unset left out): the client's 4.x models also have fields newer than the served
proto (`defaultOrganizationId`, `allowedLanguages`, `allowLocalAuthentication`), which stay
unset here. The module changes the project's and a tenant's configuration (MFA state, email
privacy), so it runs on a server of its own (`own_tessera`), and puts each change back."""

import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import requests
from zitadel_client import Zitadel
from zitadel_client.models import (
    OrganizationServiceAddOrganizationRequest,
    SettingsServiceGetActiveIdentityProvidersRequest,
    SettingsServiceGetBrandingSettingsRequest,
    SettingsServiceGetDomainSettingsRequest,
    SettingsServiceGetHostedLoginTranslationRequest,
    SettingsServiceGetLegalAndSupportSettingsRequest,
    SettingsServiceGetLockoutSettingsRequest,
    SettingsServiceGetLoginSettingsRequest,
    SettingsServiceGetPasswordComplexitySettingsRequest,
    SettingsServiceGetPasswordExpirySettingsRequest,
    SettingsServiceMultiFactorType,
    SettingsServicePasskeysType,
    SettingsServiceRequestContext,
    SettingsServiceResourceOwnerType,
    SettingsServiceSecondFactorType,
    SettingsServiceSetHostedLoginTranslationRequest,
    SettingsServiceSetSecuritySettingsRequest,
    SettingsServiceEmbeddedIframeSettings,
    UserServiceAddHumanUserRequest,
    UserServicePassword,
    UserServiceSetHumanEmail,
    UserServiceSetHumanProfile,
)

from conftest import PROJECT
from test_zitadel_client import PASSWORD, expect_error, unique_email
from test_zitadel_sessions import id_token

ROLES = ["IAM_OWNER", "ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER"]

DENIED = (403, "permission_denied", "No matching permissions found", "AUTH-5mWD2")
NO_ORG = (404, "not_found", "Organisation not found", "COMMAND-55M9f")
INVALID_TOKEN = (401, "unauthenticated", "Errors.Token.Invalid", "AUTH-7fs1e")
NOT_SERVED = (501, "unimplemented", "Errors.Method.NotImplemented", "TESSERA-RPC01")

# An organization id no organization has.
UNKNOWN_ORG = "404"

INSTANCE_OWNED = "RESOURCE_OWNER_TYPE_INSTANCE"
ORG_OWNED = "RESOURCE_OWNER_TYPE_ORG"

# Each settings call that takes a `ctx`: the client's method, its request model, and the
# settings' JSON (the same for every organization, but for the login settings).
CTX_CALLS = {
    "login": ("get_login_settings", SettingsServiceGetLoginSettingsRequest, None),
    "password_complexity": (
        "get_password_complexity_settings",
        SettingsServiceGetPasswordComplexitySettingsRequest,
        {"minLength": "6", "resourceOwnerType": INSTANCE_OWNED},
    ),
    "password_expiry": (
        "get_password_expiry_settings",
        SettingsServiceGetPasswordExpirySettingsRequest,
        {"resourceOwnerType": INSTANCE_OWNED},
    ),
    "branding": (
        "get_branding_settings",
        SettingsServiceGetBrandingSettingsRequest,
        {"resourceOwnerType": INSTANCE_OWNED, "themeMode": "THEME_MODE_AUTO"},
    ),
    "domain": ("get_domain_settings", SettingsServiceGetDomainSettingsRequest, {"resourceOwnerType": INSTANCE_OWNED}),
    "legal_and_support": (
        "get_legal_and_support_settings",
        SettingsServiceGetLegalAndSupportSettingsRequest,
        {"resourceOwnerType": INSTANCE_OWNED},
    ),
    "lockout": ("get_lockout_settings", SettingsServiceGetLockoutSettingsRequest, {"resourceOwnerType": INSTANCE_OWNED}),
}
NOT_LOGIN = [name for name in CTX_CALLS if name != "login"]


def login_json(owner: str = INSTANCE_OWNED, force_mfa: bool = False, ignore_unknown: bool = False) -> dict:
    """The login settings' JSON; `forceMfa` and `ignoreUnknownUsernames` only when on."""
    settings = {
        "allowUsernamePassword": True,
        "allowLocalAuthentication": True,
        "allowRegister": True,
        "passkeysType": "PASSKEYS_TYPE_ALLOWED",
        "passwordCheckLifetime": "864000s",  # 240 h
        "externalLoginCheckLifetime": "864000s",  # 240 h
        "mfaInitSkipLifetime": "2592000s",  # 720 h
        "secondFactorCheckLifetime": "64800s",  # 18 h
        "multiFactorCheckLifetime": "43200s",  # 12 h
        "secondFactors": [
            "SECOND_FACTOR_TYPE_OTP",
            "SECOND_FACTOR_TYPE_U2F",
            "SECOND_FACTOR_TYPE_OTP_EMAIL",
            "SECOND_FACTOR_TYPE_OTP_SMS",
        ],
        "multiFactors": ["MULTI_FACTOR_TYPE_U2F_WITH_VERIFICATION"],
        "disableLoginWithPhone": True,
        "resourceOwnerType": owner,
    }
    if force_mfa:
        settings["forceMfa"] = True
    if ignore_unknown:
        settings["ignoreUnknownUsernames"] = True
    return settings


def expected(name: str, org: str, instance: str | None = None, **login) -> dict:
    """What a ctx-taking call answers for organization `org` (the login settings as
    `login_json(**login)`); the other settings are the instance's (organization `instance`,
    `org` itself when not given)."""
    if name == "login":
        return {"details": {"resourceOwner": org}, "settings": login_json(**login)}
    return {"details": {"resourceOwner": instance or org}, "settings": CTX_CALLS[name][2]}


def general_json(instance_org: str) -> dict:
    return {
        "defaultOrgId": instance_org,
        "defaultLanguage": "en",
        "supportedLanguages": ["en", "de"],
        "defaultOrganizationId": instance_org,
    }


def security_json(instance_org: str) -> dict:
    """The instance's security settings: embedded iframes off (an empty message), no impersonation."""
    return {"details": {"resourceOwner": instance_org}, "settings": {"embeddedIframe": {}}}


def as_json(response) -> dict:
    """A response as the JSON the client makes of it, without what was unset (the client writes
    its nullable fields, such as `details.sequence`, as null)."""

    def unset_left_out(value):
        if isinstance(value, dict):
            return {key: unset_left_out(item) for key, item in value.items() if item is not None}
        if isinstance(value, list):
            return [unset_left_out(item) for item in value]
        return value

    return unset_left_out(json.loads(response.to_json()))


def in_org(org_id: str) -> SettingsServiceRequestContext:
    return SettingsServiceRequestContext(org_id=org_id)


INSTANCE = SettingsServiceRequestContext(instance=True)


def call(zitadel: Zitadel, name: str, ctx: SettingsServiceRequestContext | None = None):
    """A ctx-taking settings call, with `ctx` (none: the caller's organization)."""
    method, request, _ = CTX_CALLS[name]
    return getattr(zitadel.settings, method)(request(ctx=ctx))


def read(zitadel: Zitadel, name: str, ctx: SettingsServiceRequestContext | None = None) -> dict:
    return as_json(call(zitadel, name, ctx))


def all_ctx_calls(zitadel: Zitadel):
    """Each ctx-taking call, the active identity providers included: (name, call(ctx))."""
    calls = [(name, lambda ctx, name=name: call(zitadel, name, ctx)) for name in CTX_CALLS]
    idps = lambda ctx: zitadel.settings.get_active_identity_providers(SettingsServiceGetActiveIdentityProvidersRequest(ctx=ctx))  # noqa: E731
    return [*calls, ("active_identity_providers", idps)]


# ---------------------------------------------------------------------------------------------
# The server's Identity Toolkit configuration, through its admin API with dev mode's owner
# credentials.


def admin_api(server, method: str, path: str, **kwargs) -> dict:
    reply = requests.request(
        method,
        f"{server.base}/identitytoolkit.googleapis.com/v2/projects/{PROJECT}{path}",
        headers={"Authorization": "Bearer owner"},
        timeout=10,
        **kwargs,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def patch(server, path: str, update_mask: str, body: dict) -> dict:
    return admin_api(server, "PATCH", path, params={"updateMask": update_mask}, json=body)


def set_project(server, mfa: str | None = None, privacy: bool | None = None) -> None:
    """Sets the project's MFA state and/or its improved email privacy; checks the answer."""
    if mfa is not None:
        assert patch(server, "/config", "mfa.state", {"mfa": {"state": mfa}})["mfa"]["state"] == mfa
    if privacy is not None:
        config = patch(
            server,
            "/config",
            "emailPrivacyConfig.enableImprovedEmailPrivacy",
            {"emailPrivacyConfig": {"enableImprovedEmailPrivacy": privacy}},
        )
        assert config["emailPrivacyConfig"] == {"enableImprovedEmailPrivacy": privacy}


def set_tenant(server, tenant_id: str, mfa: str | None = None, privacy: bool | None = None) -> None:
    """Sets a tenant's MFA state and/or its improved email privacy; checks the answer."""
    if mfa is not None:
        tenant = patch(server, f"/tenants/{tenant_id}", "mfaConfig.state", {"mfaConfig": {"state": mfa}})
        assert tenant["mfaConfig"]["state"] == mfa
    if privacy is not None:
        tenant = patch(
            server,
            f"/tenants/{tenant_id}",
            "emailPrivacyConfig.enableImprovedEmailPrivacy",
            {"emailPrivacyConfig": {"enableImprovedEmailPrivacy": privacy}},
        )
        assert tenant["emailPrivacyConfig"] == {"enableImprovedEmailPrivacy": privacy}


def tenant_of(server, org) -> str:
    """The tenant of an organization made with AddOrganization: the one with its name."""
    tenants = admin_api(server, "GET", "/tenants").get("tenants", [])
    matching = [tenant for tenant in tenants if tenant.get("displayName") == org.name]
    assert len(matching) == 1, tenants
    return matching[0]["name"].rsplit("/", 1)[1]


# ---------------------------------------------------------------------------------------------
# Fixtures: the module's own server, and what it holds.


@pytest.fixture(scope="module")
def server(own_tessera):
    return own_tessera


@pytest.fixture(scope="module")
def world(server):
    """The instance's organization (the administrator's), two organizations made with
    AddOrganization (Globex and Initech), a machine user of each role in the instance's
    organization and of each but IAM_OWNER in Globex (`machines[org][role]`, a zitadel-client
    with its PAT), and a human user of the project (`ada`, her address)."""
    zitadel = server.zitadel
    ada = unique_email("settings")
    added = zitadel.users.add_human_user(
        UserServiceAddHumanUserRequest(
            profile=UserServiceSetHumanProfile(given_name="Ada", family_name="Lovelace"),
            email=UserServiceSetHumanEmail(email=ada, is_verified=True),
            password=UserServicePassword(password=PASSWORD),
        )
    )
    instance_org = added.details.resource_owner
    assert instance_org and instance_org.isdigit(), added

    def organization(name: str) -> SimpleNamespace:
        name = f"{name} {uuid.uuid4().hex[:10]}"
        org = zitadel.organizations.add_organization(OrganizationServiceAddOrganizationRequest(name=name))
        assert org.organization_id.isdigit(), org
        return SimpleNamespace(id=org.organization_id, name=name)

    globex, initech = organization("Globex"), organization("Initech")

    def machine(org: str, role: str) -> Zitadel:
        user_id = server.admin("create-machine-user", org, f"{role.lower()}-{uuid.uuid4().hex[:8]}", "--role", role)
        assert user_id.isdigit(), user_id
        return Zitadel.with_access_token(server.base, server.admin("create-pat", user_id))

    machines = {
        "instance": {role: machine(instance_org, role) for role in ROLES},
        "globex": {role: machine(globex.id, role) for role in ROLES if role != "IAM_OWNER"},
    }
    return SimpleNamespace(instance_org=instance_org, globex=globex, initech=initech, machines=machines, ada=ada)


@pytest.fixture
def zitadel(server) -> Zitadel:
    """The administrator's client (an IAM_OWNER machine user, through dev mode's PAT)."""
    return server.zitadel


@pytest.fixture
def restored_project(server, zitadel, world):
    """Puts the project's MFA state (dev mode's ENABLED) and email privacy (off) back after the test."""
    config = admin_api(server, "GET", "/config")
    assert config["mfa"]["state"] == "ENABLED", config
    assert config["emailPrivacyConfig"] == {"enableImprovedEmailPrivacy": False}, config
    yield
    set_project(server, mfa="ENABLED", privacy=False)
    assert read(zitadel, "login") == expected("login", world.instance_org)


# ---------------------------------------------------------------------------------------------
# What the administrator reads.


def test_general_settings_name_the_instance_organization_and_the_message_languages(zitadel, world):
    general = zitadel.settings.get_general_settings()
    assert general.default_org_id == world.instance_org
    assert general.default_language == "en"
    assert general.supported_languages == ["en", "de"]
    assert as_json(general) == general_json(world.instance_org)


def test_login_settings_field_by_field(zitadel, world):
    answer = zitadel.settings.get_login_settings(SettingsServiceGetLoginSettingsRequest())
    assert answer.details.resource_owner == world.instance_org
    login = answer.settings
    assert login.allow_username_password is True
    assert login.allow_register is True
    assert not login.allow_external_idp, "dev mode configures no identity provider"
    assert not login.force_mfa, "dev mode's project has MFA ENABLED, not MANDATORY"
    assert login.passkeys_type == SettingsServicePasskeysType.PASSKEYS_TYPE_ALLOWED
    assert not login.ignore_unknown_usernames, "email privacy is off"
    lifetimes = [
        login.password_check_lifetime,
        login.external_login_check_lifetime,
        login.mfa_init_skip_lifetime,
        login.second_factor_check_lifetime,
        login.multi_factor_check_lifetime,
    ]
    assert lifetimes == [f"{hours * 3600}s" for hours in (240, 240, 720, 18, 12)]
    assert login.second_factors == [
        SettingsServiceSecondFactorType.SECOND_FACTOR_TYPE_OTP,
        SettingsServiceSecondFactorType.SECOND_FACTOR_TYPE_U2_F,
        SettingsServiceSecondFactorType.SECOND_FACTOR_TYPE_OTP_EMAIL,
        SettingsServiceSecondFactorType.SECOND_FACTOR_TYPE_OTP_SMS,
    ]
    assert login.multi_factors == [SettingsServiceMultiFactorType.MULTI_FACTOR_TYPE_U2_F_WITH_VERIFICATION]
    assert not login.disable_login_with_email
    assert login.disable_login_with_phone is True
    assert login.resource_owner_type == SettingsServiceResourceOwnerType.RESOURCE_OWNER_TYPE_INSTANCE
    assert as_json(answer) == expected("login", world.instance_org)


def test_password_lockout_branding_domain_and_legal_settings_are_the_instances(zitadel, world):
    complexity = call(zitadel, "password_complexity").settings
    assert int(complexity.min_length) == 6
    assert not any([complexity.requires_uppercase, complexity.requires_lowercase, complexity.requires_number, complexity.requires_symbol])
    expiry = call(zitadel, "password_expiry").settings
    assert not expiry.max_age_days and not expiry.expire_warn_days
    lockout = call(zitadel, "lockout").settings
    assert not lockout.max_password_attempts and not lockout.max_otp_attempts
    branding = call(zitadel, "branding").settings
    assert branding.theme_mode.value == "THEME_MODE_AUTO"
    assert branding.light_theme is None and branding.dark_theme is None
    for name in NOT_LOGIN:
        assert read(zitadel, name) == expected(name, world.instance_org), name


def test_security_settings_disable_embedded_iframes_and_impersonation(zitadel, world):
    security = zitadel.settings.get_security_settings()
    assert security.details.resource_owner == world.instance_org
    assert not security.settings.embedded_iframe.enabled
    assert not security.settings.embedded_iframe.allowed_origins
    assert not security.settings.enable_impersonation
    assert as_json(security) == security_json(world.instance_org)


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"ctx": INSTANCE},
        {"creation_allowed": True},
        {"linking_allowed": True, "auto_creation": True},
        {"auto_linking": False},
    ],
    ids=["plain", "instance", "creation", "linking-and-auto-creation", "no-auto-linking"],
)
def test_no_active_identity_providers_in_dev_mode(zitadel, world, request_):
    started = datetime.now(timezone.utc)
    listed = zitadel.settings.get_active_identity_providers(SettingsServiceGetActiveIdentityProvidersRequest(**request_))
    assert not listed.identity_providers
    assert not listed.details.total_result
    assert started - timedelta(seconds=1) <= listed.details.timestamp <= datetime.now(timezone.utc) + timedelta(seconds=1)
    # Only the timestamp is set (the client's to_json cannot write a datetime, so to_dict).
    answered = listed.to_dict()
    assert [key for key, value in answered.items() if value is not None] == ["details"]
    assert [key for key, value in answered["details"].items() if value is not None] == ["timestamp"]
    in_globex = SettingsServiceGetActiveIdentityProvidersRequest(ctx=in_org(world.globex.id), **{k: v for k, v in request_.items() if k != "ctx"})
    assert not zitadel.settings.get_active_identity_providers(in_globex).identity_providers


# ---------------------------------------------------------------------------------------------
# ctx.


def test_no_ctx_the_instance_and_the_instance_organization_read_the_same(zitadel, world):
    for name in CTX_CALLS:
        instance = expected(name, world.instance_org)
        assert read(zitadel, name) == instance, name
        assert read(zitadel, name, INSTANCE) == instance, f"{name}, instance"
        assert read(zitadel, name, in_org(world.instance_org)) == instance, f"{name}, orgId"
        # A ctx with neither set is no ctx.
        assert read(zitadel, name, SettingsServiceRequestContext()) == instance, f"{name}, empty ctx"


def test_an_organization_made_with_add_organization_has_login_settings_of_its_own(zitadel, world):
    login = call(zitadel, "login", in_org(world.globex.id))
    assert login.details.resource_owner == world.globex.id
    assert login.settings.resource_owner_type == SettingsServiceResourceOwnerType.RESOURCE_OWNER_TYPE_ORG
    for org in (world.globex, world.initech):
        for name in CTX_CALLS:
            assert read(zitadel, name, in_org(org.id)) == expected(name, org.id, world.instance_org, owner=ORG_OWNED), (org.name, name)


def test_an_organization_that_does_not_exist_is_not_found(zitadel, world):
    for name, call_ in all_ctx_calls(zitadel):
        for org in (UNKNOWN_ORG, f"{world.instance_org}0"):
            expect_error(lambda: call_(in_org(org)), *NO_ORG)


# ---------------------------------------------------------------------------------------------
# The configuration the login settings follow.


def test_the_projects_mandatory_mfa_and_email_privacy_show_in_the_instances_login_settings(server, zitadel, world, restored_project):
    set_project(server, mfa="MANDATORY")
    forced = expected("login", world.instance_org, force_mfa=True)
    for ctx in (None, INSTANCE, in_org(world.instance_org)):
        assert read(zitadel, "login", ctx) == forced, ctx
    assert call(zitadel, "login").settings.force_mfa is True
    globex = expected("login", world.globex.id, owner=ORG_OWNED)
    assert read(zitadel, "login", in_org(world.globex.id)) == globex, "Globex's tenant is not MANDATORY"

    set_project(server, privacy=True)
    assert read(zitadel, "login") == expected("login", world.instance_org, force_mfa=True, ignore_unknown=True)
    assert call(zitadel, "login", INSTANCE).settings.ignore_unknown_usernames is True
    assert read(zitadel, "login", in_org(world.globex.id)) == globex, "Globex's tenant keeps its privacy off"
    # Nothing else follows the project's configuration.
    for name in NOT_LOGIN:
        assert read(zitadel, name) == expected(name, world.instance_org), name

    # Only MANDATORY forces MFA.
    for state in ("DISABLED", "ENABLED"):
        set_project(server, mfa=state)
        assert read(zitadel, "login") == expected("login", world.instance_org, ignore_unknown=True), state
    set_project(server, privacy=False)
    assert read(zitadel, "login") == expected("login", world.instance_org)


def test_a_tenants_mandatory_mfa_and_email_privacy_show_in_its_organizations_login_settings_only(server, zitadel, world):
    tenant_id = tenant_of(server, world.globex)
    tenant = admin_api(server, "GET", f"/tenants/{tenant_id}")
    assert tenant["mfaConfig"]["state"] == "ENABLED", tenant
    assert tenant["emailPrivacyConfig"] == {"enableImprovedEmailPrivacy": False}, tenant
    globex = in_org(world.globex.id)
    try:
        set_tenant(server, tenant_id, mfa="MANDATORY")
        assert read(zitadel, "login", globex) == expected("login", world.globex.id, owner=ORG_OWNED, force_mfa=True)
        set_tenant(server, tenant_id, privacy=True)
        both = expected("login", world.globex.id, owner=ORG_OWNED, force_mfa=True, ignore_unknown=True)
        assert read(zitadel, "login", globex) == both
        # Globex's own machine users read the same without a ctx.
        assert read(world.machines["globex"]["ORG_OWNER_VIEWER"], "login") == both
        assert read(zitadel, "login") == expected("login", world.instance_org), "the instance's"
        assert read(zitadel, "login", INSTANCE) == expected("login", world.instance_org), "the instance's, by ctx"
        assert read(zitadel, "login", in_org(world.initech.id)) == expected("login", world.initech.id, owner=ORG_OWNED)
        set_tenant(server, tenant_id, mfa="DISABLED")
        assert read(zitadel, "login", globex) == expected("login", world.globex.id, owner=ORG_OWNED, ignore_unknown=True)
    finally:
        set_tenant(server, tenant_id, mfa="ENABLED", privacy=False)
    assert read(zitadel, "login", globex) == expected("login", world.globex.id, owner=ORG_OWNED)


# ---------------------------------------------------------------------------------------------
# Who may read.


@pytest.mark.parametrize("role", ROLES)
def test_a_machine_user_of_the_instances_organization(world, role):
    """Every role reads its organization's settings, the instance's and the general settings;
    only IAM_OWNER the security settings and another organization's."""
    mine = world.machines["instance"][role]
    assert as_json(mine.settings.get_general_settings()) == general_json(world.instance_org)
    for name in CTX_CALLS:
        instance = expected(name, world.instance_org)
        assert read(mine, name) == instance, name
        assert read(mine, name, INSTANCE) == instance, f"{name}, instance"
        assert read(mine, name, in_org(world.instance_org)) == instance, f"{name}, own organization"
    assert not mine.settings.get_active_identity_providers(SettingsServiceGetActiveIdentityProvidersRequest()).identity_providers
    globex = in_org(world.globex.id)
    if role == "IAM_OWNER":
        assert as_json(mine.settings.get_security_settings()) == security_json(world.instance_org)
        for name in CTX_CALLS:
            assert read(mine, name, globex) == expected(name, world.globex.id, world.instance_org, owner=ORG_OWNED), name
    else:
        expect_error(lambda: mine.settings.get_security_settings(), *DENIED)
        for name, call_ in all_ctx_calls(mine):
            expect_error(lambda: call_(globex), *DENIED)
    expect_error(lambda: call(mine, "login", in_org(UNKNOWN_ORG)), *NO_ORG)


@pytest.mark.parametrize("role", [role for role in ROLES if role != "IAM_OWNER"])
def test_a_machine_user_of_an_organization_made_with_add_organization(world, role):
    """It reads its own organization's settings without a ctx, and the instance's; not the
    security settings, nor another organization's."""
    theirs = world.machines["globex"][role]
    assert as_json(theirs.settings.get_general_settings()) == general_json(world.instance_org)
    for name in CTX_CALLS:
        own = expected(name, world.globex.id, world.instance_org, owner=ORG_OWNED)
        assert read(theirs, name) == own, name
        assert read(theirs, name, in_org(world.globex.id)) == own, f"{name}, own organization"
        assert read(theirs, name, INSTANCE) == expected(name, world.instance_org), f"{name}, instance"
    assert not theirs.settings.get_active_identity_providers(SettingsServiceGetActiveIdentityProvidersRequest()).identity_providers
    expect_error(lambda: theirs.settings.get_security_settings(), *DENIED)
    for name, call_ in all_ctx_calls(theirs):
        for other in (world.instance_org, world.initech.id):
            expect_error(lambda: call_(in_org(other)), *DENIED)
    expect_error(lambda: call(theirs, "login", in_org(UNKNOWN_ORG)), *NO_ORG)


def test_a_user_with_its_own_id_token_reads_none(server, world):
    user = Zitadel.with_access_token(server.base, id_token(server.base, world.ada))
    expect_error(lambda: user.settings.get_general_settings(), *DENIED)
    expect_error(lambda: user.settings.get_security_settings(), *DENIED)
    for name, call_ in all_ctx_calls(user):
        for ctx in (None, INSTANCE, in_org(world.instance_org), in_org(world.globex.id)):
            expect_error(lambda: call_(ctx), *DENIED)
        # An organization that does not exist is not found, whoever asks.
        expect_error(lambda: call_(in_org(UNKNOWN_ORG)), *NO_ORG)


def test_a_token_the_server_did_not_issue_is_unauthenticated(server):
    stranger = Zitadel.with_access_token(server.base, f"not-a-token-{uuid.uuid4().hex}")
    expect_error(lambda: stranger.settings.get_general_settings(), *INVALID_TOKEN)
    expect_error(lambda: call(stranger, "login"), *INVALID_TOKEN)
    expect_error(lambda: stranger.settings.get_security_settings(), *INVALID_TOKEN)


def test_the_set_calls_are_not_served_and_change_nothing(zitadel, world):
    expect_error(
        lambda: zitadel.settings.set_security_settings(
            SettingsServiceSetSecuritySettingsRequest(
                embedded_iframe=SettingsServiceEmbeddedIframeSettings(enabled=True, allowed_origins=["https://example.com"]),
                enable_impersonation=True,
            )
        ),
        *NOT_SERVED,
    )
    expect_error(
        lambda: zitadel.settings.set_hosted_login_translation(
            SettingsServiceSetHostedLoginTranslationRequest(instance=True, locale="en", translations={})
        ),
        *NOT_SERVED,
    )
    expect_error(
        lambda: zitadel.settings.get_hosted_login_translation(SettingsServiceGetHostedLoginTranslationRequest(instance=True, locale="en")),
        *NOT_SERVED,
    )
    assert as_json(zitadel.settings.get_security_settings()) == security_json(world.instance_org)
