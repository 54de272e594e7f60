//! Identity Toolkit MFA: enrolment, sign-in and withdrawal of TOTP and phone factors, and
//! every rule and error of spec §4.7–§4.11. TOTP codes come from `helpers::totp`, an
//! independent implementation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tessera_core::Store;
use tessera_core::challenge::EXPIRED_RETENTION;
use tessera_store::{OpenOptions, SqlStore};

use crate::helpers::*;

const START: &str = "/v2/accounts/mfaEnrollment:start";
const FINALIZE: &str = "/v2/accounts/mfaEnrollment:finalize";
const WITHDRAW: &str = "/v2/accounts/mfaEnrollment:withdraw";
const SIGN_IN_START: &str = "/identitytoolkit.googleapis.com/v2/accounts/mfaSignIn:start";
const SIGN_IN_FINALIZE: &str = "/identitytoolkit.googleapis.com/v2/accounts/mfaSignIn:finalize";

async fn pending(app: &TestApp, email: &str) -> Value {
    let (status, body) = app.sign_in(email, "secret12").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("idToken").is_none(),
        "no tokens before the second factor: {body}"
    );
    assert!(body["mfaPendingCredential"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn totp_enrolment_sign_in_refresh_and_withdrawal() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("totp@example.com").await;

    let info = &app.start_totp(&session).await;
    let secret = str_of(info, "sharedSecretKey");
    assert_eq!(
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap()
            .len(),
        20,
        "160-bit secret"
    );
    assert_eq!(info["hashingAlgorithm"], "SHA1");
    assert_eq!(info["verificationCodeLength"], 6);
    assert_eq!(info["periodSec"], 30);
    assert!(str_of(info, "finalizeEnrollmentTime").ends_with('Z'));

    // Not listed while not ready.
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    assert!(looked["users"][0].get("mfaInfo").is_none(), "{looked}");

    let code = totp(secret, app.now());
    let (status, done) = app
        .post(
            FINALIZE,
            json!({"idToken": session["idToken"], "displayName": "Phone app",
                   "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["totpAuthInfo"], json!({}));
    let enrolled = claims(str_of(&done, "idToken"));
    assert_eq!(enrolled["firebase"]["sign_in_second_factor"], "totp");
    let factor_id = enrolled["firebase"]["second_factor_identifier"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, looked) = app.lookup(str_of(&done, "idToken")).await;
    let mfa = &looked["users"][0]["mfaInfo"][0];
    assert_eq!(mfa["mfaEnrollmentId"], factor_id.as_str());
    assert_eq!(mfa["displayName"], "Phone app");
    assert_eq!(mfa["totpInfo"], json!({}));
    assert!(mfa.get("phoneInfo").is_none());
    assert!(str_of(mfa, "enrolledAt").ends_with('Z'));

    // Sign-in now needs the second factor; the enrolment code cannot be replayed.
    let first = pending(&app, "totp@example.com").await;
    assert_eq!(first["mfaInfo"][0]["mfaEnrollmentId"], factor_id.as_str());
    assert_eq!(first["mfaInfo"][0]["totpInfo"], json!({}));
    let finalize = |code: String| {
        json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor_id,
               "totpVerificationInfo": {"verificationCode": code}})
    };
    assert_it_error(
        &app.post(SIGN_IN_FINALIZE, finalize(code.clone())).await,
        "INVALID_CODE",
    );
    app.advance(30);
    let (status, signed_in) = app
        .post(SIGN_IN_FINALIZE, finalize(totp(secret, app.now())))
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let c = claims(str_of(&signed_in, "idToken"));
    assert_eq!(c["firebase"]["sign_in_second_factor"], "totp");
    assert_eq!(
        c["firebase"]["second_factor_identifier"],
        factor_id.as_str()
    );
    assert_eq!(c["firebase"]["sign_in_provider"], "password");
    assert_it_error(
        &app.post(SIGN_IN_FINALIZE, finalize(totp(secret, app.now())))
            .await,
        "INVALID_MFA_PENDING_CREDENTIAL",
    );

    // The second-factor claims survive a refresh.
    let (status, refreshed) = app.refresh(str_of(&signed_in, "refreshToken")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(
        claims(str_of(&refreshed, "id_token"))["firebase"]["sign_in_second_factor"],
        "totp"
    );

    let (status, withdrawn) = app
        .post(
            WITHDRAW,
            json!({"idToken": signed_in["idToken"], "mfaEnrollmentId": factor_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert!(
        claims(str_of(&withdrawn, "idToken"))["firebase"]
            .get("sign_in_second_factor")
            .is_none()
    );
    let (_, looked) = app.lookup(str_of(&withdrawn, "idToken")).await;
    assert!(looked["users"][0].get("mfaInfo").is_none());
    let (status, plain) = app.sign_in("totp@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain["idToken"].is_string(), "single factor again: {plain}");
    assert_it_error(
        &app.post(
            WITHDRAW,
            json!({"idToken": withdrawn["idToken"], "mfaEnrollmentId": factor_id}),
        )
        .await,
        "MFA_ENROLLMENT_NOT_FOUND",
    );
}

#[tokio::test]
async fn phone_enrolment_and_sign_in_through_the_dev_outbox() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("phone@example.com").await;
    let (status, started) = app
        .post(START, json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550165"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&session_info).await;
    assert_eq!(code.len(), 6);

    let finalize = |code: &str| {
        json!({"idToken": session["idToken"], "displayName": "Work phone",
               "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}})
    };
    assert_it_error(
        &app.post(FINALIZE, finalize("000000")).await,
        "INVALID_CODE",
    );
    // An Android instant-verification proof is accepted and ignored: it never stands in for
    // the code.
    let mut with_proof = finalize("000000");
    with_proof["phoneVerificationInfo"]["androidVerificationProof"] = json!("AM5PThB-proof");
    assert_it_error(&app.post(FINALIZE, with_proof).await, "INVALID_CODE");
    let (status, done) = app.post(FINALIZE, finalize(&code)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["phoneAuthInfo"]["phoneNumber"], "+16505550165");
    assert_eq!(
        claims(str_of(&done, "idToken"))["firebase"]["sign_in_second_factor"],
        "phone"
    );
    let (_, codes) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/verificationCodes"
        ))
        .await;
    assert_eq!(
        codes,
        json!({"verificationCodes": []}),
        "a used code leaves the list"
    );
    assert_it_error(
        &app.post(FINALIZE, finalize(&code)).await,
        "INVALID_SESSION_INFO",
    );

    let (_, looked) = app.lookup(str_of(&done, "idToken")).await;
    let mfa = &looked["users"][0]["mfaInfo"][0];
    assert_eq!(mfa["phoneInfo"], "+16505550165");
    assert_eq!(mfa["unobfuscatedPhoneInfo"], "+16505550165");

    let first = pending(&app, "phone@example.com").await;
    assert_eq!(
        first["mfaInfo"][0]["phoneInfo"], "+*******0165",
        "masked in sign-in hints"
    );
    let factor_id = first["mfaInfo"][0]["mfaEnrollmentId"].clone();
    let (status, sent) = app
        .post(
            SIGN_IN_START,
            json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor_id,
                   "phoneSignInInfo": {"recaptchaToken": "t"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let sign_in_session = str_of(&sent["phoneResponseInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&sign_in_session).await;
    let (status, signed_in) = app
        .post(
            SIGN_IN_FINALIZE,
            json!({"mfaPendingCredential": first["mfaPendingCredential"],
                   "phoneVerificationInfo": {"sessionInfo": sign_in_session, "code": code, "phoneNumber": "+*******0165"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let c = claims(str_of(&signed_in, "idToken"));
    assert_eq!(c["firebase"]["sign_in_second_factor"], "phone");
    assert_eq!(c["firebase"]["second_factor_identifier"], factor_id);
}

#[tokio::test]
async fn enrolment_preconditions_and_errors_change_nothing() {
    let app = TestApp::spawn().await;
    let unverified = app.sign_up("unverified@example.com", "secret12").await;
    let session = app.verified_user("rules@example.com").await;
    app.enrol_phone(&session, "+16505550100").await;
    let (_, anonymous) = app.post("/v1/accounts:signUp", json!({})).await;
    let before = app.fingerprint().await;
    let t = session["idToken"].clone();
    let cases = [
        (json!({"totpEnrollmentInfo": {}}), "MISSING_ID_TOKEN"),
        (
            json!({"idToken": "junk", "totpEnrollmentInfo": {}}),
            "INVALID_ID_TOKEN",
        ),
        (
            json!({"idToken": unverified["idToken"], "totpEnrollmentInfo": {}}),
            "UNVERIFIED_EMAIL : Need to verify email first before enrolling second factors.",
        ),
        (
            json!({"idToken": anonymous["idToken"], "totpEnrollmentInfo": {}}),
            "UNSUPPORTED_FIRST_FACTOR : MFA is not available for the given first factor.",
        ),
        // Who may enrol is settled before the request's own fields are read.
        (
            json!({"idToken": unverified["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "bad"}}),
            "UNVERIFIED_EMAIL : Need to verify email first before enrolling second factors.",
        ),
        (
            json!({"idToken": unverified["idToken"]}),
            "UNVERIFIED_EMAIL : Need to verify email first before enrolling second factors.",
        ),
        (
            json!({"idToken": anonymous["idToken"], "phoneEnrollmentInfo": {}}),
            "UNSUPPORTED_FIRST_FACTOR : MFA is not available for the given first factor.",
        ),
        (
            json!({"idToken": t}),
            "INVALID_ARGUMENT : Exactly one of phoneEnrollmentInfo and totpEnrollmentInfo must be set.",
        ),
        (
            json!({"idToken": t, "phoneEnrollmentInfo": {}}),
            "INVALID_PHONE_NUMBER : Invalid format.",
        ),
        (
            json!({"idToken": t, "phoneEnrollmentInfo": {"phoneNumber": "6505550100"}}),
            "INVALID_PHONE_NUMBER : Invalid format.",
        ),
        (
            json!({"idToken": t, "phoneEnrollmentInfo": {"phoneNumber": "+16505550100"}}),
            "SECOND_FACTOR_EXISTS : Phone number already enrolled as second factor for this account.",
        ),
    ];
    for (body, message) in cases {
        assert_it_error(&app.post(START, body).await, message);
    }
    let finalize_cases = [
        (
            json!({"idToken": t}),
            "INVALID_ARGUMENT : Exactly one of phoneVerificationInfo and totpVerificationInfo must be set.",
        ),
        (
            json!({"idToken": t, "phoneVerificationInfo": {"code": "123456"}}),
            "MISSING_SESSION_INFO",
        ),
        (
            json!({"idToken": t, "phoneVerificationInfo": {"sessionInfo": "x"}}),
            "MISSING_CODE",
        ),
        // The code is looked for first, as in the emulator (the JS SDK: auth/missing-code).
        (
            json!({"idToken": t, "phoneVerificationInfo": {}}),
            "MISSING_CODE",
        ),
        (
            json!({"idToken": t, "totpVerificationInfo": {}}),
            "MISSING_CODE",
        ),
        // Android's instant-verification proof does not replace the code: Tessera never issues
        // the temporary proofs it stands for.
        (
            json!({"idToken": t, "phoneVerificationInfo": {"sessionInfo": "x", "androidVerificationProof": "p"}}),
            "MISSING_CODE",
        ),
        (
            json!({"idToken": t, "phoneVerificationInfo": {"sessionInfo": "unknown", "code": "123456"}}),
            "INVALID_SESSION_INFO",
        ),
        (
            json!({"idToken": t, "totpVerificationInfo": {"sessionInfo": "unknown", "verificationCode": "123456"}}),
            "INVALID_SESSION_INFO",
        ),
        (
            json!({"idToken": t, "totpVerificationInfo": {"sessionInfo": "x"}}),
            "MISSING_CODE",
        ),
    ];
    for (body, message) in finalize_cases {
        assert_it_error(&app.post(FINALIZE, body).await, message);
    }
    assert_it_error(
        &app.post(WITHDRAW, json!({"idToken": t, "mfaEnrollmentId": "nope"}))
            .await,
        "MFA_ENROLLMENT_NOT_FOUND",
    );
    assert_it_error(
        &app.post(WITHDRAW, json!({"idToken": t})).await,
        "MFA_ENROLLMENT_NOT_FOUND",
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn sms_codes_expire_and_allow_five_wrong_tries() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("sms@example.com").await;
    let start = || json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550111"}});
    let finalize = |session_info: &str, code: &str| json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}});

    let (_, started) = app.post(START, start()).await;
    let expiring = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&expiring).await;
    app.advance(5 * 60 + 1);
    assert_it_error(
        &app.post(FINALIZE, finalize(&expiring, &code)).await,
        "SESSION_EXPIRED",
    );

    let (_, started) = app.post(START, start()).await;
    let guessed = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&guessed).await;
    let wrong = if code == "999999" { "000000" } else { "999999" };
    for _ in 0..5 {
        assert_it_error(
            &app.post(FINALIZE, finalize(&guessed, wrong)).await,
            "INVALID_CODE",
        );
    }
    assert_it_error(
        &app.post(FINALIZE, finalize(&guessed, &code)).await,
        "SESSION_EXPIRED",
    );
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    assert!(
        looked["users"][0].get("mfaInfo").is_none(),
        "nothing enrolled"
    );
}

#[tokio::test]
async fn concurrent_submissions_of_one_code_succeed_once() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("race@example.com").await;
    let (_, started) = app
        .post(START, json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550122"}}))
        .await;
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&session_info).await;
    let body = json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}});
    let replies = app.concurrently(FINALIZE, vec![body; 8]).await;
    assert_eq!(
        replies.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{replies:?}"
    );

    // The same for one TOTP code at sign-in, from eight pending sign-ins at once.
    let (secret, _) = app.enrol_totp(&session).await;
    app.advance(30);
    let code = totp(&secret, app.now());
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    let totp_id = looked["users"][0]["mfaInfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f.get("totpInfo").is_some())
        .map(|f| f["mfaEnrollmentId"].clone())
        .unwrap();
    let mut bodies = Vec::new();
    for _ in 0..8 {
        let first = pending(&app, "race@example.com").await;
        bodies.push(json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": totp_id,
                           "totpVerificationInfo": {"verificationCode": code}}));
    }
    let statuses = app.concurrently(SIGN_IN_FINALIZE, bodies).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
}

/// A user has one unfinished TOTP enrolment, whichever dialect starts it: eight starts at once,
/// half of them ZITADEL's `RegisterTOTP`, leave one (on PostgreSQL each start's delete missed
/// the others' inserts, and every one stayed), and exactly one of the eight secrets enrols.
#[tokio::test]
async fn concurrent_totp_starts_of_both_dialects_leave_one_enrolment() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("twice@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let requests = (0..8).map(|i| {
        if i % 2 == 0 {
            app.client
                .post(app.url(&format!("{START}?key={KEY}")))
                .json(&json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}))
        } else {
            app.client
                .post(app.url(&format!("/v2/users/{user}/totp")))
                .bearer_auth(app.pat())
                .json(&json!({}))
        }
    });
    let started = TestApp::all_at_once(requests.collect()).await;
    assert!(
        started.iter().all(|(status, _)| *status == StatusCode::OK),
        "{started:?}"
    );
    let pool = app.db().await;
    let (unfinished,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM factors WHERE user_id = $1 AND kind = 'totp' AND state = 'not_ready'",
    )
    .bind(&user)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(unfinished, 1);

    // Each start's own way to finish: the replaced ones find nothing to finish (a ZITADEL
    // verification may also try its code on the survivor first, and fail).
    let mut enrolled = 0;
    for (_, body) in &started {
        let reply = match body.get("totpSessionInfo") {
            Some(info) => {
                let code = totp(str_of(info, "sharedSecretKey"), app.now());
                let finish = json!({"idToken": session["idToken"],
                    "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": code}});
                let reply = app.post(FINALIZE, finish).await;
                if reply.0 != StatusCode::OK {
                    assert_it_error(&reply, "INVALID_SESSION_INFO");
                }
                reply
            }
            None => {
                let code = totp(str_of(body, "secret"), app.now());
                let verify = format!("/v2/users/{user}/totp/verify");
                let reply = app
                    .zitadel(
                        Method::POST,
                        &verify,
                        &app.pat(),
                        None,
                        Some(json!({"code": code})),
                    )
                    .await;
                if reply.1["details"][0]["id"] == "EVENT-8isk2" {
                    assert_zitadel_error(&reply, 400, 3, "Invalid code", "EVENT-8isk2");
                } else if reply.0 != StatusCode::OK {
                    let ready = "Errors.Users.MFA.OTP.AlreadyReady";
                    assert_zitadel_error(&reply, 400, 9, ready, "COMMAND-qx4ls");
                }
                reply
            }
        };
        enrolled += usize::from(reply.0 == StatusCode::OK);
    }
    assert_eq!(enrolled, 1);
}

#[tokio::test]
async fn second_factor_sign_in_errors() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("si@example.com").await;
    let (secret, _) = app.enrol_totp(&session).await;
    app.enrol_phone(&session, "+16505550133").await;
    let first = pending(&app, "si@example.com").await;
    let credential = first["mfaPendingCredential"].clone();
    let factors = first["mfaInfo"].as_array().unwrap();
    let totp_id = factors
        .iter()
        .find(|f| f.get("totpInfo").is_some())
        .unwrap()["mfaEnrollmentId"]
        .clone();
    let before = app.fingerprint().await;

    let start_cases = [
        (
            json!({"mfaEnrollmentId": totp_id}),
            "MISSING_MFA_PENDING_CREDENTIAL : Request does not have MFA pending credential.",
        ),
        (
            json!({"mfaPendingCredential": credential}),
            "MISSING_MFA_ENROLLMENT_ID : No second factor identifier is provided.",
        ),
        (
            json!({"mfaPendingCredential": "forged", "mfaEnrollmentId": totp_id}),
            "INVALID_MFA_PENDING_CREDENTIAL",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": "nope"}),
            "MFA_ENROLLMENT_NOT_FOUND",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": totp_id}),
            "INVALID_ARGUMENT : MFA provider not supported!",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": totp_id, "tenantId": "other"}),
            "TENANT_ID_MISMATCH",
        ),
    ];
    for (body, message) in start_cases {
        assert_it_error(&app.post(SIGN_IN_START, body).await, message);
    }
    let finalize_cases = [
        (
            json!({"totpVerificationInfo": {"verificationCode": "123456"}}),
            "MISSING_CREDENTIAL : Please set MFA Pending Credential.",
        ),
        (
            json!({"mfaPendingCredential": credential}),
            "INVALID_ARGUMENT : MFA provider not supported!",
        ),
        (
            json!({"mfaPendingCredential": credential, "totpVerificationInfo": {"verificationCode": "123456"}}),
            "MISSING_MFA_ENROLLMENT_ID : No second factor identifier is provided.",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": totp_id, "totpVerificationInfo": {}}),
            "MISSING_CODE",
        ),
        (
            json!({"mfaPendingCredential": credential, "phoneVerificationInfo": {"code": "1"}}),
            "MISSING_SESSION_INFO",
        ),
        (
            json!({"mfaPendingCredential": credential, "phoneVerificationInfo": {"sessionInfo": "s"}}),
            "MISSING_CODE",
        ),
        (
            json!({"mfaPendingCredential": credential, "phoneVerificationInfo": {}}),
            "MISSING_CODE",
        ),
        (
            json!({"mfaPendingCredential": credential, "phoneVerificationInfo": {"sessionInfo": "s", "code": "123456"}}),
            "INVALID_SESSION_INFO",
        ),
        (
            json!({"mfaPendingCredential": "forged", "mfaEnrollmentId": totp_id, "totpVerificationInfo": {"verificationCode": "123456"}}),
            "INVALID_MFA_PENDING_CREDENTIAL",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": "nope", "totpVerificationInfo": {"verificationCode": "123456"}}),
            "MFA_ENROLLMENT_NOT_FOUND",
        ),
        (
            json!({"mfaPendingCredential": credential, "mfaEnrollmentId": totp_id, "tenantId": "other", "totpVerificationInfo": {"verificationCode": "123456"}}),
            "TENANT_ID_MISMATCH",
        ),
    ];
    for (body, message) in finalize_cases {
        assert_it_error(&app.post(SIGN_IN_FINALIZE, body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);

    // Five wrong TOTP codes kill the pending sign-in; a pending sign-in expires in ten minutes.
    let totp_body = |credential: &Value, code: String| json!({"mfaPendingCredential": credential, "mfaEnrollmentId": totp_id, "totpVerificationInfo": {"verificationCode": code}});
    for _ in 0..5 {
        assert_it_error(
            &app.post(SIGN_IN_FINALIZE, totp_body(&credential, "000000".into()))
                .await,
            "INVALID_CODE",
        );
    }
    app.advance(30);
    assert_it_error(
        &app.post(
            SIGN_IN_FINALIZE,
            totp_body(&credential, totp(&secret, app.now())),
        )
        .await,
        "INVALID_MFA_PENDING_CREDENTIAL",
    );
    let fresh = pending(&app, "si@example.com").await;
    app.advance(10 * 60 + 1);
    assert_it_error(
        &app.post(
            SIGN_IN_FINALIZE,
            totp_body(&fresh["mfaPendingCredential"], totp(&secret, app.now())),
        )
        .await,
        "INVALID_MFA_PENDING_CREDENTIAL",
    );
}

#[tokio::test]
async fn at_most_five_factors() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("five@example.com").await;
    for i in 0..5 {
        app.enrol_phone(&session, &format!("+1650555020{i}")).await;
    }
    assert_it_error(
        &app.post(START, json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550299"}})).await,
        "SECOND_FACTOR_LIMIT_EXCEEDED",
    );
    assert_it_error(
        &app.post(
            START,
            json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await,
        "SECOND_FACTOR_LIMIT_EXCEEDED",
    );
}

/// Starts a TOTP enrolment; returns (sessionInfo, shared secret).
async fn start_totp(app: &TestApp, session: &Value) -> (String, String) {
    let info = app.start_totp(session).await;
    (
        str_of(&info, "sessionInfo").to_owned(),
        str_of(&info, "sharedSecretKey").to_owned(),
    )
}

/// The user's factors by state, as stored.
async fn factor_states(app: &TestApp, user: &str) -> Vec<(String, i64)> {
    let pool = app.db().await;
    let states = sqlx::query_as(
        "SELECT state, COUNT(*) FROM factors WHERE user_id = $1 GROUP BY state ORDER BY state",
    )
    .bind(user)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    states
}

/// What code checks have counted: attempts left on challenges, failures on factors.
async fn attempts_counted(app: &TestApp) -> (i64, i64) {
    let pool = app.db().await;
    let counted = sqlx::query_as(
        "SELECT (SELECT CAST(COALESCE(SUM(attempts_left), 0) AS BIGINT) FROM challenges), \
         (SELECT CAST(COALESCE(SUM(consecutive_failures), 0) AS BIGINT) FROM factors)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    counted
}

/// A user has one TOTP enrolment in progress at most, whichever dialect started it: each start
/// or ZITADEL registration replaces the one before, which is what bounds the not-ready factors
/// of a user who starts and never finishes.
#[tokio::test]
async fn a_totp_start_or_registration_replaces_the_users_unfinished_one() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("replace@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let pending_in_zitadel = async || {
        let search = format!(
            "/v2/users/{user}/authentication_factors/_search?states=AUTH_FACTOR_STATE_NOT_READY&authFactors=OTP"
        );
        let (status, body) = app.zitadel(Method::POST, &search, &pat, None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["result"].as_array().map_or(0, Vec::len)
    };
    let register = async || {
        let path = format!("/v2/users/{user}/totp");
        let (status, body) = app
            .zitadel(Method::POST, &path, &pat, None, Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    };
    let finalize = |(session_info, secret): &(String, String)| json!({"idToken": session["idToken"], "totpVerificationInfo": {"sessionInfo": session_info, "verificationCode": totp(secret, app.now())}});

    register().await;
    let replaced = start_totp(&app, &session).await;
    let expiring = start_totp(&app, &session).await;
    assert_eq!(pending_in_zitadel().await, 1);
    assert_eq!(
        factor_states(&app, &user).await,
        [("not_ready".to_owned(), 1)]
    );
    // A replaced enrolment cannot be finished, even with the right code, and takes no attempt;
    // past its window, the one that replaced it is expired.
    let before = (app.fingerprint().await, attempts_counted(&app).await);
    assert_it_error(
        &app.post(FINALIZE, finalize(&replaced)).await,
        "INVALID_SESSION_INFO",
    );
    app.advance(10 * 60 + 1);
    assert_it_error(
        &app.post(FINALIZE, finalize(&expiring)).await,
        "SESSION_EXPIRED",
    );
    assert_eq!(
        (app.fingerprint().await, attempts_counted(&app).await),
        before
    );

    // Registering through ZITADEL replaces it in turn; a start replaces that registration, and
    // ZITADEL verifies what Identity Toolkit started.
    register().await;
    let (_, secret) = start_totp(&app, &session).await;
    assert_eq!(pending_in_zitadel().await, 1);
    let verify = format!("/v2/users/{user}/totp/verify");
    let code = json!({"code": totp(&secret, app.now())});
    let (status, body) = app
        .zitadel(Method::POST, &verify, &pat, None, Some(code))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(pending_in_zitadel().await, 0);
    assert_eq!(factor_states(&app, &user).await, [("ready".to_owned(), 1)]);
}

/// Codes, pending sign-ins, and messages linked to a code: how many the store holds.
async fn outstanding(app: &TestApp) -> (i64, i64, i64) {
    let pool = app.db().await;
    let counted = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM challenges), (SELECT COUNT(*) FROM pending_sign_ins), \
         (SELECT COUNT(*) FROM challenges WHERE delivery_id IS NOT NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    counted
}

/// Starts a phone enrolment with a fresh ID token; the session info and its code.
async fn start_phone_enrolment(app: &TestApp, email: &str) -> (String, String, Value) {
    let (status, session) = app.sign_in(email, "secret12").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, started) = app
        .post(
            START,
            json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550144"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&session_info).await;
    (session_info, code, session)
}

/// The delivery worker's sweep (every ten minutes) deletes codes and pending sign-ins a day
/// after they expire, and the codes leave the dev outbox; until then an expired code still
/// answers SESSION_EXPIRED, and afterwards it is unknown. The messages stay, for operators.
#[tokio::test]
async fn expired_codes_and_pending_sign_ins_are_deleted_a_day_later() {
    let app = TestApp::spawn().await;
    app.verified_user("codes@example.com").await;
    let with_mfa = app.verified_user("pending@example.com").await;
    app.enrol_totp(&with_mfa).await;
    let (old_info, old_code, _) = start_phone_enrolment(&app, "codes@example.com").await;
    pending(&app, "pending@example.com").await;
    assert_eq!(outstanding(&app).await, (2, 1, 1));

    app.advance(EXPIRED_RETENTION.whole_seconds());
    let (new_info, new_code, session) = start_phone_enrolment(&app, "codes@example.com").await;
    pending(&app, "pending@example.com").await;
    assert_eq!(outstanding(&app).await, (3, 2, 2));

    // Everything of the first day expired more than a day ago; the second day's expired
    // minutes ago.
    app.advance(11 * 60);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while outstanding(&app).await != (1, 1, 1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never swept: {:?}",
            outstanding(&app).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, outbox) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/verificationCodes"
        ))
        .await;
    let listed: Vec<&Value> = outbox["verificationCodes"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(listed.len(), 1, "{outbox}");
    assert_eq!(listed[0]["sessionInfo"], new_info.as_str());
    let before = app.fingerprint().await;
    let finalize = |session_info: &str, code: &str| json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}});
    assert_it_error(
        &app.post(FINALIZE, finalize(&new_info, &new_code)).await,
        "SESSION_EXPIRED",
    );
    assert_it_error(
        &app.post(FINALIZE, finalize(&old_info, &old_code)).await,
        "INVALID_SESSION_INFO",
    );
    assert_eq!(app.fingerprint().await, before);
}

/// The sweep deletes expired codes and pending sign-ins a chunk per transaction, so that a
/// backlog never holds SQLite's writer for long, and says when there may be more; what has
/// not expired stays.
#[tokio::test]
async fn expired_codes_are_deleted_a_chunk_per_transaction() {
    let app = TestApp::spawn().await;
    app.verified_user("codes@example.com").await;
    let with_mfa = app.verified_user("pending@example.com").await;
    app.enrol_totp(&with_mfa).await;
    start_phone_enrolment(&app, "codes@example.com").await;
    pending(&app, "pending@example.com").await;
    assert_eq!(outstanding(&app).await, (2, 1, 1));

    let store = SqlStore::open(app.config.database_url().expose(), &OpenOptions::default())
        .await
        .unwrap();
    let now = tessera_core::Clock::now(app.clock.as_ref());
    assert!(!store.delete_expired(now, 1).await.unwrap());
    assert_eq!(outstanding(&app).await, (2, 1, 1));
    let later = now + EXPIRED_RETENTION;
    let mut swept = Vec::new();
    loop {
        let more = store.delete_expired(later, 1).await.unwrap();
        let (codes, pending, _) = outstanding(&app).await;
        swept.push((more, codes, pending));
        if !more {
            break;
        }
    }
    assert_eq!(swept, [(true, 1, 0), (true, 0, 0), (false, 0, 0)]);
    store.close().await;
}
