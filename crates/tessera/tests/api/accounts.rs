//! `v1/accounts:signUp`, `signInWithPassword`, `lookup`, `update`, `delete` as end users
//! call them, under both path layouts.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sign_up_returns_a_session_and_the_user_exists() {
    let app = TestApp::spawn().await;
    let body = app.sign_up("Alice@Example.com", "correct horse").await;
    assert_eq!(body["kind"], "identitytoolkit#SignupNewUserResponse");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["expiresIn"], "3600");
    let local_id = str_of(&body, "localId");
    assert_eq!(local_id.len(), 18);
    assert!(local_id.bytes().all(|b| b.is_ascii_digit()));
    assert!(!str_of(&body, "refreshToken").is_empty());

    let c = claims(str_of(&body, "idToken"));
    assert_eq!(c["sub"], local_id);
    assert_eq!(c["user_id"], local_id);
    assert_eq!(c["aud"], PROJECT);
    assert_eq!(
        c["iss"],
        format!("https://securetoken.google.com/{PROJECT}")
    );
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["email_verified"], false);
    assert_eq!(c["firebase"]["sign_in_provider"], "password");
    assert_eq!(c["firebase"]["identities"]["email"][0], "alice@example.com");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );

    let user = app.admin_user(local_id).await.expect("user stored");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["providerUserInfo"][0]["providerId"], "password");
}

#[tokio::test]
async fn sign_up_without_credentials_is_anonymous() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/identitytoolkit.googleapis.com/v1/accounts:signUp",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = claims(str_of(&body, "idToken"));
    assert_eq!(c["firebase"]["sign_in_provider"], "anonymous");
    assert_eq!(c["provider_id"], "anonymous");
    assert!(body.get("email").is_none());
}

/// `linkWithCredential(anonymousUser, EmailAuthProvider.credential(…))`: the JS SDK sends
/// `accounts:signUp` with the anonymous user's ID token, which keeps its id.
#[tokio::test]
async fn sign_up_with_an_id_token_links_email_and_password() {
    let app = TestApp::spawn().await;
    let (_, anonymous) = app.post("/v1/accounts:signUp", json!({})).await;
    app.sign_up("taken@example.com", "secret12").await;
    let token = anonymous["idToken"].clone();
    let before = app.fingerprint().await;
    let cases = [
        (json!({"idToken": token}), "MISSING_EMAIL"),
        (
            json!({"idToken": "junk", "email": "new@example.com", "password": "secret12"}),
            "INVALID_ID_TOKEN",
        ),
        (
            json!({"idToken": token, "email": "taken@example.com", "password": "secret12"}),
            "EMAIL_EXISTS",
        ),
        (
            json!({"idToken": token, "email": "new@example.com", "password": "123"}),
            "WEAK_PASSWORD : Password should be at least 6 characters",
        ),
    ];
    for (body, message) in cases {
        assert_it_error(&app.post("/v1/accounts:signUp", body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);

    app.advance(1);
    let (status, linked) = app
        .post(
            "/v1/accounts:signUp",
            json!({"idToken": token, "email": "Lin@Example.com", "password": "secret12",
                   "returnSecureToken": true, "clientType": "CLIENT_TYPE_WEB"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["localId"], anonymous["localId"]);
    assert_eq!(linked["email"], "lin@example.com");
    let c = claims(str_of(&linked, "idToken"));
    assert_eq!(c["firebase"]["sign_in_provider"], "password");
    assert_eq!(c["email_verified"], false);
    assert!(c.get("provider_id").is_none(), "{c}");
    // The new password revoked the anonymous session; the linked one works.
    assert_it_error(
        &app.lookup(str_of(&anonymous, "idToken")).await,
        "TOKEN_EXPIRED",
    );
    let (status, looked_up) = app.lookup(str_of(&linked, "idToken")).await;
    assert_eq!(status, StatusCode::OK, "{looked_up}");
    assert_eq!(
        looked_up["users"][0]["providerUserInfo"][0]["providerId"],
        "password"
    );
    let (status, signed_in) = app.sign_in("lin@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["localId"], anonymous["localId"]);
}

/// The older way out of anonymity: `accounts:update` with an email and a password. The fresh
/// tokens it answers with are a password sign-in's, as in the emulator.
#[tokio::test]
async fn an_anonymous_user_who_sets_a_password_signs_in_with_it() {
    let app = TestApp::spawn().await;
    let (_, anonymous) = app.post("/v1/accounts:signUp", json!({})).await;
    app.advance(1);
    let (status, updated) = app
        .post(
            "/v1/accounts:update",
            json!({"idToken": anonymous["idToken"], "email": "anon@example.com",
                   "password": "secret12", "returnSecureToken": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let c = claims(str_of(&updated, "idToken"));
    assert_eq!(c["firebase"]["sign_in_provider"], "password", "{c}");
    assert!(c.get("provider_id").is_none(), "{c}");
    let (status, refreshed) = app.refresh(str_of(&updated, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let c = claims(str_of(&refreshed, "id_token"));
    assert_eq!(c["firebase"]["sign_in_provider"], "password", "{c}");
}

#[tokio::test]
async fn sign_up_errors_change_nothing() {
    let app = TestApp::spawn().await;
    app.sign_up("taken@example.com", "secret1").await;
    let before = app.fingerprint().await;
    let cases = [
        (
            json!({"email": "taken@example.com", "password": "secret1"}),
            "EMAIL_EXISTS",
        ),
        (
            json!({"email": "TAKEN@example.com", "password": "secret1"}),
            "EMAIL_EXISTS",
        ),
        (
            json!({"email": "not-an-email", "password": "secret1"}),
            "INVALID_EMAIL",
        ),
        (
            json!({"email": "new@example.com", "password": "12345"}),
            "WEAK_PASSWORD : Password should be at least 6 characters",
        ),
        (json!({"email": "new@example.com"}), "MISSING_PASSWORD"),
        (json!({"password": "secret1"}), "MISSING_EMAIL"),
        // Both are looked for before either is parsed, and an empty one is missing.
        (
            json!({"email": "new@example.com", "password": ""}),
            "MISSING_PASSWORD",
        ),
        (json!({"email": "", "password": "secret1"}), "MISSING_EMAIL"),
        (json!({"email": "not-an-email"}), "MISSING_PASSWORD"),
        (json!({"password": "123"}), "MISSING_EMAIL"),
        (
            json!({"email": "new@example.com", "password": "secret1", "localId": "chosen"}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"email": "new@example.com", "password": "secret1", "emailVerified": true}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"email": "new@example.com", "password": "secret1", "tenantId": "nope"}),
            "TENANT_NOT_FOUND",
        ),
    ];
    for (body, message) in cases {
        assert_it_error(&app.post("/v1/accounts:signUp", body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn password_sign_in_under_both_layouts() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("bob@example.com", "secret12").await;
    app.advance(60);
    for path in [
        "/v1/accounts:signInWithPassword",
        "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
    ] {
        let (status, body) = app
            .post(
                path,
                json!({"email": "BOB@example.com", "password": "secret12"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["kind"], "identitytoolkit#VerifyPasswordResponse");
        assert_eq!(body["registered"], true);
        assert_eq!(body["localId"], up["localId"]);
        assert_eq!(body["email"], "bob@example.com");
        assert_eq!(body["displayName"], "");
        assert_eq!(
            claims(str_of(&body, "idToken"))["firebase"]["sign_in_provider"],
            "password"
        );
    }
    assert_eq!(app.last_login(str_of(&up, "localId")).await, app.now());
}

#[tokio::test]
async fn password_sign_in_errors_change_nothing() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("carol@example.com", "secret12").await;
    app.sign_up("dave@example.com", "secret12").await;
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": up["localId"], "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = app.fingerprint().await;
    assert_it_error(
        &app.sign_in("nobody@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
    assert_it_error(
        &app.sign_in("dave@example.com", "wrong-password").await,
        "INVALID_PASSWORD",
    );
    assert_it_error(
        &app.sign_in("carol@example.com", "secret12").await,
        "USER_DISABLED",
    );
    assert_it_error(&app.sign_in("bad", "secret12").await, "INVALID_EMAIL");
    assert_it_error(
        &app.post("/v1/accounts:signInWithPassword", json!({"password": "x"}))
            .await,
        "MISSING_EMAIL",
    );
    assert_it_error(
        &app.post(
            "/v1/accounts:signInWithPassword",
            json!({"email": "dave@example.com"}),
        )
        .await,
        "MISSING_PASSWORD",
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn lookup_by_id_token() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("erin@example.com", "secret12").await;
    let (status, body) = app.lookup(str_of(&up, "idToken")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "identitytoolkit#GetAccountInfoResponse");
    let user = &body["users"][0];
    assert_eq!(user["localId"], up["localId"]);
    assert_eq!(user["email"], "erin@example.com");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["disabled"], false);
    assert!(user["createdAt"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(user["validSince"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(user["passwordUpdatedAt"].is_number());
    assert!(
        user.get("passwordHash").is_none(),
        "password hashes are never returned"
    );
}

#[tokio::test]
async fn lookup_rejects_bad_tokens() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("frank@example.com", "secret12").await;
    let token = str_of(&up, "idToken").to_owned();
    assert_it_error(
        &app.post("/v1/accounts:lookup", json!({})).await,
        "MISSING_ID_TOKEN",
    );
    assert_it_error(&app.lookup("garbage").await, "INVALID_ID_TOKEN");
    // A valid token with a flipped signature byte is forged.
    let mut forged = token.clone();
    let last = forged
        .pop()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .unwrap();
    forged.push(last);
    assert_it_error(&app.lookup(&forged).await, "INVALID_ID_TOKEN");
    // An unsigned token in the emulator's style is not accepted.
    let payload = token.split('.').nth(1).unwrap();
    assert_it_error(
        &app.lookup(&format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."))
            .await,
        "INVALID_ID_TOKEN",
    );
    // One hour later the token has expired.
    app.advance(3601);
    assert_it_error(&app.lookup(&token).await, "TOKEN_EXPIRED");
}

#[tokio::test]
async fn lookup_of_disabled_and_deleted_users() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("gina@example.com", "secret12").await;
    let token = str_of(&up, "idToken");
    app.admin_post(
        &format!("/v1/projects/{PROJECT}/accounts:update"),
        json!({"localId": up["localId"], "disableUser": true}),
    )
    .await;
    assert_it_error(&app.lookup(token).await, "USER_DISABLED");
    app.admin_post(
        &format!("/v1/projects/{PROJECT}/accounts:delete"),
        json!({"localId": up["localId"]}),
    )
    .await;
    assert_it_error(&app.lookup(token).await, "USER_NOT_FOUND");
}

#[tokio::test]
async fn update_profile_and_email() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("hank@example.com", "secret12").await;
    app.admin_post(
        &format!("/v1/projects/{PROJECT}/accounts:update"),
        json!({"localId": up["localId"], "emailVerified": true}),
    )
    .await;
    let (status, body) = app
        .post(
            "/v1/accounts:update",
            json!({"idToken": up["idToken"], "displayName": "Hank", "photoUrl": "https://example.com/h.png"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "identitytoolkit#SetAccountInfoResponse");
    assert_eq!(body["displayName"], "Hank");
    assert_eq!(body["emailVerified"], true);
    assert!(body.get("idToken").is_none(), "no new session unless asked");

    let (status, body) = app
        .post(
            "/v1/accounts:update",
            json!({"idToken": up["idToken"], "email": "hank2@example.com", "returnSecureToken": true,
                   "deleteAttribute": ["PHOTO_URL"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "hank2@example.com");
    assert_eq!(body["emailVerified"], false, "a new address is unverified");
    assert!(body.get("photoUrl").is_none());
    assert_eq!(
        claims(str_of(&body, "idToken"))["email"],
        "hank2@example.com"
    );
    assert_eq!(
        app.sign_in("hank2@example.com", "secret12").await.0,
        StatusCode::OK
    );
}

/// As in Firebase, a new password or a new email revokes every earlier session; the answer
/// carries a fresh one. Other changes leave sessions alone.
#[tokio::test]
async fn password_or_email_change_revokes_earlier_sessions() {
    let cases = [
        (
            json!({"password": "newsecret"}),
            ("ivy@example.com", "newsecret"),
            ("ivy@example.com", "secret12", "INVALID_PASSWORD"),
        ),
        (
            json!({"email": "ivy.new@example.com"}),
            ("ivy.new@example.com", "secret12"),
            ("ivy@example.com", "secret12", "EMAIL_NOT_FOUND"),
        ),
    ];
    for (mut change, (email, password), (old_email, old_password, refused)) in cases {
        let app = TestApp::spawn().await;
        let up = app.sign_up("ivy@example.com", "secret12").await;
        // Tokens carry whole seconds; move past the sign-up second so the revocation is visible.
        app.advance(1);
        let (status, body) = app
            .post(
                "/v1/accounts:update",
                json!({"idToken": up["idToken"], "displayName": "Ivy"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("idToken").is_none(), "{body}");
        assert_eq!(app.lookup(str_of(&up, "idToken")).await.0, StatusCode::OK);

        change["idToken"] = up["idToken"].clone();
        let (status, body) = app.post("/v1/accounts:update", change).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let new_id_token = str_of(&body, "idToken");
        let new_refresh = str_of(&body, "refreshToken");

        assert_it_error(&app.lookup(str_of(&up, "idToken")).await, "TOKEN_EXPIRED");
        assert_it_error(
            &app.refresh(str_of(&up, "refreshToken")).await,
            "TOKEN_EXPIRED",
        );
        assert_eq!(app.lookup(new_id_token).await.0, StatusCode::OK);
        assert_eq!(app.refresh(new_refresh).await.0, StatusCode::OK);
        assert_it_error(&app.sign_in(old_email, old_password).await, refused);
        assert_eq!(app.sign_in(email, password).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn update_errors_change_nothing() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("jack@example.com", "secret12").await;
    app.sign_up("other@example.com", "secret12").await;
    let before = app.fingerprint().await;
    let t = up["idToken"].clone();
    let cases = [
        (json!({"displayName": "x"}), "MISSING_ID_TOKEN"),
        (
            json!({"idToken": "junk", "displayName": "x"}),
            "INVALID_ID_TOKEN",
        ),
        (json!({"idToken": t, "email": "bad"}), "INVALID_EMAIL"),
        (
            json!({"idToken": t, "email": "other@example.com"}),
            "EMAIL_EXISTS",
        ),
        (
            json!({"idToken": t, "password": "123"}),
            "WEAK_PASSWORD : Password should be at least 6 characters",
        ),
        (
            json!({"idToken": t, "emailVerified": true}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"idToken": t, "disableUser": true}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"idToken": t, "customAttributes": "{}"}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"idToken": t, "deleteAttribute": ["RAW_USER_INFO"]}),
            "INVALID_ARGUMENT : Unsupported deleteAttribute RAW_USER_INFO.",
        ),
    ];
    for (body, message) in cases {
        assert_it_error(&app.post("/v1/accounts:update", body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn delete_own_account() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("kate@example.com", "secret12").await;
    let before = app.fingerprint().await;
    assert_it_error(
        &app.post("/v1/accounts:delete", json!({})).await,
        "MISSING_ID_TOKEN",
    );
    assert_it_error(
        &app.post("/v1/accounts:delete", json!({"idToken": "x"}))
            .await,
        "INVALID_ID_TOKEN",
    );
    assert_eq!(app.fingerprint().await, before);

    let (status, body) = app
        .post("/v1/accounts:delete", json!({"idToken": up["idToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"kind": "identitytoolkit#DeleteAccountResponse"})
    );
    assert!(app.admin_user(str_of(&up, "localId")).await.is_none());
    assert_it_error(
        &app.refresh(str_of(&up, "refreshToken")).await,
        "USER_NOT_FOUND",
    );
    assert_it_error(
        &app.sign_in("kate@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
}

/// `accounts:createAuthUri` (the JS SDK's `fetchSignInMethodsForEmail`) tells how an address
/// signs in; each malformed request is refused, and nothing changes.
#[tokio::test]
async fn create_auth_uri_tells_how_an_address_signs_in() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "correct horse").await;
    let ask = |identifier: &str| json!({"identifier": identifier, "continueUri": "http://localhost/", "sessionId": "s-1"});
    let path = "/v1/accounts:createAuthUri";
    let (status, known) = app.post(path, ask("ada@example.com")).await;
    assert_eq!(status, StatusCode::OK, "{known}");
    assert_eq!(
        known,
        json!({"kind": "identitytoolkit#CreateAuthUriResponse", "sessionId": "s-1",
               "registered": true, "allProviders": ["password"], "signinMethods": ["password"]})
    );
    let (status, unknown) = app
        .post(
            path,
            json!({"identifier": "nobody@example.com", "continueUri": "http://localhost/"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unknown}");
    assert_eq!(unknown["registered"], false);
    assert_eq!(unknown["allProviders"], json!([]));
    assert_eq!(unknown["signinMethods"], json!([]));
    assert!(unknown["sessionId"].is_string(), "{unknown}");

    let refusals = [
        (
            json!({"continueUri": "http://localhost/"}),
            "MISSING_IDENTIFIER",
        ),
        (
            json!({"identifier": "ada@example.com"}),
            "MISSING_CONTINUE_URI",
        ),
        (
            json!({"identifier": "not an address", "continueUri": "http://localhost/"}),
            "INVALID_IDENTIFIER",
        ),
        (
            json!({"identifier": "ada@example.com", "continueUri": "not a uri"}),
            "INVALID_CONTINUE_URI",
        ),
    ];
    for (body, message) in refusals {
        app.refused(path, body, message).await;
    }
    app.refused(
        path,
        json!({"providerId": "google.com", "continueUri": "http://localhost/"}),
        "INVALID_PROVIDER_ID : Sign-in with an identity provider is not offered.",
    )
    .await;
}
