//! ZITADEL's recovery codes: generated in batches of up to ten held, each signing a session
//! in once, listed as a method while any are held, removed together, and gone with their
//! user. Every refusal changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;

use crate::helpers::*;

async fn ada(app: &TestApp) -> String {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/users/human",
        json!({
            "username": "ada",
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": "ada@example.com", "isVerified": true},
            "password": {"password": "correct horse"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_of(&created, "userId").to_owned()
}

async fn generate(app: &TestApp, user: &str, count: i64) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/recovery_codes"),
        json!({"count": count}),
    )
    .await
}

async fn methods(app: &TestApp, user: &str) -> Value {
    let path = format!("/v2/users/{user}/authentication_methods");
    call_ok(app, Method::GET, &path, json!({})).await["authMethodTypes"].clone()
}

/// A new session for ada, checked with the user and `code`.
async fn session_with(app: &TestApp, code: &str) -> Reply {
    call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "ada"}, "recoveryCode": {"code": code}}}),
    )
    .await
}

fn codes_of(reply: &Reply) -> Vec<String> {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    body["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each() {
    let app = TestApp::spawn().await;
    let ada = ada(&app).await;
    assert_eq!(
        methods(&app, &ada).await,
        json!(["AUTHENTICATION_METHOD_TYPE_PASSWORD"])
    );

    let before = app.fingerprint().await;
    for count in [0, 11, -1] {
        let reply = generate(&app, &ada, count).await;
        let message = "Errors.User.RecoveryCodes.CountInvalid";
        assert_zitadel_error(&reply, 400, 3, message, "COMMAND-7c0nx");
    }
    let reply = session_with(&app, "abcde-fghij").await;
    let message = "Errors.User.RecoveryCodes.NotReady";
    assert_zitadel_error(&reply, 400, 3, message, "COMMAND-84rgg");
    let path = format!("/v2/users/{ada}/recovery_codes");
    let reply = call(&app, Method::DELETE, &path, json!({})).await;
    let message = "Errors.User.RecoveryCodes.NotAdded";
    assert_zitadel_error(&reply, 400, 3, message, "COMMAND-84rgg");
    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let before_viewer = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::POST,
            &path,
            &viewer,
            None,
            Some(json!({"count": 1})),
        )
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    assert_eq!(app.fingerprint().await, before_viewer);
    assert_ne!(before, before_viewer, "the viewer was added in between");

    let mut codes = codes_of(&generate(&app, &ada, 6).await);
    assert_eq!(codes.len(), 6);
    for code in &codes {
        let (left, right) = code.split_once('-').unwrap();
        for half in [left, right] {
            assert_eq!(half.len(), 5, "{code}");
            assert!(
                half.bytes()
                    .all(|b| b"abcdefghijklmnopqrstuvwxyz234567".contains(&b))
            );
        }
    }
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6);
    assert_eq!(
        methods(&app, &ada).await,
        json!([
            "AUTHENTICATION_METHOD_TYPE_PASSWORD",
            "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE"
        ])
    );

    // A batch adds to what is held, up to ten.
    let before = app.fingerprint().await;
    let reply = generate(&app, &ada, 5).await;
    let message = "Maximum number of recovery codes exceeded";
    assert_zitadel_error(&reply, 409, 6, message, "COMMAND-8f2k9");
    assert_eq!(app.fingerprint().await, before);
    codes.extend(codes_of(&generate(&app, &ada, 4).await));

    let (status, created) = session_with(&app, &codes[0]).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/v2/sessions/{}", str_of(&created, "sessionId")),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert!(
        got["session"]["factors"]["recoveryCode"]["verifiedAt"].is_string(),
        "{got}"
    );

    // Used once, a code is gone; a wrong one fails the same way; neither costs a code.
    let before = app.fingerprint().await;
    for code in [codes[0].as_str(), "aaaaa-aaaaa", ""] {
        let reply = session_with(&app, code).await;
        let message = "Invalid recovery code provided";
        assert_zitadel_error(&reply, 400, 3, message, "DOMAIN-6uvh0");
        assert_eq!(app.fingerprint().await, before);
    }

    // One code sent eight times at once signs in once.
    let at_once = (0..8)
        .map(|_| {
            app.client
                .post(app.url("/v2/sessions"))
                .bearer_auth(app.pat())
                .json(&json!({"checks": {"user": {"loginName": "ada"},
                                         "recoveryCode": {"code": codes[1]}}}))
        })
        .collect();
    let replies = TestApp::all_at_once(at_once).await;
    let wins = replies
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(wins, 1, "{replies:?}");

    let (status, removed) = call(&app, Method::DELETE, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(
        methods(&app, &ada).await,
        json!(["AUTHENTICATION_METHOD_TYPE_PASSWORD"])
    );
    let reply = session_with(&app, &codes[2]).await;
    let message = "Errors.User.RecoveryCodes.NotReady";
    assert_zitadel_error(&reply, 400, 3, message, "COMMAND-84rgg");
}

#[tokio::test]
async fn recovery_codes_go_with_their_user() {
    let app = TestApp::spawn().await;
    let ada = ada(&app).await;
    codes_of(&generate(&app, &ada, 3).await);
    let (status, deleted) =
        call(&app, Method::DELETE, &format!("/v2/users/{ada}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let pool = app.db().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes")
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    assert_eq!(left, 0);
}

/// Of sixteen batches of three asked for at once, three are added (nine codes) and the rest
/// refused: concurrent generations never hold more than ten together, on either engine.
#[tokio::test]
async fn concurrent_batches_hold_at_most_ten() {
    let app = TestApp::spawn().await;
    let ada = ada(&app).await;
    let batch = || {
        app.client
            .post(app.url(&format!("/v2/users/{ada}/recovery_codes")))
            .bearer_auth(app.pat())
            .json(&json!({"count": 3}))
    };
    let mut added = 0;
    for reply in TestApp::all_at_once((0..16).map(|_| batch()).collect()).await {
        if reply.0 == StatusCode::OK {
            assert_eq!(codes_of(&reply).len(), 3);
            added += 1;
        } else {
            let message = "Maximum number of recovery codes exceeded";
            assert_zitadel_error(&reply, 409, 6, message, "COMMAND-8f2k9");
        }
    }
    assert_eq!(added, 3);
    // Nine held: one more fits, and then none.
    assert_eq!(codes_of(&generate(&app, &ada, 1).await).len(), 1);
    let reply = generate(&app, &ada, 1).await;
    let message = "Maximum number of recovery codes exceeded";
    assert_zitadel_error(&reply, 409, 6, message, "COMMAND-8f2k9");
}
