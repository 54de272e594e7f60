//! The Identity Toolkit dialect: Google's REST API behind Firebase Auth and Identity
//! Platform, served both under the emulator layout (`/identitytoolkit.googleapis.com/v1/…`,
//! `/securetoken.googleapis.com/v1/token`) and bare (`/v1/…`), as spec §1.2 recommends.

mod accounts;
mod admin;
mod config;
mod custom_token;
mod emulator;
mod error;
mod extract;
mod hashes;
mod idp;
mod input;
mod mfa;
mod mfa_wire;
mod oob;
mod phone;
mod securetoken;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{DefaultBodyLimit, Query, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::collections::HashMap;

pub use error::ItError;

use crate::service::Service;

/// Routes that exist under both `/v1/…` and `/identitytoolkit.googleapis.com/v1/…`.
fn identitytoolkit_v1() -> Router<Arc<Service>> {
    let mut router = Router::new()
        .route("/v1/accounts:signUp", post(accounts::sign_up))
        .route(
            "/v1/accounts:signInWithPassword",
            post(accounts::sign_in_with_password),
        )
        .route("/v1/accounts:lookup", post(accounts::lookup))
        .route(
            "/v1/accounts:createAuthUri",
            post(accounts::create_auth_uri),
        )
        .route("/v1/accounts:update", post(accounts::update))
        .route("/v1/accounts:delete", post(accounts::delete))
        .route("/v1/accounts:sendOobCode", post(oob::send_oob_code))
        .route("/v1/accounts:resetPassword", post(oob::reset_password))
        .route(
            "/v1/accounts:signInWithEmailLink",
            post(oob::sign_in_with_email_link),
        )
        .route(
            "/v1/accounts:signInWithCustomToken",
            post(custom_token::sign_in_with_custom_token),
        )
        .route(
            "/v1/accounts:sendVerificationCode",
            post(phone::send_verification_code),
        )
        .route(
            "/v1/accounts:signInWithPhoneNumber",
            post(phone::sign_in_with_phone_number),
        )
        .route("/v1/accounts:signInWithIdp", post(idp::sign_in_with_idp))
        .route("/v1/projects", get(accounts::project_info))
        .route("/v1/recaptchaParams", get(securetoken::recaptcha_params))
        .route("/v2/recaptchaConfig", get(securetoken::recaptcha_config));
    for base in [
        "/v1/projects/{project}",
        "/v1/projects/{project}/tenants/{tenant}",
    ] {
        // `{base}:createSessionCookie`: the last segment's `:method` is split off by the handler.
        router = router
            .route(base, post(admin::create_session_cookie))
            .route(&format!("{base}/accounts"), post(admin::create))
            .route(&format!("{base}/accounts:lookup"), post(admin::lookup))
            .route(&format!("{base}/accounts:update"), post(admin::update))
            .route(&format!("{base}/accounts:delete"), post(admin::delete))
            .route(
                &format!("{base}/accounts:sendOobCode"),
                post(oob::send_oob_code),
            )
            .route(&format!("{base}/accounts:query"), post(admin::query))
            .route(
                &format!("{base}/accounts:batchCreate"),
                post(admin::batch_create),
            )
            .route(
                &format!("{base}/accounts:batchDelete"),
                post(admin::batch_delete),
            )
            .route(&format!("{base}/accounts:batchGet"), get(admin::batch_get));
    }
    router
}

/// Routes that exist under both `/v2/…` and `/identitytoolkit.googleapis.com/v2/…`.
fn identitytoolkit_v2() -> Router<Arc<Service>> {
    Router::new()
        .route(
            "/v2/accounts/mfaEnrollment:start",
            post(mfa::start_enrollment),
        )
        .route(
            "/v2/accounts/mfaEnrollment:finalize",
            post(mfa::finalize_enrollment),
        )
        .route("/v2/accounts/mfaEnrollment:withdraw", post(mfa::withdraw))
        .route("/v2/accounts/mfaSignIn:start", post(mfa::start_sign_in))
        .route(
            "/v2/accounts/mfaSignIn:finalize",
            post(mfa::finalize_sign_in),
        )
        .route(
            "/v2/projects/{project}/config",
            get(config::get_config).patch(config::update_config),
        )
        .route(
            "/v2/projects/{project}/tenants",
            post(config::create_tenant).get(config::list_tenants),
        )
        .route(
            "/v2/projects/{project}/tenants/{tenant}",
            get(config::get_tenant)
                .patch(config::update_tenant)
                .delete(config::delete_tenant),
        )
}

fn emulator() -> Router<Arc<Service>> {
    let mut router = Router::new();
    for base in [
        "/emulator/v1/projects/{project}",
        "/emulator/v1/projects/{project}/tenants/{tenant}",
    ] {
        router = router
            .route(
                &format!("{base}/verificationCodes"),
                get(emulator::verification_codes).delete(emulator::clear_verification_codes),
            )
            .route(&format!("{base}/oobCodes"), get(emulator::oob_codes))
            .route(
                &format!("{base}/accounts"),
                delete(emulator::delete_all_accounts),
            );
    }
    router
}

/// Routes that exist under both `/…` and `/www.googleapis.com/…`: the signing keys, and the
/// legacy v3 "relying party" API.
fn googleapis() -> Router<Arc<Service>> {
    Router::new()
        .route(
            "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
            get(securetoken::x509),
        )
        .route(
            "/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
            get(securetoken::jwks),
        )
        .merge(relying_party_v3())
}

/// The legacy v3 names of the v1 methods (`/identitytoolkit/v3/relyingparty/<name>`), which
/// the Firebase iOS SDK and older Admin SDKs still call, with the same bodies; the emulator
/// serves them by the same rewriting (spec 1.2). `setProjectConfig` and the account downloads
/// and uploads are not served.
fn relying_party_v3() -> Router<Arc<Service>> {
    let v3 = |name: &str| format!("/identitytoolkit/v3/relyingparty/{name}");
    Router::new()
        .route(&v3("signupNewUser"), post(accounts::sign_up))
        .route(&v3("verifyPassword"), post(accounts::sign_in_with_password))
        .route(&v3("getAccountInfo"), post(accounts::lookup))
        .route(&v3("setAccountInfo"), post(accounts::update))
        .route(&v3("deleteAccount"), post(accounts::delete))
        .route(&v3("createAuthUri"), post(accounts::create_auth_uri))
        .route(&v3("getOobConfirmationCode"), post(oob::send_oob_code))
        .route(&v3("resetPassword"), post(oob::reset_password))
        .route(&v3("emailLinkSignin"), post(oob::sign_in_with_email_link))
        .route(
            &v3("verifyCustomToken"),
            post(custom_token::sign_in_with_custom_token),
        )
        .route(
            &v3("sendVerificationCode"),
            post(phone::send_verification_code),
        )
        .route(
            &v3("verifyPhoneNumber"),
            post(phone::sign_in_with_phone_number),
        )
        .route(&v3("verifyAssertion"), post(idp::sign_in_with_idp))
        .route(&v3("getRecaptchaParam"), get(securetoken::recaptcha_params))
        .route(&v3("getProjectConfig"), get(accounts::project_info))
        // Where verifiers of session cookies find the keys (the same as ID tokens').
        .route(&v3("publicKeys"), get(securetoken::x509))
}

pub fn router() -> Router<Arc<Service>> {
    let v1 = identitytoolkit_v1().merge(identitytoolkit_v2());
    let token = Router::new().route("/v1/token", post(securetoken::token));
    Router::new()
        .merge(v1.clone())
        .nest("/identitytoolkit.googleapis.com", v1)
        .merge(token.clone())
        .nest("/securetoken.googleapis.com", token)
        .merge(googleapis())
        .nest("/www.googleapis.com", googleapis())
        .route("/.well-known/jwks.json", get(securetoken::jwks))
        .merge(emulator())
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(middleware::from_fn(google_params))
}

/// `prettyPrint=true` indents the response; `$.xgafv=2` selects the v2 error format, which
/// drops the legacy `errors` array. `alt=json` is the only representation and is accepted.
async fn google_params(
    Query(params): Query<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    let pretty = params
        .get("prettyPrint")
        .is_some_and(|v| v == "true" || v == "1");
    let v2_errors = params.get("$.xgafv").is_some_and(|v| v == "2");
    let response = next.run(request).await;
    let strip_errors = v2_errors && !response.status().is_success();
    if !pretty && !strip_errors {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ItError::Domain(tessera_core::DomainError::Internal).into_response();
    };
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, HttpBody::from(bytes));
    };
    if strip_errors && let Some(error) = json.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.remove("errors");
    }
    let rendered = if pretty {
        serde_json::to_vec_pretty(&json)
    } else {
        serde_json::to_vec(&json)
    };
    let mut parts = parts;
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, HttpBody::from(rendered.unwrap_or_default()))
}

/// Every Identity Toolkit path, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    accounts::project_info,
    accounts::sign_up,
    accounts::sign_in_with_password,
    accounts::create_auth_uri,
    accounts::lookup,
    accounts::update,
    accounts::delete,
    oob::send_oob_code,
    oob::reset_password,
    oob::sign_in_with_email_link,
    custom_token::sign_in_with_custom_token,
    phone::send_verification_code,
    phone::sign_in_with_phone_number,
    idp::sign_in_with_idp,
    admin::create,
    admin::create_session_cookie,
    admin::lookup,
    admin::update,
    admin::delete,
    admin::query,
    admin::batch_create,
    admin::batch_delete,
    admin::batch_get,
    securetoken::token,
    mfa::start_enrollment,
    mfa::finalize_enrollment,
    mfa::withdraw,
    mfa::start_sign_in,
    mfa::finalize_sign_in,
    config::get_config,
    config::update_config,
    config::create_tenant,
    config::list_tenants,
    config::get_tenant,
    config::update_tenant,
    config::delete_tenant,
    emulator::verification_codes,
    emulator::clear_verification_codes,
    emulator::oob_codes,
    emulator::delete_all_accounts,
    securetoken::jwks,
    securetoken::x509,
    securetoken::recaptcha_params,
    securetoken::recaptcha_config,
))]
pub struct ApiDoc;
