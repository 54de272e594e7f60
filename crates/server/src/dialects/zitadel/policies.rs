//! Settings service v2 (ZITADEL's settings, once called policies): what a login UI reads
//! before it shows anything — the languages, the login options, the password rules, the
//! identity providers. Read-only, and drawn from Tessera's own configuration:
//!
//! - login: username and password, registration and passkeys allowed; all four second
//!   factors (the ZITADEL dialect accepts each); `forceMfa` when the realm's MFA is
//!   `MANDATORY`; `ignoreUnknownUsernames` under the realm's email privacy; login by email
//!   address, not by phone number (sessions find users by username or address). Tessera keeps
//!   no check lifetimes, so the lifetimes are ZITADEL's defaults, for UIs that read them;
//! - passwords: at least six characters, nothing else required, never expiring;
//! - lockout: none (Tessera's failure limits slow guessing down but never lock a user), so 0;
//! - identity providers: those configured for sign-in (none in dev mode, which takes any);
//! - branding, legal links, domains, iframes, impersonation: none.
//!
//! A request's `ctx` picks the organization (`orgId`, which the caller must be allowed to act
//! in) or the instance (the project's own realm); without one, the caller's organization.
//! Settings an organization cannot change here are the instance's, and say so in their
//! details. Reading needs `policy.read` (every machine role), the security settings
//! `iam.policy.read`.

use pbjson_types::Duration;
use tessera_core::mfa::MfaState;
use tessera_core::user::MIN_PASSWORD_LEN;
use tessera_core::{Permission, Realm};

use super::error::ZitadelError;
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::idp::v2 as idp;
use crate::proto::zitadel::object::v2::{Details, ListDetails, RequestContext, request_context};
use crate::proto::zitadel::settings::v2 as settings;
use settings::ResourceOwnerType;

/// ZITADEL's default check lifetimes, in hours: password, external login, MFA set-up skip,
/// second factor, multi-factor.
const LIFETIMES_HOURS: [i64; 5] = [240, 240, 720, 18, 12];

/// The realm whose settings `ctx` asks for, once the caller may read them there.
async fn realm_of(ctx: Ctx, asked: Option<&RequestContext>) -> Result<(Ctx, Realm), ZitadelError> {
    use request_context::ResourceOwner;
    let (ctx, realm) = match asked.and_then(|asked| asked.resource_owner.as_ref()) {
        Some(ResourceOwner::OrgId(org)) => {
            let target = ctx.svc.org_realm(org).await.map_err(domain)?;
            let ctx = ctx.in_realm(&target.id).await?;
            let realm = ctx.realm.clone();
            (ctx, realm)
        }
        Some(ResourceOwner::Instance(true)) => {
            let project = ctx.realm.project_id.clone();
            let realm = ctx.svc.instance_realm(&project).await.map_err(domain)?;
            (ctx, realm)
        }
        _ => {
            let realm = ctx.realm.clone();
            (ctx, realm)
        }
    };
    ctx.require(Permission::PolicyRead)?;
    Ok((ctx, realm))
}

/// The instance's realm, whose settings those are that organizations cannot change here,
/// once the caller may read `asked`'s.
async fn instance_for(ctx: Ctx, asked: Option<&RequestContext>) -> Result<Realm, ZitadelError> {
    let (ctx, _) = realm_of(ctx, asked).await?;
    instance(&ctx).await
}

async fn instance(ctx: &Ctx) -> Result<Realm, ZitadelError> {
    ctx.svc
        .instance_realm(&ctx.realm.project_id)
        .await
        .map_err(domain)
}

/// A setting's details: whose it is (Tessera records no change of its configuration).
fn details(realm: &Realm) -> Option<Details> {
    Some(Details {
        resource_owner: realm.org_id.clone().unwrap_or_default(),
        ..Details::default()
    })
}

/// Whether `realm`'s own settings are the instance's or an organization's.
fn owner_type(realm: &Realm) -> i32 {
    match realm.tenant_id {
        None => ResourceOwnerType::Instance,
        Some(_) => ResourceOwnerType::Org,
    }
    .into()
}

fn hours(hours: i64) -> Option<Duration> {
    Some(Duration {
        seconds: hours * 3600,
        nanos: 0,
    })
}

pub async fn get_general_settings(
    ctx: Ctx,
    _: settings::GetGeneralSettingsRequest,
) -> Result<settings::GetGeneralSettingsResponse, ZitadelError> {
    ctx.require(Permission::PolicyRead)?;
    let instance = instance(&ctx).await?;
    let supported_languages = ctx.svc.message_languages();
    let org = instance.org_id.unwrap_or_default();
    Ok(settings::GetGeneralSettingsResponse {
        default_org_id: org.clone(),
        default_organization_id: org,
        default_language: supported_languages.first().cloned().unwrap_or_default(),
        supported_languages,
    })
}

pub async fn get_login_settings(
    ctx: Ctx,
    req: settings::GetLoginSettingsRequest,
) -> Result<settings::GetLoginSettingsResponse, ZitadelError> {
    use settings::{MultiFactorType, PasskeysType, SecondFactorType};
    let (ctx, realm) = realm_of(ctx, req.ctx.as_ref()).await?;
    let [password, external, skip, second, multi] = LIFETIMES_HOURS.map(hours);
    let second_factors = [
        SecondFactorType::Otp,
        SecondFactorType::U2f,
        SecondFactorType::OtpEmail,
        SecondFactorType::OtpSms,
    ];
    let settings = settings::LoginSettings {
        allow_username_password: true,
        allow_local_authentication: true,
        allow_register: true,
        allow_external_idp: !ctx.svc.identity_provider_ids().is_empty(),
        force_mfa: realm.mfa.state == MfaState::Mandatory,
        passkeys_type: PasskeysType::Allowed.into(),
        ignore_unknown_usernames: realm.improved_email_privacy,
        password_check_lifetime: password,
        external_login_check_lifetime: external,
        mfa_init_skip_lifetime: skip,
        second_factor_check_lifetime: second,
        multi_factor_check_lifetime: multi,
        second_factors: second_factors.map(Into::into).to_vec(),
        multi_factors: vec![MultiFactorType::U2fWithVerification.into()],
        disable_login_with_phone: true,
        resource_owner_type: owner_type(&realm),
        ..settings::LoginSettings::default()
    };
    Ok(settings::GetLoginSettingsResponse {
        details: details(&realm),
        settings: Some(settings),
    })
}

/// The configured providers, each allowing what Identity Toolkit's sign-in does: creating and
/// linking accounts, and refreshing the profile at each sign-in. A request's filters keep the
/// providers whose options match.
pub async fn get_active_identity_providers(
    ctx: Ctx,
    req: settings::GetActiveIdentityProvidersRequest,
) -> Result<settings::GetActiveIdentityProvidersResponse, ZitadelError> {
    let (ctx, _) = realm_of(ctx, req.ctx.as_ref()).await?;
    let options = idp::Options {
        is_linking_allowed: true,
        is_creation_allowed: true,
        is_auto_creation: true,
        is_auto_update: true,
        auto_linking: idp::AutoLinkingOption::Unspecified.into(),
    };
    let wanted = [
        (req.creation_allowed, options.is_creation_allowed),
        (req.linking_allowed, options.is_linking_allowed),
        (req.auto_creation, options.is_auto_creation),
        (req.auto_linking, options.auto_linking != 0),
    ];
    let matching = wanted
        .iter()
        .all(|(asked, has)| asked.is_none_or(|asked| asked == *has));
    let identity_providers: Vec<settings::IdentityProvider> = ctx
        .svc
        .identity_provider_ids()
        .into_iter()
        .filter(|_| matching)
        .map(|id| settings::IdentityProvider {
            r#type: provider_type(&id).into(),
            name: id.clone(),
            id,
            options: Some(options),
        })
        .collect();
    Ok(settings::GetActiveIdentityProvidersResponse {
        details: Some(ListDetails {
            total_result: identity_providers.len() as u64,
            timestamp: Some(super::details::timestamp(ctx.svc.now())),
            ..ListDetails::default()
        }),
        identity_providers,
    })
}

/// ZITADEL's type of a Firebase provider id.
fn provider_type(id: &str) -> settings::IdentityProviderType {
    use settings::IdentityProviderType as Type;
    match id {
        "google.com" => Type::Google,
        "apple.com" => Type::Apple,
        "github.com" => Type::Github,
        "microsoft.com" => Type::AzureAd,
        _ if id.starts_with("oidc.") => Type::Oidc,
        _ if id.starts_with("saml.") => Type::Saml,
        _ => Type::Oauth,
    }
}

pub async fn get_password_complexity_settings(
    ctx: Ctx,
    req: settings::GetPasswordComplexitySettingsRequest,
) -> Result<settings::GetPasswordComplexitySettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetPasswordComplexitySettingsResponse {
        details: details(&realm),
        settings: Some(settings::PasswordComplexitySettings {
            min_length: MIN_PASSWORD_LEN as u64,
            resource_owner_type: ResourceOwnerType::Instance.into(),
            ..settings::PasswordComplexitySettings::default()
        }),
    })
}

pub async fn get_password_expiry_settings(
    ctx: Ctx,
    req: settings::GetPasswordExpirySettingsRequest,
) -> Result<settings::GetPasswordExpirySettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetPasswordExpirySettingsResponse {
        details: details(&realm),
        settings: Some(settings::PasswordExpirySettings {
            resource_owner_type: ResourceOwnerType::Instance.into(),
            ..settings::PasswordExpirySettings::default()
        }),
    })
}

pub async fn get_branding_settings(
    ctx: Ctx,
    req: settings::GetBrandingSettingsRequest,
) -> Result<settings::GetBrandingSettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetBrandingSettingsResponse {
        details: details(&realm),
        settings: Some(settings::BrandingSettings {
            resource_owner_type: ResourceOwnerType::Instance.into(),
            theme_mode: settings::ThemeMode::Auto.into(),
            ..settings::BrandingSettings::default()
        }),
    })
}

pub async fn get_domain_settings(
    ctx: Ctx,
    req: settings::GetDomainSettingsRequest,
) -> Result<settings::GetDomainSettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetDomainSettingsResponse {
        details: details(&realm),
        settings: Some(settings::DomainSettings {
            resource_owner_type: ResourceOwnerType::Instance.into(),
            ..settings::DomainSettings::default()
        }),
    })
}

pub async fn get_legal_and_support_settings(
    ctx: Ctx,
    req: settings::GetLegalAndSupportSettingsRequest,
) -> Result<settings::GetLegalAndSupportSettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetLegalAndSupportSettingsResponse {
        details: details(&realm),
        settings: Some(settings::LegalAndSupportSettings {
            resource_owner_type: ResourceOwnerType::Instance.into(),
            ..settings::LegalAndSupportSettings::default()
        }),
    })
}

pub async fn get_lockout_settings(
    ctx: Ctx,
    req: settings::GetLockoutSettingsRequest,
) -> Result<settings::GetLockoutSettingsResponse, ZitadelError> {
    let realm = instance_for(ctx, req.ctx.as_ref()).await?;
    Ok(settings::GetLockoutSettingsResponse {
        details: details(&realm),
        settings: Some(settings::LockoutSettings {
            resource_owner_type: ResourceOwnerType::Instance.into(),
            ..settings::LockoutSettings::default()
        }),
    })
}

pub async fn get_security_settings(
    ctx: Ctx,
    _: settings::GetSecuritySettingsRequest,
) -> Result<settings::GetSecuritySettingsResponse, ZitadelError> {
    ctx.require(Permission::InstancePolicyRead)?;
    let instance = instance(&ctx).await?;
    Ok(settings::GetSecuritySettingsResponse {
        details: details(&instance),
        settings: Some(settings::SecuritySettings {
            embedded_iframe: Some(settings::EmbeddedIframeSettings::default()),
            enable_impersonation: false,
        }),
    })
}
