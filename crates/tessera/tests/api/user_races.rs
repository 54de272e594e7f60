//! Writes of one user racing each other, through both dialects: each request reads the user,
//! decides, and writes, so a write that lands over a row changed since its read must not put
//! the older state back.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// A v2 user with a verified address and a password; its id.
async fn human(app: &TestApp, email: &str, password: &str) -> String {
    let body = json!({
        "profile": {"givenName": "Ada", "familyName": "Lovelace"},
        "email": {"email": email, "isVerified": true},
        "password": {"password": password},
    });
    let (status, created) = call(app, Method::POST, "/v2/users/human", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_of(&created, "userId").to_owned()
}

/// Five requests, each changing a different field of one user, all at once, through two
/// nodes (which do not take turns with each other): every change is there afterwards,
/// whichever order they landed in.
#[tokio::test]
async fn racing_changes_of_different_fields_all_land() {
    let app = TestApp::spawn().await;
    let other = app.another_node(|_| {}).await;
    let admin_update = format!("/v1/projects/{PROJECT}/accounts:update");
    for round in 0..8 {
        let id = human(&app, &format!("ada{round}@example.com"), "correct horse").await;
        let it = |node: &TestApp, body: serde_json::Value| {
            app.client
                .post(node.url(&admin_update))
                .bearer_auth("owner")
                .json(&body)
        };
        let zitadel = |method: Method, path: String, body: serde_json::Value| {
            app.client
                .request(method, other.url(&path))
                .bearer_auth(app.pat())
                .json(&body)
        };
        let replies = TestApp::all_at_once(vec![
            it(&app, json!({"localId": id, "displayName": "Countess"})),
            it(
                &other,
                json!({"localId": id, "photoUrl": "https://example.com/ada.png"}),
            ),
            it(
                &app,
                json!({"localId": id, "customAttributes": "{\"role\":\"analyst\"}"}),
            ),
            zitadel(
                Method::PUT,
                format!("/v2/users/human/{id}"),
                json!({"profile": {"givenName": "Augusta", "familyName": "King"}}),
            ),
            zitadel(Method::POST, format!("/v2/users/{id}/lock"), json!({})),
        ])
        .await;
        for (status, body) in &replies {
            assert!(status.is_success(), "{status}: {body}");
        }
        let user = app.admin_user(&id).await.expect("the user");
        assert_eq!(user["displayName"], "Countess", "round {round}: {user}");
        assert_eq!(user["photoUrl"], "https://example.com/ada.png", "{user}");
        assert_eq!(user["customAttributes"], "{\"role\":\"analyst\"}", "{user}");
        let profile = v2_profile(&app, &id).await;
        assert_eq!(
            profile["human"]["profile"]["givenName"], "Augusta",
            "{profile}"
        );
        assert_eq!(profile["state"], "USER_STATE_LOCKED", "{profile}");
    }
}

/// A password sign-in checks the password it read while a new one is set: whichever wins,
/// afterwards only the new password signs in (a sign-in that writes the row it read back
/// would put the old one back).
#[tokio::test]
async fn a_sign_in_racing_a_password_change_keeps_the_new_password() {
    let app = TestApp::spawn().await;
    for round in 0..6 {
        let email = format!("ada{round}@example.com");
        let id = human(&app, &email, "correct horse").await;
        let sign_in = || {
            app.client
                .post(app.url(&format!("/v1/accounts:signInWithPassword?key={KEY}")))
                .json(&json!({"email": email, "password": "correct horse", "returnSecureToken": true}))
        };
        let mut requests: Vec<_> = (0..4).map(|_| sign_in()).collect();
        requests.push(
            app.client
                .post(app.url(&format!("/v2/users/{id}/password")))
                .bearer_auth(app.pat())
                .json(&json!({"newPassword": {"password": "battery staple"}})),
        );
        // The change succeeds (the new password signs in below); a sign-in that read the
        // user after it landed meets the new password.
        for reply in TestApp::all_at_once(requests).await {
            if !reply.0.is_success() {
                assert_it_error(&reply, "INVALID_PASSWORD");
            }
        }
        assert_it_error(
            &app.sign_in(&email, "correct horse").await,
            "INVALID_PASSWORD",
        );
        let (status, body) = app.sign_in(&email, "battery staple").await;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
    }
}

/// Thirty-two changes of one user at once all land, each over the others: none is refused
/// for having been overtaken, however many overtake it.
#[tokio::test]
async fn thirty_two_changes_of_one_user_at_once_all_land() {
    let app = TestApp::spawn().await;
    let id = human(&app, "ada@example.com", "correct horse").await;
    let path = format!("/v1/projects/{PROJECT}/accounts:update");
    let requests = (0..32)
        .map(|n| {
            app.client
                .post(app.url(&path))
                .bearer_auth("owner")
                .json(&json!({"localId": id, "customAttributes": format!("{{\"n\":{n}}}")}))
        })
        .collect();
    for (status, body) in TestApp::all_at_once(requests).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let revision = app
        .service
        .get_account(
            &app.service.current_realm(PROJECT, None).await.unwrap(),
            &tessera_core::UserId::parse(&id).unwrap(),
        )
        .await
        .unwrap()
        .revision;
    // Created at 0; thirty-two writes.
    assert_eq!(revision, 32);
}
