//! `/openapi.json`: the OpenAPI 3.1 document of the REST surface, generated from the
//! handlers' annotations. Each dialect contributes its own `ApiDoc`.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::dialects::{identitytoolkit, zitadel};
use crate::service::Service;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera", description = "Self-hosted multi-factor authentication server: Identity Toolkit and ZITADEL dialects over one store."),
    paths(super::health::healthz, super::health::readyz),
    tags(
        (name = "accounts", description = "Identity Toolkit v1 end-user accounts (also usable by administrators)"),
        (name = "admin", description = "Identity Toolkit v1 project-scoped administration; every path also exists under /v1/projects/{project}/tenants/{tenant}/"),
        (name = "securetoken", description = "Token refresh and public keys"),
        (name = "operations", description = "Health and readiness"),
        (name = "zitadel", description = "ZITADEL auth factors (user service v2, management v1, auth v1), REST mapping"),
    )
)]
struct Operations;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Operations::openapi();
    doc.merge(identitytoolkit::ApiDoc::openapi());
    doc.merge(zitadel::openapi());
    doc
}

pub fn router() -> Router<Arc<Service>> {
    let doc = Arc::new(document());
    Router::new().route(
        "/openapi.json",
        get(move || async move { Json(doc.as_ref().clone()) }),
    )
}
