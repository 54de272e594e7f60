//! `accounts:sendVerificationCode` and `accounts:signInWithPhoneNumber`: a phone number as the
//! first factor (the JS SDK's `signInWithPhoneNumber`, `linkWithPhoneNumber`,
//! `updatePhoneNumber`, `reauthenticateWithPhoneNumber`). Checks come in the emulator's order
//! (its functions of those names in operations.ts). Unlike the emulator, tenants may use
//! them, as Identity Platform's may.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::accounts::realm_for;
use super::error::ItError;
use super::extract::{Body, Caller};
use super::input;
use super::mfa_wire::{SendVerificationCodeRequest, SessionInfo};
use super::wire::{SignInWithPhoneNumberRequest, SignInWithPhoneNumberResponse};
use crate::dialects::Client;
use crate::service::{PhoneCodeUse, Service};

#[utoipa::path(post, path = "/v1/accounts:sendVerificationCode", tag = "accounts",
    request_body = SendVerificationCodeRequest, responses((status = 200, body = SessionInfo)))]
pub async fn send_verification_code(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Client(client): Client,
    Body(req): Body<SendVerificationCodeRequest>,
) -> Result<Json<SessionInfo>, ItError> {
    let realm = realm_for(&svc, &caller, None, req.tenant_id.as_deref()).await?;
    // A missing number is an invalid one, as in Firebase.
    let phone = input::phone(req.phone.phone_number.as_deref().unwrap_or_default())?;
    let session_info = svc
        .send_phone_sign_in_code(&realm, &phone, &req.phone.evidence(), &client)
        .await?;
    Ok(Json(SessionInfo { session_info }))
}

#[utoipa::path(post, path = "/v1/accounts:signInWithPhoneNumber", tag = "accounts",
    request_body = SignInWithPhoneNumberRequest,
    responses((status = 200, body = SignInWithPhoneNumberResponse)))]
pub async fn sign_in_with_phone_number(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Client(client): Client,
    Body(req): Body<SignInWithPhoneNumberRequest>,
) -> Result<Json<SignInWithPhoneNumberResponse>, ItError> {
    let tenant = req.tenant_id.as_deref();
    let realm = realm_for(&svc, &caller, None, tenant).await?;
    if req.temporary_proof.is_some() {
        if req.phone_number.is_none() {
            return Err(ItError::code("MISSING_PHONE_NUMBER"));
        }
        return Err(ItError::code("INVALID_TEMPORARY_PROOF"));
    }
    let session_info = nonempty(&req.session_info).ok_or(ItError::code("MISSING_SESSION_INFO"))?;
    let code = nonempty(&req.code).ok_or(ItError::code("MISSING_CODE"))?;
    let purpose = match (nonempty(&req.id_token), req.operation.as_deref()) {
        (Some(token), _) => {
            let me = svc
                .authenticate(&caller.token_scope(), tenant, token)
                .await?;
            PhoneCodeUse::Link(Box::new(me))
        }
        (None, Some("REAUTH")) => PhoneCodeUse::Reauthenticate,
        (None, _) => PhoneCodeUse::SignUpOrIn,
    };
    let signed_in = svc
        .sign_in_with_phone(&realm, session_info, code, purpose, &client)
        .await?;
    Ok(Json(SignInWithPhoneNumberResponse {
        local_id: signed_in.user.id.as_str().to_owned(),
        phone_number: signed_in.user.phone_number.clone().unwrap_or_default(),
        is_new_user: signed_in.is_new,
        tokens: Some(signed_in.session).into(),
    }))
}

fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}
