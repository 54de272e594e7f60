//! `accounts:sendVerificationCode` and `accounts:signInWithPhoneNumber`: a phone number as the
//! first factor. A code signs a new account up or the number's account in, puts the number on
//! the caller's account, or signs in again; phone sessions cannot take second factors, and
//! accounts with second factors cannot be signed in to with their number; production allows it
//! only where the project enabled it; every refusal, with nothing changed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SEND: &str = "/v1/accounts:sendVerificationCode";
const SIGN_IN: &str = "/v1/accounts:signInWithPhoneNumber";

async fn send(app: &TestApp, phone: &str) -> String {
    let (status, sent) = app
        .post(SEND, json!({"phoneNumber": phone, "recaptchaToken": "t"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    str_of(&sent, "sessionInfo").to_owned()
}

/// Sends a code to `phone` and uses it with the request's other fields `extra`.
async fn use_code(app: &TestApp, phone: &str, extra: Value) -> Reply {
    let session_info = send(app, phone).await;
    let code = app.sms_code(&session_info).await;
    let mut body = json!({"sessionInfo": session_info, "code": code});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post(SIGN_IN, body).await
}

async fn signed_in(app: &TestApp, phone: &str) -> Value {
    let (status, body) = use_code(app, phone, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The first code signs a new account up with the number, later ones sign it in; its ID
/// tokens say so, refreshed ones too, and lookup shows the number and the provider. A phone
/// session cannot enrol a second factor, as in Firebase.
#[tokio::test]
async fn a_texted_code_signs_up_then_in() {
    let app = TestApp::spawn().await;
    let first = signed_in(&app, "+16505550101").await;
    assert_eq!(
        (
            &first["isNewUser"],
            &first["phoneNumber"],
            &first["expiresIn"]
        ),
        (&json!(true), &json!("+16505550101"), &json!("3600"))
    );
    let local_id = str_of(&first, "localId").to_owned();
    let token = claims(str_of(&first, "idToken"));
    assert_eq!(token["user_id"], local_id.as_str());
    assert_eq!(token["phone_number"], "+16505550101");
    assert_eq!(token["firebase"]["sign_in_provider"], "phone");
    assert_eq!(
        token["firebase"]["identities"],
        json!({"phone": ["+16505550101"]})
    );

    app.advance(60);
    let again = signed_in(&app, "+16505550101").await;
    assert_eq!(
        (&again["isNewUser"], &again["localId"]),
        (&json!(false), &json!(local_id))
    );
    let (status, refreshed) = app.refresh(str_of(&again, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let token = claims(str_of(&refreshed, "id_token"));
    assert_eq!(token["firebase"]["sign_in_provider"], "phone");

    let (status, looked_up) = app.lookup(str_of(&again, "idToken")).await;
    assert_eq!(status, StatusCode::OK, "{looked_up}");
    let user = &looked_up["users"][0];
    assert_eq!(user["phoneNumber"], "+16505550101");
    assert_eq!(user["providerUserInfo"][0]["providerId"], "phone");
    assert_eq!(app.last_login(&local_id).await, app.now());

    app.refused(
        "/v2/accounts/mfaEnrollment:start",
        json!({"idToken": again["idToken"], "totpEnrollmentInfo": {}}),
        "UNSUPPORTED_FIRST_FACTOR : MFA is not available for the given first factor.",
    )
    .await;
}

/// A code is used once, five wrong codes end it, and it lives five minutes.
#[tokio::test]
async fn a_code_is_used_once_and_briefly() {
    let app = TestApp::spawn().await;
    let session_info = send(&app, "+16505550102").await;
    let code = app.sms_code(&session_info).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = |code: &str| json!({"sessionInfo": session_info, "code": code});
    app.refused(SIGN_IN, body(wrong), "INVALID_CODE").await;
    let (status, done) = app.post(SIGN_IN, body(&code)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    app.refused(SIGN_IN, body(&code), "INVALID_SESSION_INFO")
        .await;

    let session_info = send(&app, "+16505550102").await;
    let code = app.sms_code(&session_info).await;
    app.advance(5 * 60 + 1);
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": session_info, "code": code}),
        "SESSION_EXPIRED",
    )
    .await;

    let session_info = send(&app, "+16505550102").await;
    let code = app.sms_code(&session_info).await;
    for _ in 0..5 {
        let reply = app
            .post(SIGN_IN, json!({"sessionInfo": session_info, "code": wrong}))
            .await;
        assert_it_error(&reply, "INVALID_CODE");
    }
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": session_info, "code": code}),
        "SESSION_EXPIRED",
    )
    .await;
}

/// With an ID token the number goes on the caller's account (the JS SDK's
/// `linkWithPhoneNumber`, `updatePhoneNumber`); another account's number is refused.
#[tokio::test]
async fn a_code_with_an_id_token_links_the_number() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("link@example.com", "secret12").await;
    let (status, linked) =
        use_code(&app, "+16505550103", json!({"idToken": session["idToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(
        (
            &linked["localId"],
            &linked["isNewUser"],
            &linked["phoneNumber"]
        ),
        (&session["localId"], &json!(false), &json!("+16505550103"))
    );
    let token = claims(str_of(&linked, "idToken"));
    assert_eq!(token["firebase"]["sign_in_provider"], "phone");
    assert_eq!(token["email"], "link@example.com");
    let user = app.admin_user(str_of(&session, "localId")).await.unwrap();
    assert_eq!(user["phoneNumber"], "+16505550103");

    // The number now signs in to that account.
    let again = signed_in(&app, "+16505550103").await;
    assert_eq!(again["localId"], session["localId"]);

    // Another account cannot take it: the code proves the number all the same, and the
    // temporary proof it gives signs in to the account that has it (the JS SDK's
    // `auth/account-exists-with-different-credential`, then `signInWithCredential`).
    let other = app.sign_up("other@example.com", "secret12").await;
    let session_info = send(&app, "+16505550103").await;
    let code = app.sms_code(&session_info).await;
    app.settled().await;
    let before = app.fingerprint().await;
    let body = json!({"sessionInfo": session_info, "code": code, "idToken": other["idToken"]});
    let (status, taken) = app.post(SIGN_IN, body).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(
        (&taken["phoneNumber"], &taken["temporaryProofExpiresIn"]),
        (&json!("+16505550103"), &json!("300"))
    );
    assert!(
        taken.get("idToken").is_none() && taken.get("localId").is_none(),
        "{taken}"
    );
    assert_eq!(app.fingerprint().await, before);
    let proof = str_of(&taken, "temporaryProof");
    let with_proof =
        |proof: &str, phone: &str| json!({"temporaryProof": proof, "phoneNumber": phone});
    app.refused(
        SIGN_IN,
        json!({"temporaryProof": proof, "phoneNumber": "+16505550103", "idToken": other["idToken"]}),
        "PHONE_NUMBER_EXISTS",
    )
    .await;
    for (forged, phone) in [
        (format!("{proof}x"), "+16505550103"),
        (proof.replacen('1', "2", 1), "+16505550103"),
        (proof.to_owned(), "+16505550109"),
    ] {
        app.refused(
            SIGN_IN,
            with_proof(&forged, phone),
            "INVALID_TEMPORARY_PROOF",
        )
        .await;
    }
    let (status, owner) = app.post(SIGN_IN, with_proof(proof, "+16505550103")).await;
    assert_eq!(status, StatusCode::OK, "{owner}");
    assert_eq!(
        (&owner["localId"], &owner["isNewUser"]),
        (&session["localId"], &json!(false))
    );
    app.advance(5 * 60 + 1);
    app.refused(
        SIGN_IN,
        with_proof(proof, "+16505550103"),
        "INVALID_TEMPORARY_PROOF",
    )
    .await;
}

/// A phone sign-in would skip second factors: an account with any cannot be signed in to
/// with its number, nor get one this way.
#[tokio::test]
async fn accounts_with_second_factors_keep_them() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("mfa@example.com").await;
    let enrolled = app.enrol_phone(&session, "+16505550104").await;
    let local_id = str_of(&session, "localId");
    let (status, body) = app
        .admin_post(
            "/v1/accounts:update",
            json!({"localId": local_id, "phoneNumber": "+16505550104"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settled().await;
    let message = "UNSUPPORTED_FIRST_FACTOR : A phone number cannot be set as a first factor on \
                   an SMS based MFA user.";
    app.refused(
        SEND,
        json!({"phoneNumber": "+16505550104", "recaptchaToken": "t"}),
        message,
    )
    .await;

    let session_info = send(&app, "+16505550105").await;
    let code = app.sms_code(&session_info).await;
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": session_info, "code": code, "idToken": enrolled["idToken"]}),
        message,
    )
    .await;
}

/// Test phone numbers take their fixed code and get no message; `REAUTH` signs in only an
/// account that exists; a disabled account is refused; tenants have accounts of their own.
#[tokio::test]
async fn test_numbers_reauthentication_disabled_accounts_and_tenants() {
    let app = TestApp::spawn().await;
    let path =
        format!("/v2/projects/{PROJECT}/config?updateMask=signIn.phoneNumber.testPhoneNumbers");
    let numbers =
        json!({"signIn": {"phoneNumber": {"testPhoneNumbers": {"+16505550199": "123456"}}}});
    let (status, body) = app.bearer_patch(&path, "owner", numbers).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session_info = send(&app, "+16505550199").await;
    let (_, codes) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/verificationCodes"
        ))
        .await;
    assert_eq!(codes, json!({"verificationCodes": []}));
    let reauth = json!({"sessionInfo": session_info, "code": "123456", "operation": "REAUTH"});
    app.refused(SIGN_IN, reauth.clone(), "USER_NOT_FOUND").await;
    let session_info = send(&app, "+16505550199").await;
    let (status, up) = app
        .post(
            SIGN_IN,
            json!({"sessionInfo": session_info, "code": "123456"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    let session_info = send(&app, "+16505550199").await;
    let reauth = json!({"sessionInfo": session_info, "code": "123456", "operation": "REAUTH"});
    let (status, again) = app.post(SIGN_IN, reauth).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["localId"], up["localId"]);

    let (status, body) = app
        .admin_post(
            "/v1/accounts:update",
            json!({"localId": up["localId"], "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session_info = send(&app, "+16505550199").await;
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": session_info, "code": "123456"}),
        "USER_DISABLED",
    )
    .await;

    let tenant = app.create_tenant("Phones").await;
    let (status, sent) = app
        .post(
            SEND,
            json!({"phoneNumber": "+16505550199", "tenantId": tenant, "recaptchaToken": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let (_, codes) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/tenants/{tenant}/verificationCodes"
        ))
        .await;
    let entry = &codes["verificationCodes"][0];
    assert_eq!(entry["sessionInfo"], sent["sessionInfo"], "{codes}");
    let code = str_of(entry, "code");
    let (status, tenant_user) = app
        .post(
            SIGN_IN,
            json!({"sessionInfo": sent["sessionInfo"], "code": code, "tenantId": tenant}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tenant_user}");
    assert_eq!(tenant_user["isNewUser"], true);
    assert_ne!(tenant_user["localId"], up["localId"]);
    assert_eq!(
        claims(str_of(&tenant_user, "idToken"))["firebase"]["tenant"],
        tenant.as_str()
    );
}

/// Every malformed request, in the emulator's order, with nothing changed.
#[tokio::test]
async fn malformed_requests_are_refused() {
    let app = TestApp::spawn().await;
    let reply = app
        .post(
            SEND,
            json!({"phoneNumber": "+16505550100", "phoneNumbr": "x"}),
        )
        .await;
    assert_google_error(
        &reply,
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"phoneNumbr\": Cannot find field.",
    );
    let invalid = "INVALID_PHONE_NUMBER : Invalid format.";
    app.refused(SEND, json!({"recaptchaToken": "t"}), invalid)
        .await;
    app.refused(SEND, json!({"phoneNumber": "6505550100"}), invalid)
        .await;
    app.refused(SIGN_IN, json!({"code": "123456"}), "MISSING_SESSION_INFO")
        .await;
    app.refused(SIGN_IN, json!({"sessionInfo": "x"}), "MISSING_CODE")
        .await;
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": "x", "code": "123456"}),
        "INVALID_SESSION_INFO",
    )
    .await;
    app.refused(
        SIGN_IN,
        json!({"temporaryProof": "p"}),
        "MISSING_PHONE_NUMBER",
    )
    .await;
    app.refused(
        SIGN_IN,
        json!({"temporaryProof": "p", "phoneNumber": "+16505550100"}),
        "INVALID_TEMPORARY_PROOF",
    )
    .await;
    // An MFA enrolment's code does not sign in.
    let session = app.verified_user("enrol@example.com").await;
    let (status, started) = app
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550106", "recaptchaToken": "t"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo");
    let code = app.sms_code(session_info).await;
    app.refused(
        SIGN_IN,
        json!({"sessionInfo": session_info, "code": code}),
        "INVALID_SESSION_INFO",
    )
    .await;
}

/// Production allows phone sign-in only where the project enabled it
/// (`signIn.phoneNumber.enabled`), and its tenants with it.
#[tokio::test]
async fn production_allows_it_where_the_project_enabled_it() {
    let app = TestApp::spawn_production().await;
    let key = app.production_api_key().await;
    let admin = app.service.create_admin_token("ops").await.unwrap();
    let config = async |mask: &str, body: Value| {
        let path = format!("/v2/projects/{PROJECT}/config?updateMask={mask}");
        let (status, reply) = app.bearer_patch(&path, &admin, body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply
    };
    let numbers =
        json!({"signIn": {"phoneNumber": {"testPhoneNumbers": {"+16505550198": "654321"}}}});
    let reply = config("signIn.phoneNumber.testPhoneNumbers", numbers).await;
    assert_eq!(reply["signIn"]["phoneNumber"]["enabled"], false);
    let send_body = json!({"phoneNumber": "+16505550198", "recaptchaToken": "t"});
    let before = app.fingerprint().await;
    let reply = app.post_with_key(SEND, &key, send_body.clone()).await;
    assert_it_error(&reply, "OPERATION_NOT_ALLOWED");
    assert_eq!(app.fingerprint().await, before);

    let enable = json!({"signIn": {"phoneNumber": {"enabled": true}}});
    let reply = config("signIn.phoneNumber.enabled", enable).await;
    assert_eq!(reply["signIn"]["phoneNumber"]["enabled"], true);
    let (status, sent) = app.post_with_key(SEND, &key, send_body).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let body = json!({"sessionInfo": sent["sessionInfo"], "code": "654321"});
    let (status, up) = app.post_with_key(SIGN_IN, &key, body).await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(up["isNewUser"], true);

    // App verification is required in production, as for phone second factors.
    let before = app.fingerprint().await;
    let reply = app
        .post_with_key(SEND, &key, json!({"phoneNumber": "+16505550198"}))
        .await;
    assert_it_error(&reply, "INVALID_APP_CREDENTIAL");
    assert_eq!(app.fingerprint().await, before);
}

/// A user a phone number signed up is one user in both dialects: ZITADEL shows it with its
/// number, and its factors (none) through the auth-factor search.
#[tokio::test]
async fn zitadel_sees_a_phone_user() {
    let app = TestApp::spawn().await;
    let up = signed_in(&app, "+16505550107").await;
    let id = str_of(&up, "localId");
    let user = v2_profile(&app, id).await;
    assert_eq!(user["userId"], id, "{user}");
    assert_eq!(user["human"]["phone"]["phone"], "+16505550107", "{user}");
    let factors = call_ok(
        &app,
        reqwest::Method::POST,
        &format!("/management/v1/users/{id}/auth_factors/_search"),
        json!({}),
    )
    .await;
    assert!(
        factors["result"].as_array().is_none_or(Vec::is_empty),
        "{factors}"
    );
}

/// A number is as good a way in as a password: an account with both may drop the password
/// (the JS SDK's `unlink(user, "password")`), and its address with it, as in the emulator; or
/// the number (`unlink(user, "phone")`).
#[tokio::test]
async fn an_account_with_a_number_may_drop_its_password() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("both@example.com", "secret12").await;
    let (status, linked) =
        use_code(&app, "+16505550108", json!({"idToken": session["idToken"]})).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    let unlink =
        |provider: &str| json!({"idToken": linked["idToken"], "deleteProvider": [provider]});
    let (status, dropped) = app.post("/v1/accounts:update", unlink("password")).await;
    assert_eq!(status, StatusCode::OK, "{dropped}");
    assert!(dropped.get("email").is_none(), "{dropped}");
    let providers: Vec<&str> = dropped["providerUserInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| str_of(p, "providerId"))
        .collect();
    assert_eq!(providers, ["phone"]);
    let user = app.admin_user(str_of(&session, "localId")).await.unwrap();
    assert!(
        user.get("email").is_none() && user.get("passwordHash").is_none(),
        "{user}"
    );
    assert_it_error(
        &app.sign_in("both@example.com", "secret12").await,
        "EMAIL_NOT_FOUND",
    );
    // The session goes on, and the number still signs in.
    let (status, _) = app.lookup(str_of(&linked, "idToken")).await;
    assert_eq!(status, StatusCode::OK);
    let again = signed_in(&app, "+16505550108").await;
    assert_eq!(again["localId"], session["localId"]);

    let (status, dropped) = app.post("/v1/accounts:update", unlink("phone")).await;
    assert_eq!(status, StatusCode::OK, "{dropped}");
    let user = app.admin_user(str_of(&session, "localId")).await.unwrap();
    assert!(user.get("phoneNumber").is_none(), "{user}");
}
