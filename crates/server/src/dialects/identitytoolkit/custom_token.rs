//! `accounts:signInWithCustomToken`: signing in with a custom token, which a backend makes
//! with the Admin SDKs' `createCustomToken` for a user id of its choosing (the JS SDK's
//! `signInWithCustomToken`). Which tokens are taken is `tokens::CustomTokens`' to say: in
//! production those of the configured service accounts, in dev mode any, as the emulator
//! takes them. Checks come in the emulator's order (its `signInWithCustomToken` in
//! operations.ts).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::Value;
use tessera_core::UserId;

use super::accounts::realm_for;
use super::error::ItError;
use super::extract::{Body, Caller};
use super::input;
use super::wire::{SignInWithCustomTokenRequest, SignInWithCustomTokenResponse};
use crate::service::Service;
use crate::tokens::CustomTokenError;

#[utoipa::path(post, path = "/v1/accounts:signInWithCustomToken", tag = "accounts",
    request_body = SignInWithCustomTokenRequest,
    responses((status = 200, body = SignInWithCustomTokenResponse)))]
pub async fn sign_in_with_custom_token(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignInWithCustomTokenRequest>,
) -> Result<Json<SignInWithCustomTokenResponse>, ItError> {
    let realm = realm_for(&svc, &caller, None, req.tenant_id.as_deref()).await?;
    let raw = req
        .token
        .as_deref()
        .ok_or(ItError::code("MISSING_CUSTOM_TOKEN"))?;
    let token = svc.read_custom_token(raw).map_err(refusal)?;
    let payload = token.payload;
    if token.jwt && string(payload.get("tenant_id")) != realm.tenant_id {
        return Err(ItError::code("TENANT_ID_MISMATCH"));
    }
    let uid = string(payload.get("uid"))
        .or_else(|| string(payload.get("user_id")))
        .filter(|uid| !uid.is_empty())
        .ok_or(ItError::code("MISSING_IDENTIFIER"))?;
    let id = UserId::parse(&uid).ok_or(ItError::with_detail(
        "INVALID_CUSTOM_TOKEN",
        "The uid must be at most 128 characters long.",
    ))?;
    let claims = match payload.get("claims") {
        Some(claims) => input::custom_attributes(&claims.to_string())?,
        None => None,
    };
    let (session, is_new_user) = svc.sign_in_with_custom_token(&realm, id, claims).await?;
    Ok(Json(SignInWithCustomTokenResponse {
        kind: "identitytoolkit#VerifyCustomTokenResponse",
        is_new_user,
        tokens: Some(session).into(),
    }))
}

/// Identity Toolkit's words for a refused custom token (the emulator's where it has them;
/// `CREDENTIAL_MISMATCH` is the JS SDK's `auth/custom-token-mismatch`).
fn refusal(error: CustomTokenError) -> ItError {
    let invalid = |detail: &str| ItError::with_detail("INVALID_CUSTOM_TOKEN", detail);
    match error {
        CustomTokenError::Format => invalid("Invalid assertion format"),
        CustomTokenError::NotJson => {
            invalid("Only strict JSON or a JWT is taken as a custom token in dev mode.")
        }
        CustomTokenError::Audience(aud) => invalid(&format!(
            "Invalid aud (audience): {aud}. Firebase ID tokens and third-party tokens cannot be \
             used with signInWithCustomToken."
        )),
        CustomTokenError::UnknownSigner => ItError::with_detail(
            "CREDENTIAL_MISMATCH",
            "The token is not signed by a service account in custom_token_signers.",
        ),
        CustomTokenError::Invalid => {
            invalid("The token's signature or its iss, sub, iat or exp do not check out.")
        }
        CustomTokenError::Expired => {
            invalid("The token has expired, or is valid for longer than an hour.")
        }
    }
}

/// A string, number or boolean as text, as the emulator reads a token's ids.
fn string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
