//! Malformed requests get Google's error envelope, never a 500, and change nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const SIGN_UP: &str = "/v1/accounts:signUp?key=k";

#[tokio::test]
async fn malformed_bodies() {
    let app = TestApp::spawn().await;
    app.sign_up("seed@example.com", "secret12").await;
    let before = app.fingerprint().await;

    let (status, body) = app
        .raw_post(SIGN_UP, "application/json", "{\"email\": ")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(body["error"]["errors"][0]["reason"], "parseError");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON payload received.")
    );

    let reply = app.raw_post(SIGN_UP, "application/json", "[1, 2]").await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Expected an object at the top level.",
    );

    let reply = app
        .raw_post(SIGN_UP, "application/json", r#"{"email": 5}"#)
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'email' (TYPE_STRING), 5",
    );

    let reply = app
        .raw_post(
            SIGN_UP,
            "application/json",
            r#"{"returnSecureToken": true, "disabled": "yes"}"#,
        )
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'disabled' (TYPE_BOOL), \"yes\"",
    );

    let reply = app
        .raw_post(SIGN_UP, "application/json", r#"{"emial": "a@example.com"}"#)
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"emial\": Cannot find field.",
    );

    let reply = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:query"),
            json!({"expression": [{"mail": "x"}]}),
        )
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"mail\" at 'expression[0]': Cannot find field.",
    );

    let big = format!(
        r#"{{"email": "big@example.com", "password": "secret12", "displayName": "{}"}}"#,
        "x".repeat(70_000)
    );
    let reply = app.raw_post(SIGN_UP, "application/json", big).await;
    assert_google_error(
        &reply,
        413,
        "INVALID_ARGUMENT",
        "Request payload size exceeds the limit: 65536 bytes.",
    );

    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn snake_case_bodies_and_alternative_key_header() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v1/accounts:signUp"))
        .header("x-goog-api-key", "header-key")
        .json(&json!({"email": "snake@example.com", "password": "secret12", "display_name": "Snake", "return_secure_token": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["displayName"], "Snake");
}

#[tokio::test]
async fn google_standard_parameters() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/v1/accounts:signUp?alt=json&prettyPrint=false",
            json!({"email": "p@example.com", "password": "secret12"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let pretty = app
        .client
        .post(app.url(&format!("/v1/accounts:lookup?key={KEY}&prettyPrint=true")))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pretty.contains("\n  \"error\""), "{pretty}");

    let (status, body) = app.post("/v1/accounts:lookup?%24.xgafv=2", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": {"code": 400, "message": "MISSING_ID_TOKEN"}}),
        "v2 errors drop `errors`"
    );
    let (_, body) = app.post("/v1/accounts:lookup?$.xgafv=1", json!({})).await;
    assert!(body["error"]["errors"].is_array());
}

#[tokio::test]
async fn missing_key_and_unknown_routes() {
    let app = TestApp::spawn().await;
    let before = app.fingerprint().await;
    let reply = app
        .raw_post(
            "/v1/accounts:signUp",
            "application/json",
            r#"{"email":"k@example.com","password":"secret12"}"#,
        )
        .await;
    assert_google_error(
        &reply,
        403,
        "PERMISSION_DENIED",
        "The request is missing a valid API key.",
    );
    let reply = app
        .raw_post("/v1/accounts:signUp?key=", "application/json", "{}")
        .await;
    assert_google_error(
        &reply,
        403,
        "PERMISSION_DENIED",
        "The request is missing a valid API key.",
    );
    let reply = app.post("/v2/accounts/nothing:here", json!({})).await;
    assert_google_error(&reply, 404, "NOT_FOUND", "Not Found");
    assert_eq!(reply.1["error"]["errors"][0]["reason"], "notFound");
    assert_eq!(app.fingerprint().await, before);
}

/// A path no route serves, or a method its path does not take, answered in the format of the
/// dialect the path belongs to: Google's front end treats both as unknown URLs, ZITADEL's
/// gateway answers grpc-gateway's routing errors.
#[tokio::test]
async fn unknown_paths_and_methods_in_each_dialect() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("routes@example.com", "secret12").await;
    let id = user["localId"].as_str().unwrap();
    let before = app.fingerprint().await;
    let reply = app.get("/v2/accounts/mfaEnrollment:start?key=dev").await;
    assert_google_error(&reply, 404, "NOT_FOUND", "Not Found");
    let reply = app
        .get("/identitytoolkit.googleapis.com/v1/accounts:lookup?key=dev")
        .await;
    assert_google_error(&reply, 404, "NOT_FOUND", "Not Found");

    let routing = |status: u16, code: i64, message: &str| {
        (
            StatusCode::from_u16(status).unwrap(),
            json!({"code": code, "message": message, "details": []}),
        )
    };
    let wrong_method = routing(405, 12, "Method Not Allowed");
    let unknown = routing(404, 5, "Not Found");
    // Two ids that URL parsers fold away: `/users/./email` is sent as `/users/email`.
    for path in [
        format!("/management/v1/users/{id}/_lock"),
        "/management/v1/users/./email".to_owned(),
    ] {
        assert_eq!(
            call(&app, Method::PUT, &path, json!({})).await,
            wrong_method
        );
    }
    let path = format!("/v2/users/{id}/totp");
    assert_eq!(
        call(&app, Method::GET, &path, json!({})).await,
        wrong_method
    );
    for path in [
        format!("/v2/users/{id}/nothing"),
        "/management/v1/nothing".to_owned(),
        "/v2beta/nothing".to_owned(),
    ] {
        assert_eq!(call(&app, Method::POST, &path, json!({})).await, unknown);
    }
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn production_mode_accepts_only_stored_credentials() {
    let app = TestApp::spawn_production().await;
    app.service.create_project("prod").await.unwrap();
    app.service.create_project("elsewhere").await.unwrap();
    let key = app.service.create_api_key("prod").await.unwrap();
    let other_key = app.service.create_api_key("elsewhere").await.unwrap();
    let admin = app.service.create_admin_token("ops").await.unwrap();
    let before = app.fingerprint().await;

    let body = json!({"email": "prod@example.com", "password": "secret12"});
    let reply = app.post("/v1/accounts:signUp", body.clone()).await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
    );
    let reply = app
        .admin_post("/v1/projects/prod/accounts", body.clone())
        .await;
    assert_eq!(
        reply.0,
        StatusCode::UNAUTHORIZED,
        "Bearer owner is a dev-mode convenience only"
    );
    assert_eq!(app.fingerprint().await, before);

    let response = app
        .client
        .post(app.url(&format!("/v1/accounts:signUp?key={key}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let up: serde_json::Value = response.json().await.unwrap();
    assert_eq!(claims(str_of(&up, "idToken"))["aud"], "prod");

    let (status, found) = app
        .bearer_post(
            "/v1/projects/prod/accounts:lookup",
            &admin,
            json!({"localId": [up["localId"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["users"][0]["email"], "prod@example.com");

    let refresh = json!({"grant_type": "refresh_token", "refresh_token": up["refreshToken"]});
    let wrong_project = app
        .client
        .post(app.url(&format!("/v1/token?key={other_key}")))
        .json(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_project.status(), StatusCode::BAD_REQUEST);
    let right = app
        .client
        .post(app.url(&format!("/v1/token?key={key}")))
        .json(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
}

#[tokio::test]
async fn production_mode_refuses_to_start_without_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tessera::Config::for_tests(dir.path());
    config.mode = tessera::config::Mode::Production;
    let error = tessera::Application::build(&config)
        .await
        .err()
        .expect("refuses to start");
    assert!(error.to_string().contains("master-key-file"), "{error:#}");
}

#[tokio::test]
async fn recaptcha_parameters_for_the_web_sdk() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .get(&format!(
            "/identitytoolkit.googleapis.com/v1/recaptchaParams?key={KEY}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["kind"], "identitytoolkit#GetRecaptchaParamResponse");
    assert!(
        body["recaptchaSiteKey"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    // No reCAPTCHA Enterprise: no site key, every provider off (the SDK falls back to v2).
    let (status, body) = app
        .get(&format!(
            "/identitytoolkit.googleapis.com/v2/recaptchaConfig?key={KEY}&clientType=CLIENT_TYPE_WEB&version=RECAPTCHA_ENTERPRISE"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.get("recaptchaKey"), None);
    assert_eq!(
        body["recaptchaEnforcementState"],
        json!([
            {"provider": "EMAIL_PASSWORD_PROVIDER", "enforcementState": "OFF"},
            {"provider": "PHONE_PROVIDER", "enforcementState": "OFF"},
        ])
    );
    let production = TestApp::spawn_production().await;
    assert_google_error(
        &production.get("/v1/recaptchaParams").await,
        501,
        "UNIMPLEMENTED",
        "Not Implemented",
    );
}

/// A gRPC or gRPC-web request whose message does not decode is the caller's fault:
/// `InvalidArgument` with ZITADEL's error, as over Connect and REST, not tonic's `Internal`
/// with prost's error text (found by `fuzz::every_zitadel_rpc_survives_arbitrary_messages`).
#[tokio::test]
async fn undecodable_grpc_messages_are_invalid_arguments() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    // Field 1 (`user_id`, a string) sent as a varint.
    let frame = [0u8, 0, 0, 0, 2, 8, 0];
    let response = app
        .client
        .post(app.url("/zitadel.user.v2.UserService/RegisterTOTP"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(&pat)
        .body(frame.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "3");
    assert_eq!(
        response.headers()["grpc-message"],
        "Errors.Request.Invalid (TESSERA-REQ01)"
    );

    // The same over gRPC proper (HTTP/2): a trailers-only answer.
    let response = grpc_h2(
        &app,
        "/zitadel.user.v2.UserService/RegisterTOTP",
        &frame[5..],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "3");
}

/// Text holding NUL, which PostgreSQL cannot store (SQLSTATE 22021): an id holding it is
/// unknown or invalid on either engine, and other text is refused as the caller's input, never an
/// internal error (found by `fuzz::every_zitadel_rpc_survives_arbitrary_messages` on
/// PostgreSQL, where it was gRPC `Internal`).
#[tokio::test]
async fn text_holding_nul_is_unknown_or_refused_never_an_internal_error() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let up = app.sign_up("nul@example.com", "secret12").await;
    let before = app.fingerprint().await;

    let reply = app
        .zitadel(
            reqwest::Method::POST,
            "/v2/users/a%00b/u2f/c%00d",
            &pat,
            None,
            Some(json!({"publicKeyCredential": {}, "tokenName": "key\u{0}"})),
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    assert_it_error(
        &app.admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": "a\u{0}b", "displayName": "x"}),
        )
        .await,
        "INVALID_LOCAL_ID",
    );
    assert_eq!(app.fingerprint().await, before);

    let update = json!({"idToken": up["idToken"], "displayName": "a\u{0}b"});
    let reply = app.post("/v1/accounts:update", update).await;
    if std::env::var("TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        assert_it_error(
            &reply,
            "INVALID_ARGUMENT : A value holds a character or size that cannot be stored.",
        );
        assert_eq!(app.fingerprint().await, before);
    } else {
        // SQLite stores any text as given.
        assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
        assert_eq!(reply.1["displayName"], "a\u{0}b");
    }
}
