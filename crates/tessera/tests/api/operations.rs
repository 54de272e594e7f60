//! Health, readiness, metrics, the OpenAPI document and CORS.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        app.get("/readyz").await,
        (StatusCode::OK, json!({"status": "ok", "database": "ok"}))
    );
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_status() {
    let app = TestApp::spawn().await;
    app.sign_up("m@example.com", "secret12").await;
    app.post("/v1/accounts:lookup", json!({})).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"tessera_http_requests_total{route="/v1/accounts:signUp",method="POST",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(
        r#"tessera_http_requests_total{route="/v1/accounts:lookup",method="POST",status="400"} 1"#
    ));
    assert!(
        text.contains("tessera_http_request_duration_seconds_bucket{"),
        "latency histogram: {text}"
    );
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/accounts:signUp",
        "/v1/accounts:signInWithPassword",
        "/v1/accounts:lookup",
        "/v1/accounts:update",
        "/v1/accounts:delete",
        "/v1/projects/{project}/accounts",
        "/v1/projects/{project}/accounts:lookup",
        "/v1/projects/{project}/accounts:update",
        "/v1/projects/{project}/accounts:delete",
        "/v1/projects/{project}/accounts:query",
        "/v1/projects/{project}/accounts:batchCreate",
        "/v1/projects/{project}/accounts:batchDelete",
        "/v1/projects/{project}/accounts:batchGet",
        "/v1/token",
        "/.well-known/jwks.json",
        "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
        "/healthz",
        "/readyz",
        "/v2/accounts/mfaEnrollment:start",
        "/v2/accounts/mfaEnrollment:finalize",
        "/v2/accounts/mfaEnrollment:withdraw",
        "/v2/accounts/mfaSignIn:start",
        "/v2/accounts/mfaSignIn:finalize",
        "/v2/projects/{project}/config",
        "/v2/projects/{project}/tenants",
        "/v2/projects/{project}/tenants/{tenant}",
        "/emulator/v1/projects/{project}/verificationCodes",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from /openapi.json"
        );
    }
    assert!(paths.contains_key("/v1/recaptchaParams"));
    // Every documented path is served (no 404 from the fallback).
    for (path, item) in paths {
        let concrete = path.replace("{project}", PROJECT);
        let method = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .find(|m| item.get(*m).is_some())
            .and_then(|m| m.to_uppercase().parse().ok())
            .unwrap_or_else(|| panic!("{path} documents no method"));
        let response = app
            .client
            .request(method, app.url(&concrete))
            .bearer_auth("owner")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_ne!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{path} is documented but not routed"
        );
    }
}

#[tokio::test]
async fn cors_reflects_the_caller() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/identitytoolkit.googleapis.com/v1/accounts:signUp"),
        )
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-client-version",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-client-version")
    );
}
