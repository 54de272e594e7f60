//! The factor calls of ZITADEL's user service v2, management v1 and auth v1, over REST.
//! Each handler: who may act on which user, one service call, the wire answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use data_encoding::BASE32_NOPAD;
use tessera_core::{Factor, FactorKind, FactorState, UserId};

use super::auth::Request;
use super::error::{BAD_BODY, Op, ZitadelError};
use super::wire::*;
use crate::service::Service;

pub(super) fn user_id(raw: &str) -> Result<UserId, ZitadelError> {
    UserId::parse(raw).ok_or(ZitadelError::from_domain(
        Op::Read,
        tessera_core::DomainError::UserNotFound,
    ))
}

/// The `code` of a verification body.
fn code_of(body: &[u8]) -> Result<Option<String>, ZitadelError> {
    let input: VerifyTotpRequest = serde_json::from_slice(body).map_err(|_| BAD_BODY)?;
    Ok(input.code)
}

/// `RegisterTOTP` and `AddMyAuthFactorOTP`: a pending factor, its secret and its URI.
pub(super) async fn register(
    svc: &Service,
    req: &Request,
    id: &UserId,
) -> Result<(Details, String, String), ZitadelError> {
    let realm = req.for_user(svc, id).await?;
    let (user, registration) = svc
        .register_totp(&realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::RegisterTotp, e))?;
    let secret = BASE32_NOPAD.encode(&registration.secret);
    let account = user
        .email
        .as_ref()
        .map_or_else(|| user.id.to_string(), ToString::to_string);
    let uri = registration.spec.uri(svc.totp_issuer(), &account, &secret);
    Ok((Details::new(&realm, svc.now()), uri, secret))
}

/// `VerifyTOTPRegistration` and `VerifyMyAuthFactorOTP`.
pub(super) async fn verify(
    svc: &Service,
    req: &Request,
    id: &UserId,
    code: Option<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let code = code.filter(|c| !c.is_empty()).ok_or(BAD_BODY)?;
    let realm = req.for_user(svc, id).await?;
    svc.verify_totp_registration(&realm, id, &code)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::VerifyTotp, e))?;
    Ok(Json(DetailsResponse {
        details: Details::new(&realm, svc.now()),
    }))
}

#[utoipa::path(post, path = "/v2/users/{userId}/totp", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = RegisterTotpResponse)))]
pub async fn register_totp(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<RegisterTotpResponse>, ZitadelError> {
    let (details, uri, secret) = register(&svc, &req, &user_id(&raw)?).await?;
    Ok(Json(RegisterTotpResponse {
        details,
        uri,
        secret,
    }))
}

#[utoipa::path(post, path = "/v2/users/{userId}/totp/verify", tag = "zitadel", request_body = VerifyTotpRequest,
    params(("userId" = String, Path)), responses((status = 200, body = DetailsResponse)))]
pub async fn verify_totp(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    verify(&svc, &req, &user_id(&raw)?, code_of(&body)?).await
}

#[utoipa::path(post, path = "/auth/v1/users/me/auth_factors/otp", tag = "zitadel",
    responses((status = 200, body = AddMyOtpResponse)))]
pub async fn add_my_otp(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<AddMyOtpResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    let (details, url, secret) = register(&svc, &req, &me).await?;
    Ok(Json(AddMyOtpResponse {
        url,
        secret,
        details,
    }))
}

#[utoipa::path(post, path = "/auth/v1/users/me/auth_factors/otp/_verify", tag = "zitadel",
    request_body = VerifyTotpRequest, responses((status = 200, body = DetailsResponse)))]
pub async fn verify_my_otp(
    State(svc): State<Arc<Service>>,
    req: Request,
    body: Bytes,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    verify(&svc, &req, &me, code_of(&body)?).await
}

/// `AddOTPSMS`, `AddOTPEmail` and their auth v1 twins.
pub(super) async fn add(
    svc: &Service,
    req: &Request,
    id: &UserId,
    kind: FactorKind,
    op: Op,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let realm = req.for_user(svc, id).await?;
    svc.add_contact_factor(&realm, id, kind)
        .await
        .map_err(|e| ZitadelError::from_domain(op, e))?;
    Ok(Json(DetailsResponse {
        details: Details::new(&realm, svc.now()),
    }))
}

#[utoipa::path(post, path = "/v2/users/{userId}/otp_sms", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = DetailsResponse)))]
pub async fn add_otp_sms(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    add(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::SmsOtp,
        Op::AddOtpSms,
    )
    .await
}

#[utoipa::path(post, path = "/v2/users/{userId}/otp_email", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = DetailsResponse)))]
pub async fn add_otp_email(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    add(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::EmailOtp,
        Op::AddOtpEmail,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/users/me/auth_factors/otp_sms", tag = "zitadel",
    responses((status = 200, body = DetailsResponse)))]
pub async fn add_my_otp_sms(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    add(&svc, &req, &me, FactorKind::SmsOtp, Op::AddOtpSms).await
}

#[utoipa::path(post, path = "/auth/v1/users/me/auth_factors/otp_email", tag = "zitadel",
    responses((status = 200, body = DetailsResponse)))]
pub async fn add_my_otp_email(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    add(&svc, &req, &me, FactorKind::EmailOtp, Op::AddOtpEmail).await
}

#[utoipa::path(delete, path = "/v2/users/{userId}/otp_sms", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_otp_sms(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::SmsOtp,
        Op::RemoveOtpSms,
    )
    .await
}

#[utoipa::path(delete, path = "/v2/users/{userId}/otp_email", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_otp_email(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::EmailOtp,
        Op::RemoveOtpEmail,
    )
    .await
}

/// `RemoveTOTP`, `RemoveOTPSMS`, `RemoveOTPEmail` and their management v1 twins.
pub(super) async fn remove(
    svc: &Service,
    req: &Request,
    id: &UserId,
    kind: FactorKind,
    op: Op,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let realm = req.for_user(svc, id).await?;
    svc.remove_factors_of_kind(&realm, id, kind)
        .await
        .map_err(|e| ZitadelError::from_domain(op, e))?;
    Ok(Json(DetailsResponse {
        details: Details::new(&realm, svc.now()),
    }))
}

#[utoipa::path(delete, path = "/v2/users/{userId}/totp", tag = "zitadel", params(("userId" = String, Path)),
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_totp(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::Totp,
        Op::RemoveTotp,
    )
    .await
}

#[utoipa::path(delete, path = "/management/v1/users/{userId}/auth_factors/otp", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = DetailsResponse)))]
pub async fn remove_human_otp(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::Totp,
        Op::RemoveTotp,
    )
    .await
}

#[utoipa::path(delete, path = "/management/v1/users/{userId}/auth_factors/otp_sms", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = DetailsResponse)))]
pub async fn remove_human_otp_sms(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::SmsOtp,
        Op::RemoveOtpSms,
    )
    .await
}

#[utoipa::path(delete, path = "/auth/v1/users/me/auth_factors/otp", tag = "zitadel",
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_my_otp(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    remove(&svc, &req, &me, FactorKind::Totp, Op::RemoveTotp).await
}

#[utoipa::path(delete, path = "/auth/v1/users/me/auth_factors/otp_sms", tag = "zitadel",
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_my_otp_sms(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    remove(&svc, &req, &me, FactorKind::SmsOtp, Op::RemoveOtpSms).await
}

#[utoipa::path(delete, path = "/auth/v1/users/me/auth_factors/otp_email", tag = "zitadel",
    responses((status = 200, body = DetailsResponse)))]
pub async fn remove_my_otp_email(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    remove(&svc, &req, &me, FactorKind::EmailOtp, Op::RemoveOtpEmail).await
}

#[utoipa::path(delete, path = "/management/v1/users/{userId}/auth_factors/otp_email", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = DetailsResponse)))]
pub async fn remove_human_otp_email(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<DetailsResponse>, ZitadelError> {
    remove(
        &svc,
        &req,
        &user_id(&raw)?,
        FactorKind::EmailOtp,
        Op::RemoveOtpEmail,
    )
    .await
}

/// Factors as the listings show them, filtered by state and kind.
fn listing(factors: &[Factor], states: &[FactorState], kinds: &[FactorKind]) -> FactorList {
    FactorList {
        result: factors
            .iter()
            .filter(|f| {
                states.contains(&f.state) && (kinds.is_empty() || kinds.contains(&f.kind()))
            })
            .map(AuthFactor::new)
            .collect(),
    }
}

/// The v1 listings: ready factors only.
async fn list_ready(
    svc: &Service,
    req: &Request,
    id: &UserId,
) -> Result<Json<FactorList>, ZitadelError> {
    let realm = req.for_user(svc, id).await?;
    let (_, factors) = svc
        .user_factors(&realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    Ok(Json(listing(&factors, &[FactorState::Ready], &[])))
}

#[utoipa::path(post, path = "/management/v1/users/{userId}/auth_factors/_search", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = FactorList)))]
pub async fn list_human_auth_factors(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<FactorList>, ZitadelError> {
    list_ready(&svc, &req, &user_id(&raw)?).await
}

#[utoipa::path(post, path = "/auth/v1/users/me/auth_factors/_search", tag = "zitadel",
    responses((status = 200, body = FactorList)))]
pub async fn list_my_auth_factors(
    State(svc): State<Arc<Service>>,
    req: Request,
) -> Result<Json<FactorList>, ZitadelError> {
    let me = req.me()?.user.id.clone();
    list_ready(&svc, &req, &me).await
}

/// The `AuthFactorState` and `AuthFactors` enum names of the v2 filters.
pub(super) fn parse_state(name: &str) -> Result<FactorState, ZitadelError> {
    match name {
        "AUTH_FACTOR_STATE_NOT_READY" => Ok(FactorState::NotReady),
        "AUTH_FACTOR_STATE_READY" => Ok(FactorState::Ready),
        "AUTH_FACTOR_STATE_REMOVED" => Ok(FactorState::Removed),
        _ => Err(BAD_BODY),
    }
}

pub(super) fn parse_kind(name: &str) -> Result<FactorKind, ZitadelError> {
    match name {
        "OTP" => Ok(FactorKind::Totp),
        "OTP_SMS" => Ok(FactorKind::SmsOtp),
        "OTP_EMAIL" => Ok(FactorKind::EmailOtp),
        "U2F" => Ok(FactorKind::WebAuthn),
        _ => Err(BAD_BODY),
    }
}

/// `ListAuthenticationFactors`: READY only unless other states are asked for.
pub(super) async fn list_factors(
    svc: &Service,
    req: &Request,
    id: &UserId,
    mut states: Vec<FactorState>,
    kinds: Vec<FactorKind>,
) -> Result<Json<FactorList>, ZitadelError> {
    if states.is_empty() {
        states.push(FactorState::Ready);
    }
    let realm = req.for_user(svc, id).await?;
    let (_, factors) = svc
        .user_factors(&realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    Ok(Json(listing(&factors, &states, &kinds)))
}

/// REST form: filters arrive as repeated query parameters
/// (`authFactors=OTP&states=AUTH_FACTOR_STATE_NOT_READY`).
#[utoipa::path(post, path = "/v2/users/{userId}/authentication_factors/_search", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = FactorList)))]
pub async fn list_authentication_factors(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<FactorList>, ZitadelError> {
    let id = user_id(&raw)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).map_err(|_| BAD_BODY)?;
    let mut states = Vec::new();
    let mut kinds = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "states" => states.push(parse_state(value)?),
            "authFactors" | "auth_factors" => kinds.push(parse_kind(value)?),
            _ => {}
        }
    }
    list_factors(&svc, &req, &id, states, kinds).await
}

/// `ListAuthenticationMethodTypes`: the methods the user can sign in with now.
pub(super) async fn method_types(
    svc: &Service,
    req: &Request,
    id: &UserId,
) -> Result<Json<AuthMethodTypes>, ZitadelError> {
    let realm = req.for_user(svc, id).await?;
    let (user, factors) = svc
        .user_factors(&realm, id)
        .await
        .map_err(|e| ZitadelError::from_domain(Op::Read, e))?;
    let ready = |kind| {
        factors
            .iter()
            .any(|f| f.state == FactorState::Ready && f.kind() == kind)
    };
    let mut types = Vec::new();
    if user.password_hash.is_some() {
        types.push("AUTHENTICATION_METHOD_TYPE_PASSWORD");
    }
    for (kind, name) in [
        (FactorKind::Totp, "AUTHENTICATION_METHOD_TYPE_TOTP"),
        (FactorKind::WebAuthn, "AUTHENTICATION_METHOD_TYPE_U2F"),
        (FactorKind::SmsOtp, "AUTHENTICATION_METHOD_TYPE_OTP_SMS"),
        (FactorKind::EmailOtp, "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL"),
    ] {
        if ready(kind) {
            types.push(name);
        }
    }
    Ok(Json(AuthMethodTypes {
        details: ListDetails {
            total_result: types.len().to_string(),
        },
        auth_method_types: types,
    }))
}

#[utoipa::path(get, path = "/v2/users/{userId}/authentication_methods", tag = "zitadel",
    params(("userId" = String, Path)), responses((status = 200, body = AuthMethodTypes)))]
pub async fn list_authentication_method_types(
    State(svc): State<Arc<Service>>,
    req: Request,
    Path(raw): Path<String>,
) -> Result<Json<AuthMethodTypes>, ZitadelError> {
    method_types(&svc, &req, &user_id(&raw)?).await
}
