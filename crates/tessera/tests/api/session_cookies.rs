//! Session cookies (`projects/{p}:createSessionCookie`, the Admin SDKs' `createSessionCookie`):
//! an ID token's session as a longer-lived cookie for a server to check, signed with the
//! ID-token keys and published where verifiers look; and every refusal, with nothing changed.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn create(tenant: Option<&str>) -> String {
    match tenant {
        Some(tenant) => format!("/v1/projects/{PROJECT}/tenants/{tenant}:createSessionCookie"),
        None => format!("/v1/projects/{PROJECT}:createSessionCookie"),
    }
}

/// The cookie's claims, once its signature checks out against the published keys, for the
/// project and Firebase's session-cookie issuer.
async fn verified(app: &TestApp, cookie: &str) -> Value {
    let (status, keys) = app.get("/.well-known/jwks.json").await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let keys: JwkSet = serde_json::from_value(keys).unwrap();
    let kid = jsonwebtoken::decode_header(cookie).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(keys.find(&kid).expect("the cookie's key")).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_audience(&[PROJECT]);
    validation.set_issuer(&[format!("https://session.firebase.google.com/{PROJECT}")]);
    jsonwebtoken::decode::<Value>(cookie, &key, &validation)
        .unwrap()
        .claims
}

/// A cookie carries the ID token's session (user, sign-in, claims) for the time asked, two
/// weeks by default; the keys that check it are also where the Admin SDKs look for them.
#[tokio::test]
async fn a_session_cookie_carries_the_session() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id_token = str_of(&session, "idToken");
    let body = json!({"idToken": id_token, "validDuration": "3600"});
    let (status, created) = app.admin_post(&create(None), body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let cookie = verified(&app, str_of(&created, "sessionCookie")).await;
    let token = claims(id_token);
    for name in ["sub", "user_id", "auth_time", "email", "firebase"] {
        assert_eq!(cookie[name], token[name], "{name}");
    }
    assert_eq!(cookie["exp"].as_i64().unwrap(), app.now() + 3600);
    assert_eq!(cookie["iat"].as_i64().unwrap(), app.now());

    let (status, created) = app
        .admin_post(&create(None), json!({"idToken": id_token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let cookie = verified(&app, str_of(&created, "sessionCookie")).await;
    assert_eq!(cookie["exp"].as_i64().unwrap(), app.now() + 14 * 24 * 3600);

    let (_, x509) = app
        .get("/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com")
        .await;
    for path in [
        "/identitytoolkit/v3/relyingparty/publicKeys",
        "/www.googleapis.com/identitytoolkit/v3/relyingparty/publicKeys",
    ] {
        let (status, keys) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{keys}");
        assert_eq!(keys, x509);
    }
}

/// A tenant's user gets a cookie through the tenant only.
#[tokio::test]
async fn a_tenant_s_cookie_comes_through_the_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Staff").await;
    let body = json!({"email": "ada@example.com", "password": "correct horse",
                      "tenantId": tenant, "returnSecureToken": true});
    let (status, session) = app.post("/v1/accounts:signUp", body).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let body = json!({"idToken": str_of(&session, "idToken")});
    let (status, created) = app.admin_post(&create(Some(&tenant)), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let cookie = claims(str_of(&created, "sessionCookie"));
    assert_eq!(cookie["firebase"]["tenant"], tenant.as_str());
    let reply = app.admin_post(&create(None), body).await;
    assert_it_error(&reply, "TENANT_ID_MISMATCH");
}

/// Every refusal, in the emulator's words, changes nothing; only an administrator asks.
#[tokio::test]
async fn refusals() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id_token = str_of(&session, "idToken");
    let before = app.fingerprint().await;
    let refused = async |body: Value, message: &str| {
        assert_it_error(&app.admin_post(&create(None), body).await, message);
    };
    refused(json!({}), "MISSING_ID_TOKEN").await;
    for secs in [1, 299, 1_209_601, -5] {
        let body = json!({"idToken": id_token, "validDuration": secs});
        refused(body, "INVALID_DURATION").await;
    }
    refused(json!({"idToken": "not-a-token"}), "INVALID_ID_TOKEN").await;
    let path = format!("/v1/projects/{PROJECT}:createSomethingElse");
    let (status, body) = app.admin_post(&path, json!({"idToken": id_token})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.post(&create(None), json!({"idToken": id_token})).await;
    assert!(
        status.is_client_error() && status != StatusCode::OK,
        "{body}"
    );
    assert_eq!(app.fingerprint().await, before);
}
