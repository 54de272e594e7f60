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
use crate::service::{PhoneCodeUse, PhoneOutcome, PhoneProof, Service};

#[utoipa::path(post, path = "/v1/accounts:sendVerificationCode", tag = "accounts",
    request_body = SendVerificationCodeRequest, responses((status = 200, body = SessionInfo)))]
pub async fn send_verification_code(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Client(client): Client,
    Body(req): Body<SendVerificationCodeRequest>,
) -> Result<Json<SessionInfo>, ItError> {
    let (tenant, info) = req.into_parts();
    let realm = realm_for(&svc, &caller, None, tenant.as_deref()).await?;
    // A missing number is an invalid one, as in Firebase.
    let phone = input::phone(info.phone_number.as_deref().unwrap_or_default())?;
    let session_info = svc
        .send_phone_sign_in_code(&realm, &phone, &info.evidence(), &client)
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
    let proof = match &req.temporary_proof {
        Some(proof) => {
            let phone = req
                .phone_number
                .as_deref()
                .ok_or(ItError::code("MISSING_PHONE_NUMBER"))?;
            let phone = input::phone(phone)?;
            PhoneProof::Temporary { proof, phone }
        }
        None => PhoneProof::Code {
            session_info: input::required(&req.session_info, "MISSING_SESSION_INFO")?,
            code: input::required(&req.code, "MISSING_CODE")?,
        },
    };
    let id_token = req.id_token.as_deref().filter(|t| !t.is_empty());
    let purpose = match (id_token, req.operation.as_deref()) {
        (Some(token), _) => {
            let me = svc
                .authenticate(&caller.token_scope(), tenant, token)
                .await?;
            PhoneCodeUse::Link(Box::new(me))
        }
        (None, Some("REAUTH")) => PhoneCodeUse::Reauthenticate,
        (None, _) => PhoneCodeUse::SignUpOrIn,
    };
    let response = match svc
        .sign_in_with_phone(&realm, proof, purpose, &client)
        .await?
    {
        PhoneOutcome::SignedIn(signed_in) => SignInWithPhoneNumberResponse {
            local_id: Some(signed_in.user.id.as_str().to_owned()),
            phone_number: signed_in.user.phone_number.clone().unwrap_or_default(),
            is_new_user: Some(signed_in.is_new),
            tokens: Some(signed_in.session).into(),
            ..SignInWithPhoneNumberResponse::default()
        },
        PhoneOutcome::Taken {
            phone,
            proof,
            expires_in,
        } => SignInWithPhoneNumberResponse {
            phone_number: phone.to_string(),
            temporary_proof: Some(proof),
            temporary_proof_expires_in: Some(expires_in.to_string()),
            ..SignInWithPhoneNumberResponse::default()
        },
    };
    Ok(Json(response))
}
