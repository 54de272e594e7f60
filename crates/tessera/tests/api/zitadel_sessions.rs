//! ZITADEL's session service v2: a session checked factor by factor (user, password, TOTP,
//! OTP SMS, OTP Email), codes from challenges (8 digits, single use, 5 attempts), and
//! concurrent submissions of one code of which exactly one wins.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;

use crate::helpers::*;

const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const PASSWORD: &str = "correct horse";

/// A user with a password, an imported TOTP secret, and OTP SMS and OTP Email factors.
async fn user_with_every_factor(app: &TestApp, email: &str, phone: &str) -> String {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/users/human",
        json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": email, "isVerified": true},
            "phone": {"phone": phone, "isVerified": true},
            "password": {"password": PASSWORD},
            "totpSecret": SECRET,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    for factor in ["otp_sms", "otp_email"] {
        let (status, body) = call(
            app,
            Method::POST,
            &format!("/v2/users/{user}/{factor}"),
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    user
}

/// A new session whose user check names `login_name`; its id.
async fn session_of(app: &TestApp, login_name: &str) -> String {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": login_name}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{login_name}: {created}");
    str_of(&created, "sessionId").to_owned()
}

/// The session as GetSession answers it (which must succeed).
async fn session_got(app: &TestApp, session: &str) -> Value {
    call_ok(
        app,
        Method::GET,
        &format!("/v2/sessions/{session}"),
        json!({}),
    )
    .await
}

async fn set(app: &TestApp, session: &str, body: Value) -> Reply {
    call(app, Method::PATCH, &format!("/v2/sessions/{session}"), body).await
}

#[tokio::test]
async fn a_session_checks_every_factor_kind() {
    let app = TestApp::spawn().await;
    let user = user_with_every_factor(&app, "ada@example.com", "+15550100002").await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "ada@example.com"}, "password": {"password": PASSWORD}},
               "metadata": {"app": "bG9naW4="}, "lifetime": "600s"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session = str_of(&created, "sessionId").to_owned();
    assert!(
        created["sessionToken"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );

    let (status, body) = set(
        &app,
        &session,
        json!({"checks": {"totp": {"code": totp(SECRET, app.now())}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // RFC 6238 §5.2: a code's time step counts once.
    let reply = set(
        &app,
        &session,
        json!({"checks": {"totp": {"code": totp(SECRET, app.now())}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Errors.User.MFA.OTP.Reused", "TOTP-Auw0a");

    let (status, challenged) = set(
        &app,
        &session,
        json!({"challenges": {"otpSms": {"returnCode": true}, "otpEmail": {"returnCode": {}}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{challenged}");
    let sms = str_of(&challenged["challenges"], "otpSms").to_owned();
    let mail = str_of(&challenged["challenges"], "otpEmail").to_owned();
    for code in [&sms, &mail] {
        assert!(
            code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
    }
    let (status, body) = set(
        &app,
        &session,
        json!({"checks": {"otpSms": {"code": sms}, "otpEmail": {"code": mail}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let got = session_got(&app, &session).await;
    let factors = &got["session"]["factors"];
    assert_eq!(factors["user"]["id"], user.as_str());
    assert_eq!(factors["user"]["loginName"], "ada@example.com");
    for factor in ["user", "password", "totp", "otpSms", "otpEmail"] {
        assert!(factors[factor]["verifiedAt"].is_string(), "{factor}: {got}");
    }
    assert_eq!(got["session"]["metadata"]["app"], "bG9naW4=");
    assert!(got["session"]["expirationDate"].is_string());

    // A code is single use.
    let reply = set(&app, &session, json!({"checks": {"otpSms": {"code": sms}}})).await;
    assert_zitadel_error(&reply, 400, 9, "Code not found", "COMMAND-S34gh");

    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/v2/sessions/{session}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reply = call(
        &app,
        Method::GET,
        &format!("/v2/sessions/{session}"),
        json!({}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "Session not found", "QUERY-SJ84j");
}

#[tokio::test]
async fn session_check_errors_change_nothing_but_the_attempts() {
    let app = TestApp::spawn().await;
    user_with_every_factor(&app, "eve@example.com", "+15550100003").await;
    let plain = app.sign_up("plain@example.com", "secret12").await;
    let session = session_of(&app, "eve@example.com").await;

    let reply = set(
        &app,
        &session,
        json!({"checks": {"password": {"password": "wrong horse"}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Password is invalid", "COMMAND-3M0fs");
    let reply = set(
        &app,
        &session,
        json!({"checks": {"otpSms": {"code": "12345678"}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 9, "Code not found", "COMMAND-S34gh");
    let reply = set(
        &app,
        &session,
        json!({"checks": {"otpEmail": {"code": ""}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is empty", "COMMAND-SJl2g");
    let reply = set(
        &app,
        &session,
        json!({"checks": {"totp": {"code": "000000"}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Invalid code", "EVENT-8isk2");

    // Five wrong codes use the challenge up; the right one is then no good.
    let (_, challenged) = set(
        &app,
        &session,
        json!({"challenges": {"otpSms": {"returnCode": true}}}),
    )
    .await;
    let code = str_of(&challenged["challenges"], "otpSms").to_owned();
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        let reply = set(
            &app,
            &session,
            json!({"checks": {"otpSms": {"code": wrong}}}),
        )
        .await;
        assert_zitadel_error(&reply, 400, 3, "Code is invalid", "CODE-woT0xc");
    }
    let reply = set(
        &app,
        &session,
        json!({"checks": {"otpSms": {"code": code}}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 9, "Code not found", "COMMAND-S34gh");

    // A user without TOTP or OTP SMS.
    let (_, other) = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"userId": plain["localId"]}}}),
    )
    .await;
    let other = str_of(&other, "sessionId").to_owned();
    let reply = set(
        &app,
        &other,
        json!({"checks": {"totp": {"code": "123456"}}}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-3Mif9s",
    );
    let reply = set(
        &app,
        &other,
        json!({"challenges": {"otpSms": {"returnCode": true}}}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-BJ2g3",
    );
    let reply = set(
        &app,
        &other,
        json!({"challenges": {"otpEmail": {"returnCode": {}}}}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-JKLJ3",
    );
    let reply = set(
        &app,
        &other,
        json!({"checks": {"otpSms": {"code": "12345678"}}}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-d2r52",
    );

    let reply = call(&app, Method::GET, "/v2/sessions/404404404", json!({})).await;
    assert_zitadel_error(&reply, 404, 5, "Session not found", "QUERY-SJ84j");
    let before = app.fingerprint().await;
    let reply = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "nobody@example.com"}}}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    // A failed check leaves the session as it was.
    let reply = set(
        &app,
        &other,
        json!({"checks": {"user": {"loginName": "eve@example.com"}}}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        3,
        "The session has no user checked, or the check names another user",
        "TESSERA-SES02",
    );
    assert_eq!(app.fingerprint().await, before);

    // Managing users is not managing sessions.
    let pat = app.machine_pat(None, "manager", Role::OrgUserManager).await;
    assert_refused_unchanged(
        &app,
        app.zitadel(Method::POST, "/v2/sessions", &pat, None, Some(json!({}))),
        (403, 7, "No matching permissions found", "AUTH-5mWD2"),
    )
    .await;
}

/// A session of a new user with every factor, challenged for `kind` (`otpSms` or `otpEmail`,
/// as `challenge` asks): its id and the code.
async fn challenged(
    app: &TestApp,
    email: &str,
    phone: &str,
    kind: &str,
    challenge: Value,
) -> (String, String) {
    user_with_every_factor(app, email, phone).await;
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": email}}, "challenges": {kind: challenge}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session = str_of(&created, "sessionId").to_owned();
    (session, str_of(&created["challenges"], kind).to_owned())
}

/// A code of the right length that is not `code`.
fn wrong_code(code: &str) -> &'static str {
    if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    }
}

/// A session change that checks `code` for `kind`, to send at once with others.
fn code_check(app: &TestApp, session: &str, kind: &str, code: &str) -> reqwest::RequestBuilder {
    app.client
        .patch(app.url(&format!("/v2/sessions/{session}")))
        .bearer_auth(app.pat())
        .json(&json!({"checks": {kind: {"code": code}}}))
}

#[tokio::test]
async fn one_code_submitted_eight_times_at_once_checks_once() {
    let app = TestApp::spawn().await;
    let (session, code) = challenged(
        &app,
        "race@example.com",
        "+15550100004",
        "otpSms",
        json!({"returnCode": true}),
    )
    .await;
    let check = || code_check(&app, &session, "otpSms", &code);
    let replies = TestApp::all_at_once((0..8).map(|_| check()).collect()).await;
    let (wins, losers): (Vec<Reply>, Vec<Reply>) = replies
        .into_iter()
        .partition(|(status, _)| *status == StatusCode::OK);
    assert_eq!(wins.len(), 1, "{losers:?}");
    // Whether a loser read the session before the winner wrote it or after, it hears what
    // a code submitted a second time hears.
    for loser in &losers {
        assert_zitadel_error(loser, 400, 9, "Code not found", "COMMAND-S34gh");
    }
}

/// As ZITADEL adds up the events of requests at once, each change stands: none is refused
/// for having read the session before another wrote it.
#[tokio::test]
async fn changes_at_once_to_one_session_all_stand() {
    let app = TestApp::spawn().await;
    user_with_every_factor(&app, "many@example.com", "+15550100006").await;
    let session = session_of(&app, "many@example.com").await;
    let change = |body: Value| {
        app.client
            .patch(app.url(&format!("/v2/sessions/{session}")))
            .bearer_auth(app.pat())
            .json(&body)
    };
    let mut changes: Vec<_> = (0..8)
        .map(|i| change(json!({"metadata": {format!("key{i}"): "dmFsdWU="}})))
        .collect();
    changes.push(change(
        json!({"checks": {"password": {"password": PASSWORD}}}),
    ));
    changes.push(change(
        json!({"checks": {"totp": {"code": totp(SECRET, app.now())}}}),
    ));
    changes.push(change(
        json!({"challenges": {"otpEmail": {"returnCode": {}}}}),
    ));
    let replies = TestApp::all_at_once(changes).await;
    for (status, body) in &replies {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }

    let got = session_got(&app, &session).await;
    for i in 0..8 {
        assert_eq!(
            got["session"]["metadata"][format!("key{i}")],
            "dmFsdWU=",
            "{got}"
        );
    }
    for factor in ["user", "password", "totp"] {
        assert!(
            got["session"]["factors"][factor]["verifiedAt"].is_string(),
            "{factor}: {got}"
        );
    }
    // The code the challenge returned is the session's.
    let code = replies
        .iter()
        .find_map(|(_, body)| body["challenges"]["otpEmail"].as_str())
        .expect("the challenge's reply")
        .to_owned();
    let (status, body) = set(
        &app,
        &session,
        json!({"checks": {"otpEmail": {"code": code}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn wrong_codes_submitted_at_once_each_cost_an_attempt() {
    let app = TestApp::spawn().await;
    let (session, code) = challenged(
        &app,
        "guess@example.com",
        "+15550100005",
        "otpEmail",
        json!({"returnCode": {}}),
    )
    .await;
    let wrong = wrong_code(&code);
    // The challenge's five attempts, all at once: none is lost to another's write.
    let check = || code_check(&app, &session, "otpEmail", wrong);
    let replies = TestApp::all_at_once((0..5).map(|_| check()).collect()).await;
    for reply in &replies {
        assert_zitadel_error(reply, 400, 3, "Code is invalid", "CODE-woT0xc");
    }
    assert_refused_unchanged(
        &app,
        set(
            &app,
            &session,
            json!({"checks": {"otpEmail": {"code": code}}}),
        ),
        (400, 9, "Code not found", "COMMAND-S34gh"),
    )
    .await;
}

/// ZITADEL's usernames (v1 `userName`, v2 `username`) are login names: a session's user check
/// finds the user by one, without regard to case, before trying it as an email address. They
/// are unique within an organization, and the authenticator app names the account by one.
#[tokio::test]
async fn a_username_is_a_login_name() {
    let app = TestApp::spawn().await;
    let (status, added) = call(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({"username": "Ada.L", "profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": "ada@example.com", "isVerified": true},
               "password": {"password": PASSWORD}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let ada = str_of(&added, "userId").to_owned();
    let (status, added) = call(
        &app,
        Method::POST,
        "/management/v1/users/human",
        json!({"userName": "grace", "profile": {"firstName": "Grace", "lastName": "Hopper"},
               "email": {"email": "grace@example.com", "isEmailVerified": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let grace = str_of(&added, "userId").to_owned();

    for (login_name, user, shown) in [
        ("ada.l", &ada, "Ada.L"),
        ("ADA.L", &ada, "Ada.L"),
        ("ada@example.com", &ada, "Ada.L"),
        ("grace", &grace, "grace"),
    ] {
        let session = session_of(&app, login_name).await;
        let got = session_got(&app, &session).await;
        let factor = &got["session"]["factors"]["user"];
        assert_eq!(factor["id"], user.as_str(), "{login_name}: {got}");
        assert_eq!(factor["loginName"], shown, "{login_name}: {got}");
    }
    let (status, registered) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{ada}/totp"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert!(
        str_of(&registered, "uri").starts_with("otpauth://totp/Tessera:Ada.L?"),
        "{registered}"
    );

    let before = app.fingerprint().await;
    for (path, body) in [
        (
            "/v2/users/human",
            json!({"username": "ada.l", "profile": {"givenName": "A", "familyName": "B"},
                   "email": {"email": "other@example.com"}}),
        ),
        (
            "/management/v1/users/human",
            json!({"userName": "GRACE", "profile": {"firstName": "G", "lastName": "H"},
                   "email": {"email": "grace2@example.com"}}),
        ),
    ] {
        let reply = call(&app, Method::POST, path, body).await;
        assert_zitadel_error(&reply, 409, 6, "User already exists", "COMMAND-k2unb");
    }
    assert_eq!(app.fingerprint().await, before);
    let reply = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "nobody"}}}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
}

/// What the login UI says of the browser at creation (`userAgent`) is kept as given and
/// answered by GetSession, also after later changes; a session created without one has none.
#[tokio::test]
async fn a_session_keeps_the_user_agent_it_was_created_with() {
    let app = TestApp::spawn().await;
    user_with_every_factor(&app, "agent@example.com", "+15550100007").await;
    let agent = json!({"fingerprintId": "fp-1", "ip": "203.0.113.7", "description": "Firefox on Linux",
                       "header": {"user-agent": {"values": ["Mozilla/5.0"]}}});
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "agent@example.com"}}, "userAgent": agent}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let session = str_of(&created, "sessionId").to_owned();
    let (status, body) = set(&app, &session, json!({"metadata": {"k": "dg=="}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        session_got(&app, &session).await["session"]["userAgent"],
        agent
    );
    let plain = session_of(&app, "agent@example.com").await;
    let got = session_got(&app, &plain).await;
    assert!(got["session"].get("userAgent").is_none(), "{got}");
}
