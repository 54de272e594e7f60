//! Changes to a ZITADEL user after it was added, seen through both dialects: deactivate and
//! reactivate (a deactivated user signs in nowhere), SetPassword (the new password is the one
//! the Identity Toolkit checks), v2 UpdateHumanUser, and v1's username, profile, email and
//! password updates.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera::config::Secret;
use tessera_core::Role;

use crate::helpers::*;
use crate::sinks::SmtpSink;

/// A v2 user with a verified address and, when given, a password; its id.
async fn human(app: &TestApp, email: &str, password: Option<&str>) -> String {
    let mut body = json!({
        "profile": {"givenName": "Ada", "familyName": "Lovelace"},
        "email": {"email": email, "isVerified": true},
    });
    if let Some(password) = password {
        body["password"] = json!({"password": password});
    }
    let (status, created) = call(app, Method::POST, "/v2/users/human", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    str_of(&created, "userId").to_owned()
}

async fn state(app: &TestApp, user: &str) -> Value {
    v2_profile(app, user).await["state"].clone()
}

async fn session_for(app: &TestApp, user: &str) -> Reply {
    call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"userId": user}}}),
    )
    .await
}

/// v2: deactivation shows as INACTIVE, ends the user's tokens, and refuses sign-in through
/// both dialects until reactivation; each step asked twice is refused and changes nothing.
#[tokio::test]
async fn a_deactivated_user_signs_in_nowhere_until_reactivated() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let refresh = str_of(&signed_in, "refreshToken").to_owned();
    // Revocation is by whole seconds, as Firebase's `validSince`.
    app.advance(2);

    let (status, deactivated) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{ada}/deactivate"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{deactivated}");
    assert!(
        deactivated["details"]["changeDate"].is_string(),
        "{deactivated}"
    );
    assert_eq!(state(&app, &ada).await, "USER_STATE_INACTIVE");
    assert_eq!(app.admin_user(&ada).await.unwrap()["disabled"], true);
    assert_it_error(
        &app.sign_in("ada@example.com", "correct horse").await,
        "USER_DISABLED",
    );
    assert_it_error(&app.refresh(&refresh).await, "USER_DISABLED");
    assert_zitadel_error(
        &session_for(&app, &ada).await,
        400,
        9,
        "User is not active",
        "COMMAND-vgDIu",
    );

    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &format!("/v2/users/{ada}/deactivate"),
            json!({}),
        ),
        (400, 9, "User already inactive", "COMMAND-5M0sf"),
    )
    .await;

    let (status, reactivated) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{ada}/reactivate"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reactivated}");
    assert_eq!(state(&app, &ada).await, "USER_STATE_ACTIVE");
    let (status, again) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    // The tokens from before the deactivation stay dead, as after Firebase's disableUser.
    assert_it_error(&app.refresh(&refresh).await, "TOKEN_EXPIRED");
    let (status, session) = session_for(&app, &ada).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");

    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &format!("/v2/users/{ada}/reactivate"),
            json!({}),
        ),
        (400, 9, "User is not inactive", "COMMAND-6M0sf"),
    )
    .await;
}

/// Management v1 `_deactivate` and `_reactivate` in the call's organization; the flag is
/// Firebase's `disabled`, so a user disabled through the Identity Toolkit is reactivated
/// through ZITADEL. A viewer, another organization and an unknown user are refused.
#[tokio::test]
async fn v1_deactivation_shares_firebase_disabled_flag() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let deactivate = format!("/management/v1/users/{ada}/_deactivate");
    let reactivate = format!("/management/v1/users/{ada}/_reactivate");

    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let (status, other) = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        json!({"name": "Elsewhere"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let before = app.fingerprint().await;
    let reply = app
        .zitadel(Method::POST, &deactivate, &viewer, None, Some(json!({})))
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    let reply = app
        .zitadel(
            Method::POST,
            &deactivate,
            &app.pat(),
            Some(str_of(&other, "id")),
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    let reply = call(
        &app,
        Method::POST,
        "/management/v1/users/123456789/_deactivate",
        json!({}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    assert_eq!(app.fingerprint().await, before);

    let (status, deactivated) = call(&app, Method::POST, &deactivate, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{deactivated}");
    assert!(
        deactivated["details"]["sequence"].is_string(),
        "{deactivated}"
    );
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/management/v1/users/{ada}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["user"]["state"], "USER_STATE_INACTIVE");
    let reply = call(&app, Method::POST, &deactivate, json!({})).await;
    assert_zitadel_error(&reply, 400, 9, "User already inactive", "COMMAND-5M0sf");

    let (status, reactivated) = call(&app, Method::POST, &reactivate, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reactivated}");
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");

    // Disabled through the Identity Toolkit, reactivated through ZITADEL.
    let (status, body) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": ada, "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(state(&app, &ada).await, "USER_STATE_INACTIVE");
    let (status, reactivated) = call(&app, Method::POST, &reactivate, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reactivated}");
    assert_eq!(app.admin_user(&ada).await.unwrap()["disabled"], false);
}

/// SetPassword: set by an admin, or proven by the current password; the new one is what the
/// Identity Toolkit checks, and it ends the tokens issued before. Every refusal changes
/// nothing.
#[tokio::test]
async fn set_password_is_checked_by_both_dialects() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let path = format!("/v2/users/{ada}/password");
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let refresh = str_of(&signed_in, "refreshToken").to_owned();
    // Revocation is by whole seconds, as Firebase's `validSince`.
    app.advance(2);
    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;

    let before = app.fingerprint().await;
    let wrong = json!({"newPassword": {"password": "battery staple"},
                       "currentPassword": "wrong horse"});
    let reply = call(&app, Method::POST, &path, wrong).await;
    assert_zitadel_error(&reply, 400, 3, "Password is invalid", "COMMAND-3M0fs");
    let with_code = json!({"newPassword": {"password": "battery staple"},
                           "verificationCode": "SKJd342k"});
    let reply = call(&app, Method::POST, &path, with_code).await;
    assert_zitadel_error(&reply, 400, 9, "Code not found", "COMMAND-2M9fs");
    let short = json!({"newPassword": {"password": "abc"}, "currentPassword": "correct horse"});
    let reply = call(&app, Method::POST, &path, short).await;
    assert_zitadel_error(&reply, 400, 3, "Password is too short", "DOMAIN-HuJf6");
    let reply = call(&app, Method::POST, &path, json!({})).await;
    assert_zitadel_error(&reply, 400, 3, "Password is too short", "DOMAIN-HuJf6");
    let reply = app
        .zitadel(
            Method::POST,
            &path,
            &viewer,
            None,
            Some(json!({"newPassword": {"password": "battery staple"}})),
        )
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    assert_eq!(app.fingerprint().await, before);

    let proven = json!({"newPassword": {"password": "battery staple"},
                        "currentPassword": "correct horse"});
    let (status, set) = call(&app, Method::POST, &path, proven).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert!(set["details"]["changeDate"].is_string(), "{set}");
    assert_it_error(
        &app.sign_in("ada@example.com", "correct horse").await,
        "INVALID_PASSWORD",
    );
    let (status, signed_in) = app.sign_in("ada@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_it_error(&app.refresh(&refresh).await, "TOKEN_EXPIRED");

    // An admin needs no proof; a user without a password cannot prove one.
    let (status, set) = call(
        &app,
        Method::POST,
        &path,
        json!({"newPassword": {"password": "horse battery", "changeRequired": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, signed_in) = app.sign_in("ada@example.com", "horse battery").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");

    let grace = human(&app, "grace@example.com", None).await;
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &format!("/v2/users/{grace}/password"),
            json!({"newPassword": {"password": "battery staple"}, "currentPassword": "guess"}),
        ),
        (400, 9, "Password is empty", "COMMAND-Fds3s"),
    )
    .await;
}

/// UpdateHumanUser: username, profile, email, phone and password in one call, each new
/// contact proven by its code; fields left out stay, a blank phone removes the phone, and
/// each refusal (wrong password, bad address, taken username, address or number, hashed
/// password) changes nothing, not even the parts that were fine.
#[tokio::test]
async fn update_human_user_changes_names_contacts_and_password() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let grace = human(&app, "grace@example.com", None).await;
    let path = format!("/v2/users/human/{ada}");
    let (status, named) = call(
        &app,
        Method::PUT,
        &format!("/v2/users/human/{grace}"),
        json!({"username": "grace", "phone": {"phone": "+15550100009", "isVerified": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{named}");

    let before = app.fingerprint().await;
    let refusals = [
        (
            json!({"username": "augusta", "password": {"password": {"password": "battery staple"},
                                                       "currentPassword": "wrong horse"}}),
            (400, 3, "Password is invalid", "COMMAND-3M0fs"),
        ),
        (
            json!({"username": "augusta", "email": {"email": "not an address"}}),
            (400, 3, "Email is invalid", "EMAIL-599BI"),
        ),
        (
            json!({"username": " grace "}),
            (409, 6, "User already exists", "COMMAND-k2unb"),
        ),
        // Taken by another user: refused when written, with the rest of the change.
        (
            json!({"username": "augusta", "profile": {"givenName": "Augusta"},
                   "email": {"email": "grace@example.com", "isVerified": true}}),
            (409, 6, "User already exists", "COMMAND-k2unb"),
        ),
        (
            json!({"username": "augusta", "email": {"email": "augusta@example.com", "returnCode": {}},
                   "phone": {"phone": "+15550100009", "isVerified": true}}),
            (409, 6, "Phone number is already in use", "TESSERA-PHN01"),
        ),
        (
            json!({"password": {"hashedPassword": {"hash": "$2a$12$lJ08fqVr8bFJilRVnDT9Qe"}}}),
            (
                400,
                3,
                "Password hash encoding not supported. Check out https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets",
                "USER-oz74onzvqr",
            ),
        ),
        (
            json!({"username": "augusta", "password": {"password": {"password": "battery staple"},
                                                       "verificationCode": "SKJd342k"}}),
            (400, 9, "Code not found", "COMMAND-2M9fs"),
        ),
    ];
    for (body, (http, code, message, id)) in refusals {
        let reply = call(&app, Method::PUT, &path, body).await;
        assert_zitadel_error(&reply, http, code, message, id);
        assert_eq!(app.fingerprint().await, before);
    }

    let (status, updated) = call(
        &app,
        Method::PUT,
        &path,
        json!({
            "username": " augusta ",
            "profile": {"givenName": "Augusta", "familyName": "King", "nickName": "Ada",
                        "displayName": "Countess", "preferredLanguage": "en",
                        "gender": "GENDER_FEMALE"},
            "email": {"email": "augusta@example.com", "returnCode": {}},
            "phone": {"phone": "+15550100002", "returnCode": {}},
            "password": {"password": {"password": "battery staple"},
                         "currentPassword": "correct horse"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated["details"]["changeDate"].is_string(), "{updated}");
    let user = v2_profile(&app, &ada).await;
    assert_eq!(user["username"], "augusta");
    assert_eq!(
        user["human"]["profile"],
        json!({"givenName": "Augusta", "familyName": "King", "nickName": "Ada",
               "displayName": "Countess", "preferredLanguage": "en", "gender": "GENDER_FEMALE"})
    );
    assert_eq!(
        user["human"]["email"],
        json!({"email": "augusta@example.com"})
    );
    // Both await their codes: unverified.
    assert_eq!(user["human"]["phone"], json!({"phone": "+15550100002"}));
    for (kind, code) in [("email", "emailCode"), ("phone", "phoneCode")] {
        let (status, verified) = call(
            &app,
            Method::POST,
            &format!("/v2/users/{ada}/{kind}/verify"),
            json!({"verificationCode": str_of(&updated, code)}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{verified}");
    }
    let user = v2_profile(&app, &ada).await;
    assert_eq!(
        user["human"]["phone"],
        json!({"phone": "+15550100002", "isVerified": true})
    );
    let (status, signed_in) = app.sign_in("augusta@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");

    // Left out: unchanged; an optional field given blank: cleared; a blank phone: removed.
    let (status, updated) = call(
        &app,
        Method::PUT,
        &path,
        json!({"profile": {"givenName": "", "nickName": ""}, "phone": {"phone": ""}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated.get("emailCode"), None);
    let user = v2_profile(&app, &ada).await;
    assert_eq!(
        user["human"]["profile"],
        json!({"givenName": "Augusta", "familyName": "King", "displayName": "Countess",
               "preferredLanguage": "en", "gender": "GENDER_FEMALE"})
    );
    assert_eq!(user["human"]["phone"], Value::Null);
    assert_eq!(user["username"], "augusta");
}

/// RemovePhone takes the number awaiting its code as well as the proven one: ZITADEL shows the
/// user one phone, and removing it leaves none, nor a code that could bring it back.
#[tokio::test]
async fn remove_phone_takes_a_number_awaiting_its_code_too() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", None).await;
    let phone = format!("/v2/users/{ada}/phone");
    let set = |number: &str| json!({"phone": number, "returnCode": {}});

    let (status, pending) = call(&app, Method::POST, &phone, set("+15550100003")).await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(
        v2_profile(&app, &ada).await["human"]["phone"],
        json!({"phone": "+15550100003"})
    );
    let reply = call(&app, Method::POST, &phone, set("+15550100003")).await;
    assert_zitadel_error(&reply, 400, 9, "Phone not changed", "COMMAND-Uch5e");
    let (status, removed) = call(&app, Method::DELETE, &phone, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(v2_profile(&app, &ada).await["human"]["phone"], Value::Null);
    let reply = call(
        &app,
        Method::POST,
        &format!("{phone}/verify"),
        json!({"verificationCode": str_of(&pending, "verificationCode")}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    assert_refused_unchanged(
        &app,
        call(&app, Method::DELETE, &phone, json!({})),
        (404, 5, "Phone not found", "COMMAND-ieJ2e"),
    )
    .await;

    // A proven number with another awaiting its code: both go.
    let (status, _) = call(
        &app,
        Method::POST,
        &phone,
        json!({"phone": "+15550100004", "isVerified": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, Method::POST, &phone, set("+15550100005")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, removed) = call(&app, Method::DELETE, &phone, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(v2_profile(&app, &ada).await["human"]["phone"], Value::Null);
    let reply = call(&app, Method::DELETE, &phone, json!({})).await;
    assert_zitadel_error(&reply, 404, 5, "Phone not found", "COMMAND-ieJ2e");
}

/// Management v1's username, profile, email and password updates, in the call's
/// organization; refusals change nothing.
#[tokio::test]
async fn v1_updates_of_username_profile_email_and_password() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let v1 = |what: &str| format!("/management/v1/users/{ada}/{what}");

    let (status, renamed) = call(
        &app,
        Method::PUT,
        &v1("username"),
        json!({"userName": "countess"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert!(renamed["details"]["sequence"].is_string(), "{renamed}");
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/management/v1/users/{ada}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["user"]["userName"], "countess");
    assert_eq!(got["user"]["loginNames"], json!(["countess"]));

    let before = app.fingerprint().await;
    let refusals = [
        (
            Method::PUT,
            "username",
            json!({"userName": "countess"}),
            (400, 9, "Username not changed", "COMMAND-6m9gs"),
        ),
        (
            Method::PUT,
            "username",
            json!({"userName": "  "}),
            (400, 3, "ID missing", "COMMAND-2N9fs"),
        ),
        (
            Method::PUT,
            "profile",
            json!({"lastName": "King"}),
            (400, 3, "Given name in profile is empty", "PROFILE-RF5z2"),
        ),
        (
            Method::PUT,
            "profile",
            json!({"firstName": "Augusta"}),
            (400, 3, "Family name in profile is empty", "PROFILE-DSUkN"),
        ),
        (
            Method::PUT,
            "email",
            json!({"email": "nope", "isEmailVerified": true}),
            (400, 3, "Email is invalid", "EMAIL-599BI"),
        ),
        (
            Method::POST,
            "password",
            json!({"password": "abc"}),
            (400, 3, "Password is too short", "DOMAIN-HuJf6"),
        ),
        (
            Method::PUT,
            "email",
            json!({"email": "ada@example.com", "isEmailVerified": true}),
            (400, 9, "Email not changed", "COMMAND-Uch5e"),
        ),
    ];
    for (method, what, body, (http, code, message, id)) in refusals {
        let reply = call(&app, method, &v1(what), body).await;
        assert_zitadel_error(&reply, http, code, message, id);
        assert_eq!(app.fingerprint().await, before);
    }

    // v1 replaces the whole profile; the display name defaults to the two names.
    let (status, profiled) = call(
        &app,
        Method::PUT,
        &v1("profile"),
        json!({"firstName": "Augusta", "lastName": "King", "gender": "GENDER_FEMALE"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{profiled}");
    assert_eq!(
        v2_profile(&app, &ada).await["human"]["profile"],
        json!({"givenName": "Augusta", "familyName": "King", "displayName": "Augusta King",
               "gender": "GENDER_FEMALE"})
    );

    let (status, emailed) = call(
        &app,
        Method::PUT,
        &v1("email"),
        json!({"email": "augusta@example.com", "isEmailVerified": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{emailed}");
    let (status, set) = call(
        &app,
        Method::POST,
        &v1("password"),
        json!({"password": "battery staple", "noChangeRequired": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, signed_in) = app.sign_in("augusta@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(
        claims(str_of(&signed_in, "idToken"))["email_verified"],
        true
    );

    // Unverified: the address changes at once, unproven, and a code goes to it.
    let (status, emailed) = call(
        &app,
        Method::PUT,
        &v1("email"),
        json!({"email": "king@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{emailed}");
    assert_eq!(
        v2_profile(&app, &ada).await["human"]["email"],
        json!({"email": "king@example.com"})
    );
}

/// Lock and unlock (v2 and v1): a locked user signs in nowhere (Firebase sees it disabled) and
/// shows as LOCKED; its tokens work again once unlocked. Deactivation outranks a lock, and
/// reactivating or Firebase's enabling clears it. Each refusal changes nothing.
#[tokio::test]
async fn locked_users_sign_in_nowhere_until_unlocked() {
    let app = TestApp::spawn().await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let refresh = str_of(&signed_in, "refreshToken").to_owned();
    let lock = format!("/v2/users/{ada}/lock");
    let unlock = format!("/v2/users/{ada}/unlock");

    let (status, locked) = call(&app, Method::POST, &lock, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    assert_eq!(state(&app, &ada).await, "USER_STATE_LOCKED");
    assert_eq!(app.admin_user(&ada).await.unwrap()["disabled"], true);
    assert_it_error(
        &app.sign_in("ada@example.com", "correct horse").await,
        "USER_DISABLED",
    );
    assert_it_error(&app.refresh(&refresh).await, "USER_DISABLED");
    assert_zitadel_error(
        &session_for(&app, &ada).await,
        400,
        9,
        "User is not active",
        "COMMAND-vgDIu",
    );
    let (status, found) = call(
        &app,
        Method::POST,
        "/v2/users",
        json!({"queries": [{"stateQuery": {"state": "USER_STATE_LOCKED"}}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["result"][0]["userId"], ada.as_str(), "{found}");

    let before = app.fingerprint().await;
    let reply = call(&app, Method::POST, &lock, json!({})).await;
    let message = "User is not active or initial";
    assert_zitadel_error(&reply, 400, 9, message, "COMMAND-3NN8v");
    assert_eq!(app.fingerprint().await, before);

    let (status, unlocked) = call(&app, Method::POST, &unlock, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{unlocked}");
    assert_eq!(state(&app, &ada).await, "USER_STATE_ACTIVE");
    let (status, refreshed) = app.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_refused_unchanged(
        &app,
        call(&app, Method::POST, &unlock, json!({})),
        (400, 9, "User is not locked", "COMMAND-4M0ds"),
    )
    .await;

    // v1; a deactivation outranks the lock, and reactivating clears it.
    let v1 = |what: &str| format!("/management/v1/users/{ada}/{what}");
    let (status, locked) = call(&app, Method::POST, &v1("_lock"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    let (status, _) = call(&app, Method::POST, &v1("_deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state(&app, &ada).await, "USER_STATE_INACTIVE");
    let reply = call(&app, Method::POST, &v1("_unlock"), json!({})).await;
    assert_zitadel_error(&reply, 400, 9, "User is not locked", "COMMAND-4M0ds");
    let (status, _) = call(&app, Method::POST, &v1("_reactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state(&app, &ada).await, "USER_STATE_ACTIVE");

    // Firebase's enabling of a locked user makes it active.
    let (status, _) = call(&app, Method::POST, &lock, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": ada, "disableUser": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(state(&app, &ada).await, "USER_STATE_ACTIVE");
    let (status, signed_in) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
}

/// PasswordReset: a returned code sets a new password once through SetPassword (the Identity
/// Toolkit then checks the new one); a wrong code, a used one, an expired one and one nobody
/// asked for are refused with nothing changed; an emailed link follows `urlTemplate`; and a
/// code from Identity Toolkit's reset link works here too.
#[tokio::test]
async fn password_reset_codes_set_a_new_password_once() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let ada = human(&app, "ada@example.com", Some("correct horse")).await;
    let reset = format!("/v2/users/{ada}/password_reset");
    let set = format!("/v2/users/{ada}/password");
    let with_code = |password: &str, code: &str| json!({"newPassword": {"password": password}, "verificationCode": code});

    let (status, returned) = call(&app, Method::POST, &reset, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{returned}");
    assert!(returned["details"]["changeDate"].is_string(), "{returned}");
    let code = str_of(&returned, "verificationCode").to_owned();
    app.settled().await;
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &set,
            with_code("battery staple", "SKJd342k"),
        ),
        (400, 3, "Code is invalid", "CODE-woT0xc"),
    )
    .await;
    let (status, done) = call(&app, Method::POST, &set, with_code("battery staple", &code)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, _) = app.sign_in("ada@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK);
    app.settled().await;
    assert_refused_unchanged(
        &app,
        call(&app, Method::POST, &set, with_code("another one", &code)),
        (400, 9, "Code not found", "COMMAND-2M9fs"),
    )
    .await;

    // By email, to the caller's own page.
    let template =
        "https://app.example.com/reset?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}";
    let (status, sent) = call(
        &app,
        Method::POST,
        &reset,
        json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": template}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent.get("verificationCode"), None);
    let mail = smtp.next_message(Duration::from_secs(20)).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    let prefix = format!("https://app.example.com/reset?userID={ada}&code=");
    let start = mail.text.find(&prefix).expect("the link") + prefix.len();
    let code = mail.text[start..].split('&').next().unwrap().to_owned();
    assert!(
        mail.text[start..].starts_with(&format!("{code}&orgID=")),
        "{}",
        mail.text
    );
    app.advance(3601);
    app.settled().await;
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &set,
            with_code("battery staple 2", &code),
        ),
        (400, 9, "Code is expired", "CODE-QvUQ4P"),
    )
    .await;

    // Identity Toolkit's reset link carries a code ZITADEL's SetPassword takes.
    let (status, _) = app
        .post(
            "/v1/accounts:sendOobCode",
            json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mail = smtp.next_message(Duration::from_secs(20)).await;
    let start = mail.text.find("oobCode=").expect("the link") + "oobCode=".len();
    let code = mail.text[start..].split('&').next().unwrap().to_owned();
    let (status, done) = call(
        &app,
        Method::POST,
        &set,
        with_code("battery staple 3", &code),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, _) = app.sign_in("ada@example.com", "battery staple 3").await;
    assert_eq!(status, StatusCode::OK);

    // UpdateHumanUser takes a code too, with the rest of its change.
    let (_, returned) = call(&app, Method::POST, &reset, json!({"returnCode": {}})).await;
    let code = str_of(&returned, "verificationCode");
    let body = json!({"username": "countess",
                      "password": {"password": {"password": "battery staple 4"}, "verificationCode": code}});
    let (status, updated) = call(&app, Method::PUT, &format!("/v2/users/human/{ada}"), body).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(v2_profile(&app, &ada).await["username"], "countess");
    let (status, _) = app.sign_in("ada@example.com", "battery staple 4").await;
    assert_eq!(status, StatusCode::OK);
}
