//! Brute-force protection (README "Security"): the per-factor soft lock with its doubling
//! back-off and the bound of 100 consecutive failures, in both dialects and in dev mode; the
//! per-user and per-IP limits on failed verifications, shared by nodes through the database;
//! and every failure recorded as an event while a refused request changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_server::http::ClientIpSource;
use tessera_server::service::{FailureLimits, Limit};

use crate::helpers::*;

const SIGN_IN_FINALIZE: &str = "/identitytoolkit.googleapis.com/v2/accounts/mfaSignIn:finalize";
const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const TOO_MANY: &str = "TOO_MANY_ATTEMPTS_TRY_LATER";
const LOCKED: &str = "Too many failed attempts, try again later";

/// kind, user, factor, detail.
type EventRow = (String, Option<String>, Option<String>, Option<String>);

/// A six-digit code no window around `t` accepts.
fn wrong(secret: &str, t: i64) -> String {
    let near: Vec<String> = (-3..=3).map(|k| totp(secret, t + 30 * k)).collect();
    ["000000", "111111", "222222"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_owned()
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = $1")
        .bind(kind)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

async fn all_events(app: &TestApp) -> i64 {
    let pool = app.db().await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

async fn pending(app: &TestApp, email: &str) -> String {
    let (status, body) = app.sign_in(email, "secret12").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    str_of(&body, "mfaPendingCredential").to_owned()
}

async fn finalize_totp(app: &TestApp, pending: &str, factor: &str, code: &str) -> Reply {
    app.post(
        SIGN_IN_FINALIZE,
        json!({"mfaPendingCredential": pending, "mfaEnrollmentId": factor,
               "totpVerificationInfo": {"verificationCode": code}}),
    )
    .await
}

/// A ZITADEL request with extra headers, on any node.
async fn zitadel_with(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Reply {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.pat())
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    TestApp::reply(request.send().await.unwrap()).await
}

/// A ZITADEL user with a pending TOTP registration; returns (user id, secret).
async fn registered(app: &TestApp, email: &str) -> (String, String) {
    let (status, created) = zitadel_with(
        app,
        Method::POST,
        "/v2/users/human",
        &[],
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": email, "isVerified": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    let (status, body) = zitadel_with(
        app,
        Method::POST,
        &format!("/v2/users/{user}/totp"),
        &[],
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (user, str_of(&body, "secret").to_owned())
}

async fn verify(app: &TestApp, user: &str, code: &str, ip: &str) -> Reply {
    zitadel_with(
        app,
        Method::POST,
        &format!("/v2/users/{user}/totp/verify"),
        &[("x-forwarded-for", ip)],
        json!({"code": code}),
    )
    .await
}

fn assert_locked(reply: &Reply) {
    assert_zitadel_error(reply, 429, 8, LOCKED, "TESSERA-LIM02");
}

fn assert_invalid(reply: &Reply) {
    assert_zitadel_error(reply, 400, 3, "Invalid code", "EVENT-8isk2");
}

#[tokio::test]
async fn identity_toolkit_totp_locks_after_five_failures_backs_off_and_resets_on_success() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("lock@example.com").await;
    let (secret, _) = app.enrol_totp(&session).await;
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    let factor = str_of(&looked["users"][0]["mfaInfo"][0], "mfaEnrollmentId").to_owned();
    app.advance(30);

    let first = pending(&app, "lock@example.com").await;
    for _ in 0..5 {
        let reply = finalize_totp(&app, &first, &factor, &wrong(&secret, app.now())).await;
        assert_it_error(&reply, "INVALID_CODE");
    }
    assert_eq!(events(&app, "factor.verification_failed").await, 5);
    assert_eq!(events(&app, "factor.locked").await, 1);

    // Locked for 30 s: even the right code is refused, and the refusal changes nothing.
    let second = pending(&app, "lock@example.com").await;
    let (before, logged) = (app.fingerprint().await, all_events(&app).await);
    let reply = finalize_totp(&app, &second, &factor, &totp(&secret, app.now())).await;
    assert_it_error(&reply, TOO_MANY);
    app.advance(29);
    let reply = finalize_totp(&app, &second, &factor, &totp(&secret, app.now())).await;
    assert_it_error(&reply, TOO_MANY);
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(all_events(&app).await, logged);

    // The back-off is over: the same pending sign-in (it lost no attempt) succeeds.
    app.advance(1);
    let (status, done) = finalize_totp(&app, &second, &factor, &totp(&secret, app.now())).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(events(&app, "factor.unlocked").await, 1);

    // The success reset the count: four more failures do not lock, the right code works.
    app.advance(30);
    let third = pending(&app, "lock@example.com").await;
    for _ in 0..4 {
        let reply = finalize_totp(&app, &third, &factor, &wrong(&secret, app.now())).await;
        assert_it_error(&reply, "INVALID_CODE");
    }
    let (status, done) = finalize_totp(&app, &third, &factor, &totp(&secret, app.now())).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(events(&app, "factor.locked").await, 1);

    // Five more lock it again for 30 s (the count started over), not for a minute.
    app.advance(30);
    for _ in 0..5 {
        let fresh = pending(&app, "lock@example.com").await;
        let reply = finalize_totp(&app, &fresh, &factor, &wrong(&secret, app.now())).await;
        assert_it_error(&reply, "INVALID_CODE");
    }
    let fresh = pending(&app, "lock@example.com").await;
    let reply = finalize_totp(&app, &fresh, &factor, &totp(&secret, app.now())).await;
    assert_it_error(&reply, TOO_MANY);
    app.advance(30);
    let (status, _) = finalize_totp(&app, &fresh, &factor, &totp(&secret, app.now())).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn identity_toolkit_phone_sign_in_locks_the_factor_across_challenges() {
    // No worker: the fingerprints compare the outbox, which it would change meanwhile.
    let app = TestApp::spawn_with(|c| c.delivery.worker = false).await;
    let session = app.verified_user("phone@example.com").await;
    app.enrol_phone(&session, "+15555550123").await;
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    let factor = str_of(&looked["users"][0]["mfaInfo"][0], "mfaEnrollmentId").to_owned();
    let start = |pending: String| {
        let factor = factor.clone();
        let app = &app;
        async move {
            let (status, body) = app
                .post(
                    "/identitytoolkit.googleapis.com/v2/accounts/mfaSignIn:start",
                    json!({"mfaPendingCredential": pending, "mfaEnrollmentId": factor,
                           "phoneSignInInfo": {"recaptchaToken": "t"}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            str_of(&body["phoneResponseInfo"], "sessionInfo").to_owned()
        }
    };
    let finalize = |pending: &str, session_info: &str, code: &str| {
        app.post(
            SIGN_IN_FINALIZE,
            json!({"mfaPendingCredential": pending,
                   "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
        )
    };
    let before_failures = events(&app, "factor.verification_failed").await;
    let credential = pending(&app, "phone@example.com").await;
    let session_info = start(credential.clone()).await;
    let code = app.sms_code(&session_info).await;
    let bad = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let before = app.fingerprint().await;
        assert_it_error(
            &finalize(&credential, &session_info, bad).await,
            "INVALID_CODE",
        );
        assert_eq!(
            app.fingerprint().await,
            before,
            "only the failure is recorded"
        );
    }
    assert_eq!(
        events(&app, "factor.verification_failed").await - before_failures,
        5
    );
    // A new code for the locked factor does not help until the back-off is over.
    let session_info = start(credential.clone()).await;
    let code = app.sms_code(&session_info).await;
    assert_it_error(&finalize(&credential, &session_info, &code).await, TOO_MANY);
    app.advance(30);
    let (status, body) = finalize(&credential, &session_info, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn zitadel_totp_verification_and_session_checks_lock_per_factor() {
    let app = TestApp::spawn().await;
    let (user, secret) = registered(&app, "zl@example.com").await;
    for _ in 0..5 {
        assert_invalid(&verify(&app, &user, &wrong(&secret, app.now()), "127.0.0.1").await);
    }
    let before = app.fingerprint().await;
    assert_locked(&verify(&app, &user, &totp(&secret, app.now()), "127.0.0.1").await);
    assert_eq!(app.fingerprint().await, before);
    app.advance(30);
    let (status, body) = verify(&app, &user, &totp(&secret, app.now()), "127.0.0.1").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Session checks: five wrong TOTP codes lock TOTP; OTP SMS, another factor, still works.
    let (status, created) = zitadel_with(
        &app,
        Method::POST,
        "/v2/users/human",
        &[],
        json!({"profile": {"givenName": "Eve", "familyName": "X"},
               "email": {"email": "eve@example.com", "isVerified": true},
               "phone": {"phone": "+15550100009", "isVerified": true},
               "totpSecret": SECRET}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let eve = str_of(&created, "userId").to_owned();
    let (status, _) = zitadel_with(
        &app,
        Method::POST,
        &format!("/v2/users/{eve}/otp_sms"),
        &[],
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = zitadel_with(
        &app,
        Method::POST,
        "/v2/sessions",
        &[],
        json!({"checks": {"user": {"userId": eve}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session = str_of(&created, "sessionId").to_owned();
    let path = format!("/v2/sessions/{session}");
    for _ in 0..5 {
        let reply = zitadel_with(
            &app,
            Method::PATCH,
            &path,
            &[],
            json!({"checks": {"totp": {"code": wrong(SECRET, app.now())}}}),
        )
        .await;
        assert_invalid(&reply);
    }
    let reply = zitadel_with(
        &app,
        Method::PATCH,
        &path,
        &[],
        json!({"checks": {"totp": {"code": totp(SECRET, app.now())}}}),
    )
    .await;
    assert_locked(&reply);
    let (_, challenged) = zitadel_with(
        &app,
        Method::PATCH,
        &path,
        &[],
        json!({"challenges": {"otpSms": {"returnCode": true}}}),
    )
    .await;
    let code = str_of(&challenged["challenges"], "otpSms").to_owned();
    let bad = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let reply = zitadel_with(
        &app,
        Method::PATCH,
        &path,
        &[],
        json!({"checks": {"otpSms": {"code": bad}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "CODE-woT0xc");
    let (status, body) = zitadel_with(
        &app,
        Method::PATCH,
        &path,
        &[],
        json!({"checks": {"otpSms": {"code": code}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Each failure is an event naming its user and factor.
    let pool = app.db().await;
    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT user_id, factor_id FROM events WHERE kind = 'factor.verification_failed' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), 11, "{rows:?}");
    assert!(
        rows[..5]
            .iter()
            .all(|(u, f)| u.as_deref() == Some(&user) && f.is_some())
    );
    assert!(
        rows[5..]
            .iter()
            .all(|(u, f)| u.as_deref() == Some(&eve) && f.is_some())
    );
    assert_ne!(
        rows[5].1, rows[10].1,
        "TOTP and OTP SMS are different factors"
    );
}

#[tokio::test]
async fn never_more_than_a_hundred_consecutive_failures_are_evaluated() {
    let app = TestApp::spawn().await;
    let other = app.another_node(|_| {}).await;
    let (user, secret) = registered(&app, "hundred@example.com").await;
    let mut evaluated = 0;
    let mut refused = 0;
    // Sequentially to 95 failures, waiting out each back-off with the clock.
    while evaluated < 95 {
        let reply = verify(&app, &user, &wrong(&secret, app.now()), "127.0.0.1").await;
        match reply.0 {
            StatusCode::BAD_REQUEST => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                app.advance(3600);
            }
            _ => panic!("{reply:?}"),
        }
    }
    assert_eq!(refused, 18, "a lock after every fifth failure but the last");
    app.advance(3600);
    // Twenty at once on two nodes: five more are evaluated, and no more than that, ever.
    let requests = (0..20).map(|i| {
        let url = if i % 2 == 0 { &app.base } else { &other.base };
        app.client
            .post(format!("{url}/v2/users/{user}/totp/verify"))
            .bearer_auth(app.pat())
            .json(&json!({"code": wrong(&secret, app.now())}))
    });
    let replies = TestApp::all_at_once(requests.collect()).await;
    let statuses: Vec<StatusCode> = replies.into_iter().map(|(status, _)| status).collect();
    let wrong_codes = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!(wrong_codes, 5, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::BAD_REQUEST, StatusCode::TOO_MANY_REQUESTS].contains(s))
    );
    // Locked until reset: days later the right code is still refused, on either node.
    for _ in 0..5 {
        app.advance(86_400);
        assert_locked(&verify(&app, &user, &totp(&secret, app.now()), "127.0.0.1").await);
        assert_locked(&verify(&other, &user, &wrong(&secret, app.now()), "127.0.0.1").await);
    }
    assert_eq!(events(&app, "factor.verification_failed").await, 100);
    assert_eq!(events(&app, "factor.locked").await, 20);
    let pool = app.db().await;
    let (failures,): (i64,) = sqlx::query_as("SELECT consecutive_failures FROM factors")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(failures, 100);

    // An administrator unlocks it; the right code then works.
    let id = tessera_core::UserId::parse(&user).unwrap();
    let unlocked = app.service.unlock_factors(None, &id).await.unwrap();
    assert_eq!(unlocked.len(), 1);
    assert_eq!(events(&app, "factor.unlocked").await, 1);
    let (status, body) = verify(&other, &user, &totp(&secret, app.now()), "127.0.0.1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn per_user_and_per_ip_failure_limits_hold_across_nodes() {
    let one = TestApp::spawn_with(|c| {
        c.client_ip = ClientIpSource::XForwardedFor;
        c.failure_limits = Some(FailureLimits {
            per_user: Limit {
                count: 3,
                window_seconds: 600,
            },
            per_ip: Limit {
                count: 5,
                window_seconds: 600,
            },
        });
    })
    .await;
    let two = one.another_node(|_| {}).await;
    let (ada, ada_secret) = registered(&one, "ada@example.com").await;
    let (bob, bob_secret) = registered(&one, "bob@example.com").await;
    const IP1: &str = "203.0.113.7";
    const IP2: &str = "198.51.100.9";

    // Per user: three failures on two nodes use Ada's up; then even the right code waits.
    for node in [&one, &two, &one] {
        assert_invalid(&verify(node, &ada, &wrong(&ada_secret, one.now()), IP1).await);
    }
    let before = one.fingerprint().await;
    assert_locked(&verify(&two, &ada, &totp(&ada_secret, one.now()), IP2).await);
    assert_eq!(one.fingerprint().await, before, "a refusal changes nothing");

    // Per IP: IP1 has two failures left, which Bob uses; then IP1 waits, IP2 does not.
    for node in [&two, &one] {
        assert_invalid(&verify(node, &bob, &wrong(&bob_secret, one.now()), IP1).await);
    }
    assert_locked(&verify(&two, &bob, &totp(&bob_secret, one.now()), IP1).await);
    let (status, body) = verify(&one, &bob, &totp(&bob_secret, one.now()), IP2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_locked(&verify(&two, &ada, &totp(&ada_secret, one.now()), IP2).await);

    // The window passes.
    one.advance(600);
    let (status, body) = verify(&two, &ada, &totp(&ada_secret, one.now()), IP1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn every_failed_code_is_an_event_and_changes_nothing_else() {
    let app = TestApp::spawn_with(|c| c.delivery.worker = false).await;
    let session = app.verified_user("ev@example.com").await;
    let user = str_of(&session, "localId").to_owned();

    // Identity Toolkit phone enrolment: no factor yet, the failure names the user.
    let (status, started) = app
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+15555550199", "recaptchaToken": "t"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session_info = str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&session_info).await;
    let bad = if code == "000000" { "111111" } else { "000000" };
    let before = app.fingerprint().await;
    let reply = app
        .post(
            "/v2/accounts/mfaEnrollment:finalize",
            json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": bad}}),
        )
        .await;
    assert_it_error(&reply, "INVALID_CODE");
    assert_eq!(app.fingerprint().await, before);

    // Identity Toolkit TOTP enrolment.
    let (status, started) = app
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let info = &started["totpSessionInfo"];
    let secret = str_of(info, "sharedSecretKey");
    let before = app.fingerprint().await;
    let reply = app
        .post(
            "/v2/accounts/mfaEnrollment:finalize",
            json!({"idToken": session["idToken"], "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": wrong(secret, app.now())}}),
        )
        .await;
    assert_it_error(&reply, "INVALID_CODE");
    assert_eq!(app.fingerprint().await, before);

    // ZITADEL contact verification.
    let (status, body) = zitadel_with(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone"),
        &[],
        json!({"phone": "+15555550142", "returnCode": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.fingerprint().await;
    let reply = zitadel_with(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone/verify"),
        &[],
        json!({"verificationCode": "WRONG1"}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    assert_eq!(app.fingerprint().await, before);

    let pool = app.db().await;
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT kind, user_id, factor_id, detail FROM events \
         WHERE kind LIKE '%verification_failed' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let started: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT factor_id FROM events WHERE kind = 'factor.enrolment_started' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.1.as_deref() == Some(user.as_str())));
    assert_eq!(rows[0].0, "factor.verification_failed");
    assert_eq!(rows[0].2, None, "a phone factor-to-be has no id yet");
    assert_eq!(rows[1].0, "factor.verification_failed");
    assert!(rows[1].2.is_some(), "the pending TOTP factor");
    assert_eq!(rows[2].0, "contact.verification_failed");
    assert_eq!(
        rows[2].3.as_deref(),
        Some("phone: wrong, expired or used-up code")
    );
    assert_eq!(started.len(), 2, "phone and TOTP enrolments started");
    assert_eq!(started[0].0, None);
    assert!(started[1].0.is_some());
}
