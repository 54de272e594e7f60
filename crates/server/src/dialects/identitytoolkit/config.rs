//! `v2/projects/{p}/config` and `v2/projects/{p}/tenants…`: a realm's MFA configuration and
//! tenants, as the Admin SDKs manage them. Responses carry `name`, which the Node Admin SDK
//! requires. `updateMask` names leaf paths (`mfa.state`); without one, every field sent is
//! applied.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use tessera_core::mfa::{MAX_ADJACENT_INTERVALS, MfaState};
use tessera_core::{MfaConfig, PhoneNumber, Realm};
use utoipa::ToSchema;

use super::error::ItError;
use super::extract::{AdminBearer, Body, ProjectPath, int32, parse_value};
use super::mfa_wire::Empty;
use super::wire::IgnoredValue;
use crate::service::{RealmChanges, Service};

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MultiFactorAuthConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_providers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_configs: Option<Vec<ProviderConfig>>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_provider_config: Option<TotpProviderConfig>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotpProviderConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjacent_intervals: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneNumberConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_phone_numbers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<PhoneNumberConfig>,
}

/// `GoogleCloudIdentitytoolkitAdminV2Config`, the parts Tessera keeps.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MultiFactorAuthConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignInConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_privacy_config: Option<EmailPrivacyConfig>,
}

/// `GoogleCloudIdentitytoolkitAdminV2EmailPrivacyConfig`: email enumeration protection.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailPrivacyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_improved_email_privacy: Option<bool>,
}

/// The email privacy a config body sets under `mask`, if any.
fn email_privacy(wire: Option<&EmailPrivacyConfig>, mask: &Mask) -> Option<bool> {
    let on = wire.and_then(|w| w.enable_improved_email_privacy);
    mask.applies(
        "emailPrivacyConfig.enableImprovedEmailPrivacy",
        on.is_some(),
    )
    .then(|| on.unwrap_or(false))
}

fn email_privacy_wire(realm: &Realm) -> EmailPrivacyConfig {
    EmailPrivacyConfig {
        enable_improved_email_privacy: Some(realm.improved_email_privacy),
    }
}

/// `GoogleCloudIdentitytoolkitAdminV2Tenant`, the parts Tessera keeps; the sign-in switches
/// are accepted and reported as Tessera behaves (password sign-in on, email links off).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_config: Option<MultiFactorAuthConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_phone_numbers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_password_signup: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_email_link_signin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_privacy_config: Option<EmailPrivacyConfig>,
    #[serde(skip_serializing, rename = "enableAnonymousUser")]
    pub _enable_anonymous_user: Option<IgnoredValue>,
    #[serde(skip_serializing, rename = "disableAuth")]
    pub _disable_auth: Option<IgnoredValue>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantList {
    pub tenants: Vec<Tenant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// Google's page of tenants when the request names no size, and the most it returns.
const DEFAULT_TENANT_PAGE: usize = 20;
const MAX_TENANT_PAGE: i32 = 1000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TenantListParams {
    /// At most this many tenants: 20 when unset or not positive, and never more than 1,000.
    #[serde(default, deserialize_with = "int32::deserialize")]
    #[param(value_type = Option<String>)]
    pub page_size: Option<i32>,
    /// The `nextPageToken` of the page before.
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct MaskParams {
    /// Comma-separated leaf paths, e.g. `mfa.state,mfa.providerConfigs`.
    pub update_mask: Option<String>,
}

fn invalid(detail: &str) -> ItError {
    ItError::with_detail("INVALID_CONFIG", detail)
}

fn state_name(state: MfaState) -> &'static str {
    match state {
        MfaState::Disabled => "DISABLED",
        MfaState::Enabled => "ENABLED",
        MfaState::Mandatory => "MANDATORY",
    }
}

fn parse_state(raw: &str) -> Result<MfaState, ItError> {
    match raw {
        "DISABLED" | "STATE_UNSPECIFIED" | "MFA_STATE_UNSPECIFIED" => Ok(MfaState::Disabled),
        "ENABLED" => Ok(MfaState::Enabled),
        "MANDATORY" => Ok(MfaState::Mandatory),
        other => Err(invalid(&format!("Unknown state {other}."))),
    }
}

fn mfa_wire(mfa: &MfaConfig) -> MultiFactorAuthConfig {
    MultiFactorAuthConfig {
        state: Some(state_name(mfa.state).to_owned()),
        enabled_providers: Some(if mfa.sms_enabled {
            vec!["PHONE_SMS".to_owned()]
        } else {
            Vec::new()
        }),
        provider_configs: Some(vec![ProviderConfig {
            state: Some(state_name(mfa.totp_state).to_owned()),
            totp_provider_config: Some(TotpProviderConfig {
                adjacent_intervals: Some(i64::from(mfa.adjacent_intervals)),
            }),
        }]),
    }
}

/// Which leaf fields to apply: those named by the mask, or every field sent.
struct Mask(Option<Vec<String>>);

impl Mask {
    fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, ItError> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(Mask(None));
        };
        let paths: Vec<String> = raw.split(',').map(|p| p.trim().to_owned()).collect();
        if let Some(unknown) = paths.iter().find(|p| !known.contains(&p.as_str())) {
            return Err(ItError::with_detail(
                "INVALID_ARGUMENT",
                &format!("Unsupported update mask path {unknown}."),
            ));
        }
        Ok(Mask(Some(paths)))
    }

    /// `path` is selected by the mask (itself or a parent), or, without a mask, was sent.
    fn applies(&self, path: &str, sent: bool) -> bool {
        match &self.0 {
            None => sent,
            Some(paths) => paths
                .iter()
                .any(|p| path == p || path.starts_with(&format!("{p}."))),
        }
    }
}

/// Applies the wire config's selected fields to `mfa`, validating each.
fn apply_mfa(
    mfa: &mut MfaConfig,
    wire: &MultiFactorAuthConfig,
    mask: &Mask,
    prefix: &str,
) -> Result<(), ItError> {
    if mask.applies(&format!("{prefix}.state"), wire.state.is_some()) {
        mfa.state = parse_state(wire.state.as_deref().unwrap_or("DISABLED"))?;
    }
    if mask.applies(
        &format!("{prefix}.enabledProviders"),
        wire.enabled_providers.is_some(),
    ) {
        let providers = wire.enabled_providers.as_deref().unwrap_or_default();
        if let Some(other) = providers.iter().find(|p| p.as_str() != "PHONE_SMS") {
            return Err(invalid(&format!("Unsupported provider {other}.")));
        }
        mfa.sms_enabled = !providers.is_empty();
    }
    if mask.applies(
        &format!("{prefix}.providerConfigs"),
        wire.provider_configs.is_some(),
    ) {
        let configs = wire.provider_configs.as_deref().unwrap_or_default();
        mfa.totp_state = MfaState::Disabled;
        for config in configs {
            let totp = config
                .totp_provider_config
                .as_ref()
                .ok_or(invalid("providerConfigs need totpProviderConfig."))?;
            let intervals = totp
                .adjacent_intervals
                .unwrap_or(i64::from(tessera_core::mfa::DEFAULT_ADJACENT_INTERVALS));
            mfa.adjacent_intervals = u8::try_from(intervals)
                .ok()
                .filter(|i| *i <= MAX_ADJACENT_INTERVALS)
                .ok_or(invalid("adjacentIntervals must be between 0 and 10."))?;
            mfa.totp_state = parse_state(config.state.as_deref().unwrap_or("DISABLED"))?;
        }
    }
    Ok(())
}

fn test_numbers(numbers: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ItError> {
    for (phone, code) in numbers {
        if PhoneNumber::parse(phone).is_none() {
            return Err(invalid(&format!("Invalid test phone number {phone}.")));
        }
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("Test phone number codes must be 6 digits."));
        }
    }
    Ok(numbers.clone())
}

fn project_config(svc: &Service, realm: &Realm) -> ProjectConfig {
    ProjectConfig {
        name: Some(format!("projects/{}/config", realm.project_id)),
        mfa: Some(mfa_wire(&realm.mfa)),
        sign_in: Some(SignInConfig {
            phone_number: Some(PhoneNumberConfig {
                enabled: Some(svc.phone_sign_in_enabled(realm)),
                test_phone_numbers: Some(realm.mfa.test_phone_numbers.clone()),
            }),
        }),
        email_privacy_config: Some(email_privacy_wire(realm)),
    }
}

fn tenant(realm: &Realm) -> Tenant {
    Tenant {
        name: Some(format!(
            "projects/{}/tenants/{}",
            realm.project_id,
            realm.tenant_id.as_deref().unwrap_or_default()
        )),
        display_name: realm.display_name.clone(),
        mfa_config: Some(mfa_wire(&realm.mfa)),
        test_phone_numbers: Some(realm.mfa.test_phone_numbers.clone()),
        allow_password_signup: Some(true),
        enable_email_link_signin: Some(true),
        email_privacy_config: Some(email_privacy_wire(realm)),
        ..Tenant::default()
    }
}

#[utoipa::path(get, path = "/v2/projects/{project}/config", tag = "config", params(("project" = String, Path)),
    responses((status = 200, body = ProjectConfig)))]
pub async fn get_config(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
) -> Result<Json<ProjectConfig>, ItError> {
    let realm = svc.current_realm(&path.project, None).await?;
    Ok(Json(project_config(&svc, &realm)))
}

#[utoipa::path(patch, path = "/v2/projects/{project}/config", tag = "config", request_body = ProjectConfig,
    params(("project" = String, Path), MaskParams), responses((status = 200, body = ProjectConfig)))]
pub async fn update_config(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Query(params): Query<MaskParams>,
    Body(req): Body<ProjectConfig>,
) -> Result<Json<ProjectConfig>, ItError> {
    let known = [
        "mfa",
        "mfa.state",
        "mfa.enabledProviders",
        "mfa.providerConfigs",
        "signIn.phoneNumber.enabled",
        "signIn.phoneNumber.testPhoneNumbers",
        "emailPrivacyConfig",
        "emailPrivacyConfig.enableImprovedEmailPrivacy",
    ];
    let mask = Mask::parse(params.update_mask.as_deref(), &known)?;
    let realm = svc.current_realm(&path.project, None).await?;
    let mut mfa = realm.mfa.clone();
    apply_mfa(
        &mut mfa,
        req.mfa
            .as_ref()
            .unwrap_or(&MultiFactorAuthConfig::default()),
        &mask,
        "mfa",
    )?;
    let phone = req.sign_in.and_then(|s| s.phone_number).unwrap_or_default();
    if mask.applies(
        "signIn.phoneNumber.testPhoneNumbers",
        phone.test_phone_numbers.is_some(),
    ) {
        mfa.test_phone_numbers = test_numbers(&phone.test_phone_numbers.unwrap_or_default())?;
    }
    let changes = RealmChanges {
        mfa: Some(mfa),
        improved_email_privacy: email_privacy(req.email_privacy_config.as_ref(), &mask),
        phone_sign_in: mask
            .applies("signIn.phoneNumber.enabled", phone.enabled.is_some())
            .then(|| phone.enabled.unwrap_or(false)),
        ..RealmChanges::default()
    };
    let realm = svc.configure_project(realm, changes).await?;
    Ok(Json(project_config(&svc, &realm)))
}

const TENANT_MASK: [&str; 8] = [
    "displayName",
    "mfaConfig",
    "mfaConfig.state",
    "mfaConfig.enabledProviders",
    "mfaConfig.providerConfigs",
    "testPhoneNumbers",
    "emailPrivacyConfig",
    "emailPrivacyConfig.enableImprovedEmailPrivacy",
];

/// The changes a tenant body asks for, under `mask`, applied on top of `current`.
fn tenant_changes(current: &MfaConfig, req: Tenant, mask: &Mask) -> Result<RealmChanges, ItError> {
    let mut mfa = current.clone();
    apply_mfa(
        &mut mfa,
        req.mfa_config
            .as_ref()
            .unwrap_or(&MultiFactorAuthConfig::default()),
        mask,
        "mfaConfig",
    )?;
    if mask.applies("testPhoneNumbers", req.test_phone_numbers.is_some()) {
        mfa.test_phone_numbers = test_numbers(&req.test_phone_numbers.unwrap_or_default())?;
    }
    let display_name = mask
        .applies("displayName", req.display_name.is_some())
        .then(|| req.display_name.filter(|n| !n.is_empty()));
    Ok(RealmChanges {
        display_name,
        mfa: Some(mfa),
        improved_email_privacy: email_privacy(req.email_privacy_config.as_ref(), mask),
        phone_sign_in: None,
    })
}

#[utoipa::path(post, path = "/v2/projects/{project}/tenants", tag = "config", request_body = Tenant,
    params(("project" = String, Path)), responses((status = 200, body = Tenant)))]
pub async fn create_tenant(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Body(req): Body<Tenant>,
) -> Result<Json<Tenant>, ItError> {
    svc.current_realm(&path.project, None).await?;
    let changes = tenant_changes(&MfaConfig::default(), req, &Mask(None))?;
    Ok(Json(tenant(&svc.add_tenant(&path.project, changes).await?)))
}

#[utoipa::path(get, path = "/v2/projects/{project}/tenants", tag = "config",
    params(("project" = String, Path), TenantListParams), responses((status = 200, body = TenantList)))]
pub async fn list_tenants(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Query(raw): Query<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<TenantList>, ItError> {
    let params: TenantListParams = parse_value(serde_json::Value::Object(raw))?;
    let size = params
        .page_size
        .filter(|n| *n > 0)
        .and_then(|n| usize::try_from(n.min(MAX_TENANT_PAGE)).ok())
        .unwrap_or(DEFAULT_TENANT_PAGE);
    let after = params.page_token.unwrap_or_default();
    let (tenants, next) = svc.tenants(&path.project, &after, size).await?;
    Ok(Json(TenantList {
        tenants: tenants.iter().map(tenant).collect(),
        next_page_token: next,
    }))
}

#[utoipa::path(get, path = "/v2/projects/{project}/tenants/{tenant}", tag = "config",
    params(("project" = String, Path), ("tenant" = String, Path)), responses((status = 200, body = Tenant)))]
pub async fn get_tenant(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
) -> Result<Json<Tenant>, ItError> {
    Ok(Json(tenant(
        &svc.current_realm(&path.project, path.tenant.as_deref())
            .await?,
    )))
}

#[utoipa::path(patch, path = "/v2/projects/{project}/tenants/{tenant}", tag = "config", request_body = Tenant,
    params(("project" = String, Path), ("tenant" = String, Path), MaskParams), responses((status = 200, body = Tenant)))]
pub async fn update_tenant(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
    Query(params): Query<MaskParams>,
    Body(req): Body<Tenant>,
) -> Result<Json<Tenant>, ItError> {
    let mask = Mask::parse(params.update_mask.as_deref(), &TENANT_MASK)?;
    let realm = svc
        .current_realm(&path.project, path.tenant.as_deref())
        .await?;
    let changes = tenant_changes(&realm.mfa, req, &mask)?;
    Ok(Json(tenant(&svc.update_tenant(realm, changes).await?)))
}

#[utoipa::path(delete, path = "/v2/projects/{project}/tenants/{tenant}", tag = "config",
    params(("project" = String, Path), ("tenant" = String, Path)), responses((status = 200, body = Empty)))]
pub async fn delete_tenant(
    State(svc): State<Arc<Service>>,
    _: AdminBearer,
    path: ProjectPath,
) -> Result<Json<Empty>, ItError> {
    let realm = svc
        .current_realm(&path.project, path.tenant.as_deref())
        .await?;
    svc.delete_tenant(&realm).await?;
    Ok(Json(Empty {}))
}
