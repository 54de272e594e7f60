//! The Identity Toolkit dialect: Google's REST API behind Firebase Auth and Identity
//! Platform, served both under the emulator layout (`/identitytoolkit.googleapis.com/v1/…`,
//! `/securetoken.googleapis.com/v1/token`) and bare (`/v1/…`), as spec §1.2 recommends.

mod accounts;
mod admin;
mod error;
mod extract;
mod input;
mod securetoken;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::Body as HttpBody;
use axum::extract::{DefaultBodyLimit, Query, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        .route("/v1/accounts:update", post(accounts::update))
        .route("/v1/accounts:delete", post(accounts::delete));
    for base in [
        "/v1/projects/{project}",
        "/v1/projects/{project}/tenants/{tenant}",
    ] {
        router = router
            .route(&format!("{base}/accounts"), post(admin::create))
            .route(&format!("{base}/accounts:lookup"), post(admin::lookup))
            .route(&format!("{base}/accounts:update"), post(admin::update))
            .route(&format!("{base}/accounts:delete"), post(admin::delete))
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

fn public_keys() -> Router<Arc<Service>> {
    Router::new()
        .route(
            "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
            get(securetoken::x509),
        )
        .route(
            "/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
            get(securetoken::jwks),
        )
}

pub fn router() -> Router<Arc<Service>> {
    let v1 = identitytoolkit_v1();
    let token = Router::new().route("/v1/token", post(securetoken::token));
    Router::new()
        .merge(v1.clone())
        .nest("/identitytoolkit.googleapis.com", v1)
        .merge(token.clone())
        .nest("/securetoken.googleapis.com", token)
        .merge(public_keys())
        .nest("/www.googleapis.com", public_keys())
        .route("/.well-known/jwks.json", get(securetoken::jwks))
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
    accounts::sign_up,
    accounts::sign_in_with_password,
    accounts::lookup,
    accounts::update,
    accounts::delete,
    admin::create,
    admin::lookup,
    admin::update,
    admin::delete,
    admin::query,
    admin::batch_create,
    admin::batch_delete,
    admin::batch_get,
    securetoken::token,
    securetoken::jwks,
    securetoken::x509,
))]
pub struct ApiDoc;
