//! securetoken: refresh-token exchange, and the public keys that verify ID tokens, in the
//! JWK and X.509 forms Google publishes them (Admin SDKs fetch the X.509 map).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use jsonwebtoken::jwk::JwkSet;

use super::error::ItError;
use super::extract::{ApiKey, Body};
use super::wire::{TokenRequest, TokenResponse};
use crate::service::Service;

/// Keys rotate rarely; clients may cache them for an hour.
const KEY_CACHE: &str = "public, max-age=3600";

#[utoipa::path(post, path = "/v1/token", tag = "securetoken", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse)))]
pub async fn token(
    State(svc): State<Arc<Service>>,
    ApiKey(scope): ApiKey,
    Body(req): Body<TokenRequest>,
) -> Result<Json<TokenResponse>, ItError> {
    match req.grant_type.as_deref() {
        None | Some("") => return Err(ItError::code("MISSING_GRANT_TYPE")),
        Some("refresh_token") => {}
        Some(_) => return Err(ItError::code("INVALID_GRANT_TYPE")),
    }
    let refresh = req
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or(ItError::code("MISSING_REFRESH_TOKEN"))?;
    let session = svc.refresh(&scope, &refresh).await?;
    Ok(Json(TokenResponse {
        access_token: session.id_token.clone(),
        expires_in: session.expires_in.to_string(),
        token_type: "Bearer",
        refresh_token: session.refresh_token,
        id_token: session.id_token,
        user_id: session.user_id,
        project_id: session.project_id,
    }))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "securetoken",
    responses((status = 200, description = "JWK set of the ID-token signing keys")))]
pub async fn jwks(State(svc): State<Arc<Service>>) -> impl IntoResponse {
    let keys: JwkSet = svc.signing_keys().jwks().clone();
    ([(header::CACHE_CONTROL, KEY_CACHE)], Json(keys))
}

#[utoipa::path(get, path = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com", tag = "securetoken",
    responses((status = 200, description = "Map of kid to PEM X.509 certificate")))]
pub async fn x509(State(svc): State<Arc<Service>>) -> impl IntoResponse {
    let certificates: BTreeMap<String, String> = svc.signing_keys().certificates().clone();
    ([(header::CACHE_CONTROL, KEY_CACHE)], Json(certificates))
}

/// `GET v1/recaptchaParams`: the web SDK's `RecaptchaVerifier` asks for a site key before it
/// verifies a phone number, even in testing mode. Dev mode answers like the emulator (a fake
/// key that the SDK's testing mode never sends to Google); production has no reCAPTCHA
/// integration yet and says so.
#[utoipa::path(get, path = "/v1/recaptchaParams", tag = "securetoken",
    responses((status = 200, description = "reCAPTCHA v2 parameters (dev mode)"), (status = 501)))]
pub async fn recaptcha_params(
    State(svc): State<Arc<Service>>,
) -> Result<Json<serde_json::Value>, ItError> {
    if svc.mode() != crate::service::Mode::Dev {
        return Err(ItError::NotImplemented);
    }
    Ok(Json(serde_json::json!({
        "kind": "identitytoolkit#GetRecaptchaParamResponse",
        "recaptchaStoken": "This-is-a-fake-token__Dont-send-this-to-the-Recaptcha-service__Tessera-dev-mode-does-not-support-Recaptcha",
        "recaptchaSiteKey": "Fake-key__Do-not-send-this-to-Recaptcha_",
    })))
}

/// `GET v2/recaptchaConfig` (reCAPTCHA Enterprise): Tessera enforces none, so it answers as
/// Identity Platform does for a project without reCAPTCHA Enterprise: every provider `OFF`
/// and no site key. The web SDK then falls back to reCAPTCHA v2 (its `RecaptchaVerifier`).
#[utoipa::path(get, path = "/v2/recaptchaConfig", tag = "securetoken",
    responses((status = 200, description = "reCAPTCHA Enterprise enforcement: off for every provider")))]
pub async fn recaptcha_config() -> Json<serde_json::Value> {
    let off = |provider: &str| serde_json::json!({"provider": provider, "enforcementState": "OFF"});
    Json(serde_json::json!({
        "recaptchaEnforcementState": [off("EMAIL_PASSWORD_PROVIDER"), off("PHONE_PROVIDER")],
        "useSmsBotScore": false,
        "useSmsTollFraudProtection": false,
    }))
}
