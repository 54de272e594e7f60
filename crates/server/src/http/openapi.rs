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
    declare_errors(&mut doc);
    doc
}

/// Every operation can fail, and says how: a `default` response with the error envelope of
/// its dialect, so that clients and schemathesis (`status_code_conformance`,
/// `response_schema_conformance`) can check error bodies too. A ZITADEL path that does not
/// match a route at all (an empty path segment) falls through to the router's fallback, which
/// answers in Google's envelope, so ZITADEL operations admit both.
fn declare_errors(doc: &mut utoipa::openapi::OpenApi) {
    let google = serde_json::json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "status": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        }},
    });
    let zitadel = serde_json::json!({
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}},
        },
    });
    let response = |description: &str, schema: serde_json::Value| {
        serde_json::from_value::<utoipa::openapi::Response>(serde_json::json!({
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }))
    };
    let (Ok(google_error), Ok(zitadel_error)) = (
        response(
            "an error in Google's envelope (spec identitytoolkit.md §6.1)",
            google.clone(),
        ),
        response(
            "an error in ZITADEL's REST form (spec zitadel.md §1)",
            serde_json::json!({"anyOf": [zitadel, google]}),
        ),
    ) else {
        tracing::error!("the OpenAPI error responses do not parse");
        return;
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let is_zitadel = op
                .tags
                .as_ref()
                .is_some_and(|tags| tags.iter().any(|t| t == "zitadel"));
            let error = if is_zitadel {
                &zitadel_error
            } else {
                &google_error
            };
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| error.clone().into());
        }
    }
}

pub fn router() -> Router<Arc<Service>> {
    let doc = Arc::new(document());
    Router::new().route(
        "/openapi.json",
        get(move || async move { Json(doc.as_ref().clone()) }),
    )
}
