//! securetoken refresh, the published keys, signature verification, and what survives a
//! restart.

use std::collections::BTreeMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn jwks(app: &TestApp) -> JwkSet {
    let (status, body) = app.get("/.well-known/jwks.json").await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_value(body).expect("a JWK set")
}

/// Verifies an ID token's RS256 signature, issuer and audience against the JWKS endpoint.
async fn verify(app: &TestApp, token: &str) -> Value {
    verify_as(app, token, Algorithm::RS256).await
}

/// Verifies an ID token signed with `algorithm` against the JWKS endpoint.
async fn verify_as(app: &TestApp, token: &str, algorithm: Algorithm) -> Value {
    let keys = jwks(app).await;
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(header.alg, algorithm);
    let jwk = keys
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid is published");
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[PROJECT]);
    validation.set_issuer(&[format!("https://securetoken.google.com/{PROJECT}")]);
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("signature verifies")
    .claims
}

#[tokio::test]
async fn id_tokens_verify_against_the_published_keys() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("lena@example.com", "secret12").await;
    let claims = verify(&app, str_of(&up, "idToken")).await;
    assert_eq!(claims["sub"], up["localId"]);

    let keys = jwks(&app).await;
    assert_eq!(keys.keys.len(), 1);
    let jwk = serde_json::to_value(&keys.keys[0]).unwrap();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");

    for path in [
        "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
        "/www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::OK);
        let certs: BTreeMap<String, String> = serde_json::from_value(body).unwrap();
        let pem = certs
            .get(jwk["kid"].as_str().unwrap())
            .expect("certificate for the kid");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
    let (_, same) = app
        .get("/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com")
        .await;
    assert_eq!(same["keys"][0]["kid"], jwk["kid"]);
}

#[tokio::test]
async fn refresh_with_form_and_json_bodies() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("mona@example.com", "secret12").await;
    let refresh = str_of(&up, "refreshToken");
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let replies = [
        app.raw_post(
            &format!("/securetoken.googleapis.com/v1/token?key={KEY}"),
            "application/x-www-form-urlencoded",
            form,
        )
        .await,
        app.post(
            "/v1/token",
            json!({"grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await,
        app.refresh(refresh).await,
    ];
    for (status, body) in replies {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], "3600");
        assert_eq!(body["refresh_token"], refresh);
        assert_eq!(body["user_id"], up["localId"]);
        assert_eq!(body["project_id"], PROJECT);
        assert_eq!(body["access_token"], body["id_token"]);
        let claims = verify(&app, str_of(&body, "id_token")).await;
        assert_eq!(claims["firebase"]["sign_in_provider"], "password");
    }
    let user = app.admin_user(str_of(&up, "localId")).await.unwrap();
    assert!(user["lastRefreshAt"].as_str().unwrap().contains('T'));
}

#[tokio::test]
async fn refresh_errors() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("nina@example.com", "secret12").await;
    let refresh = str_of(&up, "refreshToken");
    let before = app.fingerprint().await;
    assert_it_error(
        &app.post("/v1/token", json!({"refresh_token": refresh}))
            .await,
        "MISSING_GRANT_TYPE",
    );
    assert_it_error(
        &app.post(
            "/v1/token",
            json!({"grant_type": "authorization_code", "refresh_token": refresh}),
        )
        .await,
        "INVALID_GRANT_TYPE",
    );
    assert_it_error(
        &app.post("/v1/token", json!({"grant_type": "refresh_token"}))
            .await,
        "MISSING_REFRESH_TOKEN",
    );
    assert_it_error(&app.refresh("not-a-token").await, "INVALID_REFRESH_TOKEN");
    assert_google_error(
        &app.raw_post(
            "/v1/token",
            "application/json",
            format!("{{\"grant_type\":\"refresh_token\",\"refresh_token\":\"{refresh}\"}}"),
        )
        .await,
        403,
        "PERMISSION_DENIED",
        "The request is missing a valid API key.",
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn valid_since_and_disable_kill_refresh_tokens() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("olga@example.com", "secret12").await;
    let refresh = str_of(&up, "refreshToken");
    let id_token = str_of(&up, "idToken");
    let admin_update = format!("/v1/projects/{PROJECT}/accounts:update");
    // The ID token passes once, so the server has seen its signature pass before each check.
    assert_eq!(app.lookup(id_token).await.0, StatusCode::OK);

    app.admin_post(
        &admin_update,
        json!({"localId": up["localId"], "disableUser": true}),
    )
    .await;
    assert_it_error(&app.refresh(refresh).await, "USER_DISABLED");
    assert_it_error(&app.lookup(id_token).await, "USER_DISABLED");
    app.admin_post(
        &admin_update,
        json!({"localId": up["localId"], "disableUser": false}),
    )
    .await;

    // The Admin SDKs' revokeRefreshTokens: validSince = now, as a JSON number.
    app.advance(2);
    let now = tessera_core::Clock::now(app.clock.as_ref()).unix_timestamp();
    let (status, body) = app
        .admin_post(
            &admin_update,
            json!({"localId": up["localId"], "validSince": now}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_it_error(&app.refresh(refresh).await, "TOKEN_EXPIRED");
    assert_it_error(&app.lookup(id_token).await, "TOKEN_EXPIRED");

    let (status, again) = app.sign_in("olga@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.refresh(str_of(&again, "refreshToken")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn keys_users_and_refresh_tokens_survive_a_restart() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("pia@example.com", "secret12").await;
    let kid_before = jwks(&app).await.keys[0].common.key_id.clone();

    let app = app.restart().await;
    assert_eq!(
        jwks(&app).await.keys[0].common.key_id,
        kid_before,
        "same signing key after restart"
    );
    let (status, body) = app.lookup(str_of(&up, "idToken")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "tokens from before the restart still verify: {body}"
    );
    let (status, body) = app.refresh(str_of(&up, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    verify(&app, str_of(&body, "id_token")).await;
    assert_eq!(
        app.sign_in("pia@example.com", "secret12").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unsigned_tokens_in_the_emulator_compatible_mode() {
    let app = TestApp::spawn_with(|c| c.unsigned_id_tokens = true).await;
    let up = app.sign_up("unsigned@example.com", "secret12").await;
    let token = str_of(&up, "idToken");
    assert!(
        token.starts_with("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.") && token.ends_with('.'),
        "{token}"
    );
    assert_eq!(claims(token)["sub"], up["localId"]);
    assert_eq!(app.lookup(token).await.0, StatusCode::OK);
    let (_, refreshed) = app.refresh(str_of(&up, "refreshToken")).await;
    assert!(str_of(&refreshed, "id_token").ends_with('.'));

    // Issuer and audience are still checked: a token for another project is refused.
    let mut other = claims(token);
    other["aud"] = json!("another-project");
    let forged = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        data_encoding::BASE64URL_NOPAD.encode(other.to_string().as_bytes())
    );
    assert_it_error(&app.lookup(&forged).await, "INVALID_ID_TOKEN");
}

#[tokio::test]
async fn production_refuses_unsigned_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    tessera::master_key::generate(&key).unwrap();
    let mut config = tessera::Config::for_tests(dir.path());
    config.mode = tessera::config::Mode::Production;
    config.master_key_file = Some(key);
    config.unsigned_id_tokens = true;
    let error = tessera::Application::build(&config)
        .await
        .err()
        .expect("refuses to start");
    assert!(
        error.to_string().contains("unsigned_id_tokens"),
        "{error:#}"
    );
}

/// `token_algorithm = "ES256"` on a store whose key is RS256: a P-256 key is added and signs,
/// the RSA key still verifies the tokens it signed, and both are published. A node still on
/// RS256 keeps signing with the RSA key.
#[tokio::test]
async fn es256_tokens_and_a_change_of_algorithm() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("ella@example.com", "secret12").await;
    let rsa_kid = jwks(&app).await.keys[0].common.key_id.clone();

    let es = app
        .another_node(|c| c.token_algorithm = tessera_server::tokens::TokenAlgorithm::Es256)
        .await;
    let keys = serde_json::to_value(jwks(&es).await).unwrap();
    let ec = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "EC")
        .expect("an EC key is published")
        .clone();
    assert_eq!(ec["crv"], "P-256");
    assert_eq!(ec["alg"], "ES256");
    assert_eq!(ec["use"], "sig");
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);

    let (status, body) = es.lookup(str_of(&up, "idToken")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an RS256 token still verifies: {body}"
    );
    let (status, signed_in) = es.sign_in("ella@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let token = str_of(&signed_in, "idToken");
    let claims = verify_as(&es, token, Algorithm::ES256).await;
    assert_eq!(claims["sub"], up["localId"]);
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), ec["kid"].as_str());
    let (status, body) = es.lookup(token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, refreshed) = es.refresh(str_of(&up, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    verify_as(&es, str_of(&refreshed, "id_token"), Algorithm::ES256).await;

    let (status, certs) = es
        .get("/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        certs[ec["kid"].as_str().unwrap()]
            .as_str()
            .is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----"))
    );

    let app = app.restart().await;
    let (_, again) = app.sign_in("ella@example.com", "secret12").await;
    let rs_token = str_of(&again, "idToken");
    verify(&app, rs_token).await;
    assert_eq!(
        jsonwebtoken::decode_header(rs_token).unwrap().kid,
        rsa_kid,
        "RS256 nodes keep the RSA key"
    );
    let (status, body) = app.lookup(token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an ES256 token verifies after a restart: {body}"
    );
}
