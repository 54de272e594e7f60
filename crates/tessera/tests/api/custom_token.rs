//! `accounts:signInWithCustomToken`: the Admin SDKs' custom tokens, taken in dev mode as the
//! emulator takes them (unsigned JWTs, or plain JSON); the token's claims in every ID token
//! of the session; custom-token sessions kept from second factors; and every refusal, with
//! nothing changed.

use data_encoding::BASE64URL_NOPAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SIGN_IN: &str = "/v1/accounts:signInWithCustomToken";
const AUDIENCE: &str =
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit";

/// A token as firebase-admin makes one for an emulator: a JWT with `alg: none`, unsigned.
fn unsigned(payload: Value) -> String {
    let part = |v: Value| BASE64URL_NOPAD.encode(v.to_string().as_bytes());
    let header = json!({"alg": "none", "typ": "JWT"});
    format!("{}.{}.", part(header), part(payload))
}

fn custom_token(uid: &str, extra: Value) -> String {
    let mut payload = json!({
        "aud": AUDIENCE, "iat": 1_700_000_000, "exp": 1_700_003_600,
        "iss": "firebase-auth-emulator@example.com", "sub": "firebase-auth-emulator@example.com",
        "uid": uid,
    });
    payload
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    unsigned(payload)
}

async fn sign_in(app: &TestApp, token: &str) -> Value {
    let (status, body) = app
        .post(SIGN_IN, json!({"token": token, "returnSecureToken": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The first sign-in creates the user with the token's id; later ones sign it in. The
/// token's claims are in every ID token of the session, refreshed ones too, under the user's
/// own; a custom token's session cannot enrol a second factor, as in Firebase.
#[tokio::test]
async fn a_custom_token_signs_in_its_user() {
    let app = TestApp::spawn().await;
    let token = custom_token("alice", json!({"claims": {"role": "admin", "tier": 1}}));
    let first = sign_in(&app, &token).await;
    assert_eq!(first["kind"], "identitytoolkit#VerifyCustomTokenResponse");
    assert_eq!(first["isNewUser"], true);
    assert_eq!(first["expiresIn"], "3600");
    let claims = claims(str_of(&first, "idToken"));
    assert_eq!(claims["user_id"], "alice");
    assert_eq!(claims["firebase"]["sign_in_provider"], "custom");
    assert_eq!(
        (&claims["role"], &claims["tier"]),
        (&json!("admin"), &json!(1))
    );
    let user = app.admin_user("alice").await.unwrap();
    assert!(
        user.get("providerUserInfo").is_none_or(|p| p == &json!([])),
        "{user}"
    );
    assert!(user["lastLoginAt"].is_string(), "{user}");

    let (status, refreshed) = app.refresh(str_of(&first, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let claims = crate::helpers::claims(str_of(&refreshed, "id_token"));
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["firebase"]["sign_in_provider"], "custom");

    // The user's own claims win over the token's.
    let path = format!("/v1/projects/{PROJECT}/accounts:update");
    let own = json!({"localId": "alice", "customAttributes": "{\"role\":\"reader\"}"});
    let (status, body) = app.admin_post(&path, own).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.advance(60);
    let again = sign_in(&app, &token).await;
    assert_eq!(again["isNewUser"], false);
    assert_eq!(app.last_login("alice").await, app.now());
    let claims = crate::helpers::claims(str_of(&again, "idToken"));
    assert_eq!(
        (&claims["role"], &claims["tier"]),
        (&json!("reader"), &json!(1))
    );

    // A token as plain JSON, and an id given as a number.
    let plain = sign_in(&app, r#"{"uid": "bob"}"#).await;
    assert_eq!(plain["isNewUser"], true);
    let numbered = sign_in(&app, &custom_token("", json!({"uid": 42}))).await;
    assert_eq!(
        crate::helpers::claims(str_of(&numbered, "idToken"))["user_id"],
        "42"
    );

    let start = json!({"idToken": str_of(&again, "idToken"), "totpEnrollmentInfo": {}});
    app.refused(
        "/v2/accounts/mfaEnrollment:start",
        start,
        "UNSUPPORTED_FIRST_FACTOR : MFA is not available for the given first factor.",
    )
    .await;
}

/// A tenant's token signs in the tenant's user, and only through the tenant.
#[tokio::test]
async fn a_tenant_s_token_signs_in_to_the_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Staff").await;
    let token = custom_token("carol", json!({"tenant_id": tenant}));
    let body = json!({"token": token, "tenantId": tenant});
    let (status, signed_in) = app.post(SIGN_IN, body).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let claims = claims(str_of(&signed_in, "idToken"));
    assert_eq!(claims["firebase"]["tenant"], tenant.as_str());
    assert!(app.admin_user("carol").await.is_none());

    app.refused(SIGN_IN, json!({"token": token}), "TENANT_ID_MISMATCH")
        .await;
    let untenanted = custom_token("carol", json!({}));
    let body = json!({"token": untenanted, "tenantId": tenant});
    app.refused(SIGN_IN, body, "TENANT_ID_MISMATCH").await;
}

/// Every refusal, in the emulator's words where it has them, changes nothing.
#[tokio::test]
async fn refusals_change_nothing() {
    let app = TestApp::spawn().await;
    app.refused(SIGN_IN, json!({}), "MISSING_CUSTOM_TOKEN")
        .await;
    let malformed = "INVALID_CUSTOM_TOKEN : Invalid assertion format";
    for token in ["not-a-token", "a.b.c", "e30.e30", "e30.e30.e30.e30"] {
        app.refused(SIGN_IN, json!({"token": token}), malformed)
            .await;
    }
    app.refused(
        SIGN_IN,
        json!({"token": "{not json"}),
        "INVALID_CUSTOM_TOKEN : Only strict JSON or a JWT is taken as a custom token in dev mode.",
    )
    .await;
    let id_token_like = unsigned(json!({"aud": PROJECT, "uid": "alice"}));
    app.refused(
        SIGN_IN,
        json!({"token": id_token_like}),
        &format!(
            "INVALID_CUSTOM_TOKEN : Invalid aud (audience): \"{PROJECT}\". Firebase ID tokens \
             and third-party tokens cannot be used with signInWithCustomToken."
        ),
    )
    .await;
    for token in [
        custom_token("", json!({})),
        unsigned(json!({"aud": AUDIENCE})),
        r#"{"uid": {"nested": 1}}"#.to_owned(),
    ] {
        app.refused(SIGN_IN, json!({"token": token}), "MISSING_IDENTIFIER")
            .await;
    }
    let long = "x".repeat(129);
    app.refused(
        SIGN_IN,
        json!({"token": custom_token(&long, json!({}))}),
        "INVALID_CUSTOM_TOKEN : The uid must be at most 128 characters long.",
    )
    .await;
    let forbidden = custom_token("alice", json!({"claims": {"firebase": {}}}));
    app.refused(
        SIGN_IN,
        json!({"token": forbidden}),
        "FORBIDDEN_CLAIM : firebase",
    )
    .await;
    let not_object = custom_token("alice", json!({"claims": ["admin"]}));
    app.refused(SIGN_IN, json!({"token": not_object}), "INVALID_CLAIMS")
        .await;

    sign_in(&app, &custom_token("alice", json!({}))).await;
    let path = format!("/v1/projects/{PROJECT}/accounts:update");
    let (status, body) = app
        .admin_post(&path, json!({"localId": "alice", "disableUser": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = custom_token("alice", json!({}));
    app.refused(SIGN_IN, json!({"token": token}), "USER_DISABLED")
        .await;
}

const SERVICE_ACCOUNT: &str = "backend@demo-project.iam.gserviceaccount.com";

/// A token as firebase-admin signs one with a service account's key, with `changes` to its
/// claims.
fn signed(issued_at: i64, changes: Value) -> String {
    let mut payload = json!({
        "aud": AUDIENCE, "iss": SERVICE_ACCOUNT, "sub": SERVICE_ACCOUNT,
        "iat": issued_at, "exp": issued_at + 3600, "uid": "alice", "claims": {"role": "admin"},
    });
    payload
        .as_object_mut()
        .unwrap()
        .extend(changes.as_object().unwrap().clone());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "fixtures/custom_token_signer.key.pem"
    ))
    .unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(&header, &payload, &key).unwrap()
}

/// In production a custom token signs in only when a configured service account signed it,
/// within its hour.
#[tokio::test]
async fn production_takes_tokens_of_its_service_accounts() {
    let app = TestApp::spawn_production_with(|c| {
        c.custom_token_signers = vec![tessera::config::CustomTokenSigner {
            service_account: SERVICE_ACCOUNT.to_owned(),
            public_key_file: concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/api/fixtures/custom_token_signer.pub.pem"
            )
            .into(),
        }];
    })
    .await;
    let key = app.production_api_key().await;
    let post = |token: String| {
        let body = json!({"token": token, "returnSecureToken": true});
        app.post_with_key(SIGN_IN, &key, body)
    };
    let refused = async |token: String, message: &str| {
        app.settled().await;
        let before = app.fingerprint().await;
        let reply = post(token).await;
        assert_it_error(&reply, message);
        assert_eq!(app.fingerprint().await, before);
    };
    let now = app.now();
    let (status, signed_in) = post(signed(now, json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["isNewUser"], true);
    let claims = claims(str_of(&signed_in, "idToken"));
    assert_eq!(
        (&claims["user_id"], &claims["role"]),
        (&json!("alice"), &json!("admin"))
    );

    let bad = "INVALID_CUSTOM_TOKEN : The token's signature or its iss, sub, iat or exp do not \
               check out.";
    let token = signed(now, json!({}));
    let (body, _) = token.rsplit_once('.').unwrap();
    refused(format!("{body}.{}", "A".repeat(342)), bad).await;
    refused(
        unsigned(json!({"aud": AUDIENCE, "iss": SERVICE_ACCOUNT, "uid": "alice"})),
        bad,
    )
    .await;
    refused(signed(now, json!({"sub": "someone@example.com"})), bad).await;
    let expired = "INVALID_CUSTOM_TOKEN : The token has expired, or is valid for longer than an \
                   hour.";
    refused(signed(now - 3600, json!({})), expired).await;
    refused(signed(now, json!({"exp": now + 7200})), expired).await;
    refused(signed(now + 3600, json!({})), expired).await;
    refused(
        signed(
            now,
            json!({"iss": "other@example.com", "sub": "other@example.com"}),
        ),
        "CREDENTIAL_MISMATCH : The token is not signed by a service account in \
         custom_token_signers.",
    )
    .await;
    refused(
        r#"{"uid": "alice"}"#.to_owned(),
        "INVALID_CUSTOM_TOKEN : Invalid assertion format",
    )
    .await;
}

/// Without service accounts configured, a production server takes no custom token.
#[tokio::test]
async fn production_without_service_accounts_takes_none() {
    let app = TestApp::spawn_production().await;
    let key = app.production_api_key().await;
    let before = app.fingerprint().await;
    let body = json!({"token": custom_token("alice", json!({}))});
    let reply = app.post_with_key(SIGN_IN, &key, body).await;
    assert_it_error(
        &reply,
        "CREDENTIAL_MISMATCH : The token is not signed by a service account in \
         custom_token_signers.",
    );
    assert_eq!(app.fingerprint().await, before);
}

/// A service account's key file that holds no RSA key stops the server at start-up.
#[tokio::test]
async fn a_signer_without_a_public_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tessera::Config::for_tests(dir.path());
    production(&mut config);
    let not_a_key = dir.path().join("signer.pem");
    std::fs::write(
        &not_a_key,
        "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    config.custom_token_signers = vec![tessera::config::CustomTokenSigner {
        service_account: SERVICE_ACCOUNT.to_owned(),
        public_key_file: not_a_key,
    }];
    let error = tessera::Application::build(&config)
        .await
        .err()
        .expect("refuses to start");
    assert_eq!(
        format!("{error:#}"),
        format!("custom_token_signers: the key of {SERVICE_ACCOUNT} is no RSA public key in PEM")
    );
}
