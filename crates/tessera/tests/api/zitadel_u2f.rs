//! Security keys (ZITADEL's U2F factor) with a software authenticator: registration through
//! user service v2 and auth v1, listings, sign-in checks in a session with the sign counter
//! kept, clone detection, and removal.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softtoken::SoftToken;

use tessera_core::challenge::EXPIRED_RETENTION;

use crate::helpers::*;

/// Starts a registration for `user` through v2: the answer, with `u2fId`.
async fn start(app: &TestApp, user: &str) -> Value {
    let (status, started) = call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/u2f"),
        json!({"domain": "localhost"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    started
}

/// Finishes registration `id` with a credential that is no browser's answer: the reply, once
/// checked that it changed nothing.
async fn finish_with_no_answer(app: &TestApp, user: &str, id: &str) -> Reply {
    let before = app.fingerprint().await;
    let reply = call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/u2f/{id}"),
        json!({"publicKeyCredential": {"id": "nope"}, "tokenName": "x"}),
    )
    .await;
    assert_eq!(app.fingerprint().await, before);
    reply
}

/// Registers `token` for `user` through v2; returns the factor id.
async fn register(app: &TestApp, token: &mut SoftToken, user: &str, name: &str) -> String {
    let started = start(app, user).await;
    let id = str_of(&started, "u2fId").to_owned();
    let options: CreationChallengeResponse = serde_json::from_value(as_browser_json(
        &started["publicKeyCredentialCreationOptions"],
    ))
    .unwrap();
    assert_eq!(options.public_key.rp.id, "localhost");
    let credential = token.do_registration(origin(), options).unwrap();
    let (status, body) = call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/u2f/{id}"),
        json!({"publicKeyCredential": credential, "tokenName": name}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// A session for `user` with a security-key challenge; returns (session id, options).
async fn challenge(app: &TestApp, user: &str) -> (String, RequestChallengeResponse) {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"userId": user}}, "challenges": {"webAuthN": {"domain": "localhost"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let options = serde_json::from_value(as_browser_json(
        &created["challenges"]["webAuthN"]["publicKeyCredentialRequestOptions"],
    ))
    .unwrap();
    (str_of(&created, "sessionId").to_owned(), options)
}

#[tokio::test]
async fn security_key_registers_signs_in_and_is_removed() {
    let app = TestApp::spawn().await;
    let user = str_of(&app.sign_up("key@example.com", "secret12").await, "localId").to_owned();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let started = start(&app, &user).await;
    let pending_id = str_of(&started, "u2fId");
    let (_, pending) = call(
        &app,
        Method::POST,
        &format!(
            "/v2/users/{user}/authentication_factors/_search?states=AUTH_FACTOR_STATE_NOT_READY"
        ),
        json!({}),
    )
    .await;
    assert_eq!(
        pending,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_NOT_READY", "u2f": {"id": pending_id}}]})
    );

    // A credential that is not the browser's answer changes nothing.
    assert_zitadel_error(
        &finish_with_no_answer(&app, &user, pending_id).await,
        400,
        3,
        "Error on parse credential data",
        "WEBAU-sl9dr",
    );
    // ZITADEL's request validation: a key has a name of 1 to 200 characters.
    for name in [String::new(), "é".repeat(201)] {
        assert_refused_unchanged(&app, call(
            &app,
            Method::POST,
            &format!("/v2/users/{user}/u2f/{pending_id}"),
            json!({"publicKeyCredential": {"id": "nope"}, "tokenName": name}),
        ), (400, 3, "invalid VerifyU2FRegistrationRequest.TokenName: value length must be between 1 and 200 runes, inclusive", "TESSERA-WAN03")).await;
    }

    let id = register(&app, &mut token, &user, "YubiKey 5").await;
    let (_, listed) = call(
        &app,
        Method::POST,
        &format!("/management/v1/users/{user}/auth_factors/_search"),
        json!({}),
    )
    .await;
    assert_eq!(
        listed,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "u2f": {"id": id, "name": "YubiKey 5"}}]})
    );
    let (_, methods) = call(
        &app,
        Method::GET,
        &format!("/v2/users/{user}/authentication_methods"),
        json!({}),
    )
    .await;
    assert!(
        methods["authMethodTypes"]
            .to_string()
            .contains("AUTHENTICATION_METHOD_TYPE_U2F"),
        "{methods}"
    );
    // A login UI on another domain is told about its own keys only. The query may carry
    // grpc-gateway's booleans (every key here has a domain, so the flag changes nothing).
    for (domain, has_key) in [("login.example.com", false), ("localhost", true)] {
        for flag in [
            "",
            "&domainQuery.includeWithoutDomain=true",
            "&domainQuery.includeWithoutDomain=false",
        ] {
            let (status, methods) = call(
                &app,
                Method::GET,
                &format!(
                    "/v2/users/{user}/authentication_methods?domainQuery.domain={domain}{flag}"
                ),
                json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{methods}");
            assert_eq!(
                methods
                    .to_string()
                    .contains("AUTHENTICATION_METHOD_TYPE_U2F"),
                has_key,
                "{domain}{flag}: {methods}"
            );
        }
    }

    // Two sign-ins: the sign counter moves forward each time.
    for _ in 0..2 {
        let (session, options) = challenge(&app, &user).await;
        let assertion = token.do_authentication(origin(), options).unwrap();
        let (status, body) = webauthn_check(&app, &session, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, got) = call(
            &app,
            Method::GET,
            &format!("/v2/sessions/{session}"),
            json!({}),
        )
        .await;
        assert!(
            got["session"]["factors"]["webAuthN"]["verifiedAt"].is_string(),
            "{got}"
        );
        // An assertion answers its own challenge once.
        let reply = webauthn_check(&app, &session, &assertion).await;
        assert_zitadel_error(&reply, 400, 9, "Code not found", "COMMAND-S34gh");
    }

    // An assertion made on another origin (a subdomain the relying party does not allow).
    let (session, options) = challenge(&app, &user).await;
    let foreign = token
        .do_authentication(Url::parse("https://evil.localhost").unwrap(), options)
        .unwrap();
    let reply = webauthn_check(&app, &session, &foreign).await;
    assert_zitadel_error(
        &reply,
        400,
        3,
        "Error on parse credential data",
        "WEBAU-sl9dr",
    );

    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/management/v1/users/{user}/auth_factors/u2f/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reply = call(
        &app,
        Method::DELETE,
        &format!("/v2/users/{user}/u2f/{id}"),
        json!({}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        404,
        5,
        "WebAuthN Token could not be found",
        "COMMAND-2M9ds",
    );
}

#[tokio::test]
async fn a_sign_counter_that_goes_back_means_a_cloned_key() {
    let app = TestApp::spawn().await;
    let user = str_of(
        &app.sign_up("clone@example.com", "secret12").await,
        "localId",
    )
    .to_owned();
    let (mut token, _) = SoftToken::new(true).unwrap();
    register(&app, &mut token, &user, "key").await;
    let (session, options) = challenge(&app, &user).await;
    let assertion = token.do_authentication(origin(), options).unwrap();
    let (status, _) = webauthn_check(&app, &session, &assertion).await;
    assert_eq!(status, StatusCode::OK);

    // Another copy of the key has signed many times meanwhile: the stored counter is ahead.
    let pool = app.db().await;
    let sql = "UPDATE factors SET webauthn_credential = REPLACE(webauthn_credential, '\"counter\":1,', '\"counter\":100,') WHERE kind = 'webauthn'";
    let done = sqlx::query(sql).execute(&pool).await.unwrap();
    assert_eq!(done.rows_affected(), 1);

    let (session, options) = challenge(&app, &user).await;
    let assertion = token.do_authentication(origin(), options).unwrap();
    let reply = webauthn_check(&app, &session, &assertion).await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "The security key's sign counter did not advance: it may be cloned",
        "TESSERA-WAN01",
    );
    let events: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM events WHERE kind = 'factor.clone_suspected'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn users_register_their_own_keys_through_auth_v1() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("me@example.com", "secret12").await;
    let token_id = str_of(&session, "idToken").to_owned();
    let (status, added) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/u2f",
            &token_id,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    // WebAuthNKey.public_key: the creation options' JSON, as protojson bytes (base64).
    let bytes = data_encoding::BASE64
        .decode(str_of(&added["key"], "publicKey").as_bytes())
        .unwrap();
    let options: CreationChallengeResponse = serde_json::from_slice(&bytes).unwrap();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token.do_registration(origin(), options).unwrap();
    let encoded = data_encoding::BASE64.encode(&serde_json::to_vec(&credential).unwrap());
    assert_refused_unchanged(&app, app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/u2f/_verify",
            &token_id,
            None,
            Some(json!({"verification": {"publicKeyCredential": encoded, "tokenName": ""}})),
        ), (400, 3, "invalid WebAuthNVerification.TokenName: value length must be between 1 and 200 runes, inclusive", "TESSERA-WAN03")).await;
    let (status, body) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/u2f/_verify",
            &token_id,
            None,
            Some(json!({"verification": {"publicKeyCredential": encoded, "tokenName": "my key"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            &token_id,
            None,
            None,
        )
        .await;
    let id = listed["result"][0]["u2f"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(listed["result"][0]["u2f"]["name"], "my key");
    let (status, _) = app
        .zitadel(
            Method::DELETE,
            &format!("/auth/v1/users/me/auth_factors/u2f/{id}"),
            &token_id,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_organization_can_have_its_own_relying_party() {
    let app = TestApp::spawn().await;
    let user = str_of(&app.sign_up("rp@example.com", "secret12").await, "localId").to_owned();
    let realm = app.service.realm(PROJECT, None).await.unwrap();
    let realm = app.service.ensure_org(realm).await.unwrap();
    app.service
        .set_relying_party(
            &realm,
            Some(tessera_core::RelyingParty {
                id: "login.example.com".into(),
                origins: vec!["https://login.example.com".into()],
            }),
        )
        .await
        .unwrap();
    let (status, started) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/u2f"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options: CreationChallengeResponse = serde_json::from_value(as_browser_json(
        &started["publicKeyCredentialCreationOptions"],
    ))
    .unwrap();
    assert_eq!(options.public_key.rp.id, "login.example.com");
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token
        .do_registration(Url::parse("https://login.example.com").unwrap(), options)
        .unwrap();
    let id = str_of(&started, "u2fId");
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/u2f/{id}"),
        json!({"publicKeyCredential": credential, "tokenName": "work key"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The server-wide localhost origin is not this organization's.
    let (_, started) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/u2f"),
        json!({"domain": "localhost"}),
    )
    .await;
    let options: CreationChallengeResponse = serde_json::from_value(as_browser_json(
        &started["publicKeyCredentialCreationOptions"],
    ))
    .unwrap();
    let credential = SoftToken::new(true)
        .unwrap()
        .0
        .do_registration(origin(), options)
        .unwrap();
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/u2f/{}", str_of(&started, "u2fId")),
        json!({"publicKeyCredential": credential, "tokenName": "home key"}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        3,
        "Error on parse credential data",
        "WEBAU-sl9dr",
    );
}

/// As in ZITADEL, a challenge that requires user verification is for passkeys: a user with
/// security keys only has nothing to answer it with, and gets the error clients read as "no
/// passkeys". Without the requirement, a key's presence is enough, and the session says the
/// user was not verified.
#[tokio::test]
async fn a_challenge_that_requires_user_verification_does_not_offer_security_keys() {
    let app = TestApp::spawn().await;
    let user = str_of(&app.sign_up("uv@example.com", "secret12").await, "localId").to_owned();
    // A key without a PIN or biometrics: it proves presence, not the user.
    let (mut token, _) = SoftToken::new(false).unwrap();
    register(&app, &mut token, &user, "plain key").await;
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            "/v2/sessions",
            json!({"checks": {"user": {"userId": user}},
               "challenges": {"webAuthN": {"domain": "localhost",
                   "userVerificationRequirement": "USER_VERIFICATION_REQUIREMENT_REQUIRED"}}}),
        ),
        (500, 13, "WebAuthN begin login failed", "WEBAU-4G8sw"),
    )
    .await;

    let (session, options) = challenge(&app, &user).await;
    let assertion = token.do_authentication(origin(), options).unwrap();
    let (status, body) = webauthn_check(&app, &session, &assertion).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, got) = call(
        &app,
        Method::GET,
        &format!("/v2/sessions/{session}"),
        json!({}),
    )
    .await;
    assert_eq!(
        got["session"]["factors"]["webAuthN"].get("userVerified"),
        None,
        "{got}"
    );
}

/// A registration never finished is deleted by the sweep a day after it began, long after the
/// browser gave up on it; registered keys, and registrations begun since, stay.
#[tokio::test]
async fn an_unfinished_registration_is_deleted_a_day_later() {
    let app = TestApp::spawn().await;
    let user = str_of(&app.sign_up("key@example.com", "secret12").await, "localId").to_owned();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let abandoned = str_of(&start(&app, &user).await, "u2fId").to_owned();
    let key = register(&app, &mut token, &user, "YubiKey 5").await;
    app.advance(EXPIRED_RETENTION.whole_seconds());
    let fresh = str_of(&start(&app, &user).await, "u2fId").to_owned();
    let listed = async || {
        let (status, listed) = call(
            &app,
            Method::POST,
            &format!("/v2/users/{user}/authentication_factors/_search?states=AUTH_FACTOR_STATE_NOT_READY&states=AUTH_FACTOR_STATE_READY"),
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let mut ids: Vec<(String, String)> = listed["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    str_of(&f["u2f"], "id").to_owned(),
                    str_of(f, "state").to_owned(),
                )
            })
            .collect();
        ids.sort();
        ids
    };
    let ready = (key.clone(), "AUTH_FACTOR_STATE_READY".to_owned());
    let not_ready = |id: &str| (id.to_owned(), "AUTH_FACTOR_STATE_NOT_READY".to_owned());
    let mut all = vec![not_ready(&abandoned), ready.clone(), not_ready(&fresh)];
    all.sort();
    assert_eq!(listed().await, all);

    // The sweep runs every ten minutes.
    app.advance(11 * 60);
    let mut kept = vec![ready, not_ready(&fresh)];
    kept.sort();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while listed().await != kept {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never swept: {:?}",
            listed().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Finishing the deleted one is as finishing one that never was.
    assert_zitadel_error(
        &finish_with_no_answer(&app, &user, &abandoned).await,
        404,
        5,
        "WebAuthN Token could not be found",
        "COMMAND-2M9ds",
    );
}
