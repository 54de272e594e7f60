//! `v2/accounts/mfaEnrollment:start|finalize|withdraw` and `v2/accounts/mfaSignIn:start|finalize`.
//! Required fields are checked in the emulator's order, each with its exact error (a code
//! before the session it answers, as struct fields are evaluated in the order written).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use data_encoding::BASE32_NOPAD;
use tessera_core::{DomainError, FactorData, FactorId, FactorKind};

use super::error::ItError;
use super::extract::{ApiKey, Body};
use super::input;
use super::mfa_wire::*;
use super::oob::Source;
use crate::dialects::Client;
use crate::service::{
    Authenticated, EnrolmentProof, EnrolmentStart, EnrolmentStarted, Notice, Service, Session,
    SignInProof,
};

async fn me(
    svc: &Service,
    key: &ApiKey,
    id_token: Option<&str>,
    tenant: Option<&str>,
) -> Result<Authenticated, ItError> {
    let token = id_token
        .filter(|t| !t.is_empty())
        .ok_or(ItError::code("MISSING_ID_TOKEN"))?;
    Ok(svc.authenticate(&key.0, tenant, token).await?)
}

fn factor_id(raw: &Option<String>) -> Result<FactorId, ItError> {
    let raw = input::required(raw, "MISSING_MFA_ENROLLMENT_ID").map_err(|_| {
        ItError::with_detail(
            "MISSING_MFA_ENROLLMENT_ID",
            "No second factor identifier is provided.",
        )
    })?;
    FactorId::parse(raw).ok_or(ItError::code("MFA_ENROLLMENT_NOT_FOUND"))
}

/// Enrolment answers say what was enrolled: `phoneAuthInfo` or `totpAuthInfo: {}`.
fn enrolled(session: Session, phone: Option<String>) -> FinalizeResponse {
    let totp = phone.is_none();
    FinalizeResponse {
        phone_auth_info: phone.map(|phone_number| PhoneAuthInfo { phone_number }),
        totp_auth_info: totp.then_some(Empty {}),
        ..FinalizeResponse::tokens(session)
    }
}

#[utoipa::path(post, path = "/v2/accounts/mfaEnrollment:start", tag = "mfa", request_body = StartEnrollmentRequest,
    responses((status = 200, body = StartEnrollmentResponse)))]
pub async fn start_enrollment(
    State(svc): State<Arc<Service>>,
    key: ApiKey,
    Client(client): Client,
    Body(req): Body<StartEnrollmentRequest>,
) -> Result<Json<StartEnrollmentResponse>, ItError> {
    let me = me(
        &svc,
        &key,
        req.id_token.as_deref(),
        req.tenant_id.as_deref(),
    )
    .await?;
    let kind = match (&req.phone_enrollment_info, &req.totp_enrollment_info) {
        (Some(_), None) => Some(FactorKind::SmsOtp),
        (None, Some(_)) => Some(FactorKind::Totp),
        _ => None,
    };
    svc.check_enrolment_allowed(&me, kind)?;
    let start = match (req.phone_enrollment_info, req.totp_enrollment_info) {
        (Some(phone), None) => {
            let number = phone.phone_number.as_deref().unwrap_or_default();
            EnrolmentStart::Phone {
                phone: input::phone(number)?,
                evidence: phone.evidence(),
            }
        }
        (None, Some(_)) => EnrolmentStart::Totp,
        _ => {
            return Err(ItError::with_detail(
                "INVALID_ARGUMENT",
                "Exactly one of phoneEnrollmentInfo and totpEnrollmentInfo must be set.",
            ));
        }
    };
    let response = match svc.start_enrolment(&me, start, &client).await? {
        EnrolmentStarted::Phone { session_info } => StartEnrollmentResponse {
            phone_session_info: Some(SessionInfo { session_info }),
            totp_session_info: None,
        },
        EnrolmentStarted::Totp {
            session_info,
            secret,
            spec,
            finalize_by,
        } => StartEnrollmentResponse {
            phone_session_info: None,
            totp_session_info: Some(TotpSessionInfo {
                shared_secret_key: BASE32_NOPAD.encode(&secret),
                verification_code_length: spec.digits,
                hashing_algorithm: spec.algorithm.as_str(),
                period_sec: spec.period_secs,
                session_info,
                finalize_enrollment_time: timestamp(finalize_by),
            }),
        },
    };
    Ok(Json(response))
}

#[utoipa::path(post, path = "/v2/accounts/mfaEnrollment:finalize", tag = "mfa",
    request_body = FinalizeEnrollmentRequest, responses((status = 200, body = FinalizeResponse)))]
pub async fn finalize_enrollment(
    State(svc): State<Arc<Service>>,
    key: ApiKey,
    Source(source): Source,
    Client(client): Client,
    Body(req): Body<FinalizeEnrollmentRequest>,
) -> Result<Json<FinalizeResponse>, ItError> {
    let me = me(
        &svc,
        &key,
        req.id_token.as_deref(),
        req.tenant_id.as_deref(),
    )
    .await?;
    let proof = match (&req.phone_verification_info, &req.totp_verification_info) {
        (Some(phone), None) => EnrolmentProof::Phone {
            code: input::required(&phone.code, "MISSING_CODE")?.to_owned(),
            session_info: input::required(&phone.session_info, "MISSING_SESSION_INFO")?.to_owned(),
        },
        (None, Some(totp)) => EnrolmentProof::Totp {
            code: input::required(&totp.verification_code, "MISSING_CODE")?.to_owned(),
            session_info: input::required(&totp.session_info, "MISSING_SESSION_INFO")?.to_owned(),
        },
        _ => {
            return Err(ItError::with_detail(
                "INVALID_ARGUMENT",
                "Exactly one of phoneVerificationInfo and totpVerificationInfo must be set.",
            ));
        }
    };
    let display_name = req.display_name.filter(|n| !n.is_empty());
    let notice = Notice {
        source: &source,
        client: &client,
    };
    let (factor, session) = svc
        .finalize_enrolment(me, proof, display_name, notice)
        .await?;
    let phone = match &factor.data {
        FactorData::SmsOtp { phone } => Some(phone.to_string()),
        _ => None,
    };
    Ok(Json(enrolled(session, phone)))
}

#[utoipa::path(post, path = "/v2/accounts/mfaEnrollment:withdraw", tag = "mfa", request_body = WithdrawRequest,
    responses((status = 200, body = WithdrawResponse)))]
pub async fn withdraw(
    State(svc): State<Arc<Service>>,
    key: ApiKey,
    Body(req): Body<WithdrawRequest>,
) -> Result<Json<WithdrawResponse>, ItError> {
    let me = me(
        &svc,
        &key,
        req.id_token.as_deref(),
        req.tenant_id.as_deref(),
    )
    .await?;
    let id = FactorId::parse(req.mfa_enrollment_id.as_deref().unwrap_or_default())
        .ok_or(ItError::code("MFA_ENROLLMENT_NOT_FOUND"))?;
    let session = svc.withdraw_factor(me, &id).await?;
    Ok(Json(WithdrawResponse {
        id_token: session.id_token,
        refresh_token: session.refresh_token,
    }))
}

#[utoipa::path(post, path = "/v2/accounts/mfaSignIn:start", tag = "mfa", request_body = StartSignInRequest,
    responses((status = 200, body = StartSignInResponse)))]
pub async fn start_sign_in(
    State(svc): State<Arc<Service>>,
    _: ApiKey,
    Client(client): Client,
    Body(req): Body<StartSignInRequest>,
) -> Result<Json<StartSignInResponse>, ItError> {
    let credential = input::required(
        &req.mfa_pending_credential,
        "MISSING_MFA_PENDING_CREDENTIAL",
    )
    .map_err(|_| {
        ItError::with_detail(
            "MISSING_MFA_PENDING_CREDENTIAL",
            "Request does not have MFA pending credential.",
        )
    })?;
    let id = factor_id(&req.mfa_enrollment_id)?;
    let evidence = req
        .phone_sign_in_info
        .as_ref()
        .map(PhoneRequestInfo::evidence)
        .unwrap_or_default();
    let session_info = svc
        .start_second_factor(
            credential,
            req.tenant_id.as_deref(),
            &id,
            &evidence,
            &client,
        )
        .await?;
    Ok(Json(StartSignInResponse {
        phone_response_info: SessionInfo { session_info },
    }))
}

#[utoipa::path(post, path = "/v2/accounts/mfaSignIn:finalize", tag = "mfa", request_body = FinalizeSignInRequest,
    responses((status = 200, body = FinalizeResponse)))]
pub async fn finalize_sign_in(
    State(svc): State<Arc<Service>>,
    _: ApiKey,
    Client(client): Client,
    Body(req): Body<FinalizeSignInRequest>,
) -> Result<Json<FinalizeResponse>, ItError> {
    let credential =
        input::required(&req.mfa_pending_credential, "MISSING_CREDENTIAL").map_err(|_| {
            ItError::with_detail("MISSING_CREDENTIAL", "Please set MFA Pending Credential.")
        })?;
    let proof = match (&req.phone_verification_info, &req.totp_verification_info) {
        (Some(phone), None) => SignInProof::Phone {
            code: input::required(&phone.code, "MISSING_CODE")?.to_owned(),
            session_info: input::required(&phone.session_info, "MISSING_SESSION_INFO")?.to_owned(),
        },
        (None, Some(totp)) => SignInProof::Totp {
            factor: factor_id(&req.mfa_enrollment_id)?,
            code: input::required(&totp.verification_code, "MISSING_CODE")?.to_owned(),
        },
        _ => return Err(DomainError::FactorKindUnsupported.into()),
    };
    let (_, session) = svc
        .finish_second_factor(credential, req.tenant_id.as_deref(), proof, &client)
        .await?;
    Ok(Json(FinalizeResponse::tokens(session)))
}
