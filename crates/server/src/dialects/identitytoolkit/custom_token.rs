//! `accounts:signInWithCustomToken`: signing in with a custom token, which a backend makes
//! with the Admin SDKs' `createCustomToken` for a user id of its choosing (the JS SDK's
//! `signInWithCustomToken`). Only in dev mode, and taken as the emulator takes it: a JWT
//! whose signature is not checked (the Admin SDKs sign none for an emulator, and a real one
//! could not be checked without the service account's key), or a plain JSON object; the
//! token's `iat` and `exp` are not checked either, so that tests can reuse one. A server in
//! production has no key to check a token with, so it refuses every one. Checks come in the
//! emulator's order (its `signInWithCustomToken` in operations.ts).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value};
use tessera_core::UserId;

use super::accounts::realm_for;
use super::error::ItError;
use super::extract::{Body, Caller};
use super::input;
use super::wire::{SignInWithCustomTokenRequest, SignInWithCustomTokenResponse};
use crate::service::{Mode, Service};

/// The audience every custom token names.
const AUDIENCE: &str =
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit";

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
    if svc.mode() != Mode::Dev {
        return Err(ItError::with_detail(
            "INVALID_CUSTOM_TOKEN",
            "Custom tokens are taken in dev mode only: a production server has no service \
             account key to check them with.",
        ));
    }
    let (payload, signed) = payload(raw)?;
    if signed && string(payload.get("tenant_id")) != realm.tenant_id {
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

/// What the token says, and whether it came as a JWT (else as plain JSON, which names no
/// audience or tenant).
fn payload(raw: &str) -> Result<(Map<String, Value>, bool), ItError> {
    if raw.starts_with('{') {
        let payload = serde_json::from_str(raw).map_err(|_| {
            ItError::with_detail(
                "INVALID_CUSTOM_TOKEN",
                "Only strict JSON or a JWT is taken as a custom token in dev mode.",
            )
        })?;
        return Ok((payload, false));
    }
    let invalid = || ItError::with_detail("INVALID_CUSTOM_TOKEN", "Invalid assertion format");
    let object = |part: &str| {
        let bytes = BASE64URL_NOPAD
            .decode(part.trim_end_matches('=').as_bytes())
            .ok()?;
        serde_json::from_slice::<Map<String, Value>>(&bytes).ok()
    };
    let parts: Vec<&str> = raw.split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err(invalid());
    };
    object(header).ok_or_else(invalid)?;
    let payload = object(payload).ok_or_else(invalid)?;
    if payload.get("aud").and_then(Value::as_str) != Some(AUDIENCE) {
        let aud = payload.get("aud").map(Value::to_string).unwrap_or_default();
        return Err(ItError::with_detail(
            "INVALID_CUSTOM_TOKEN",
            &format!(
                "Invalid aud (audience): {aud}. Firebase ID tokens and third-party tokens \
                 cannot be used with signInWithCustomToken."
            ),
        ));
    }
    Ok((payload, true))
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
