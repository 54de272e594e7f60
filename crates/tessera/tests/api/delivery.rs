//! Codes delivered for real: the durable outbox, its worker, the senders against real SMTP and
//! HTTP servers, retries, crashes between commit and send, and the abuse limits that hold
//! across nodes.

use std::collections::HashSet;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tessera::config::{Secret, SmsProvider};
use tessera_core::delivery::{Channel, Delivery, DeliveryStatus};
use tessera_server::http::ClientIpSource;
use tessera_server::service::{DELIVERY_RETENTION, DeliveryLimits, Limit};

use tessera_core::Store;
use tessera_store::{OpenOptions, SqlStore};

use crate::helpers::*;
use crate::sinks::{HttpSink, SmtpSink, extract_code};

const WAIT: Duration = Duration::from_secs(20);
const WEBHOOK_SECRET: &str = "whsec-test";

/// A dev server whose SMS go to `sink` through the signed webhook.
async fn with_webhook(sink: &HttpSink, adjust: impl FnOnce(&mut tessera::Config)) -> TestApp {
    let url = sink.url("/sms");
    TestApp::spawn_with(|c| {
        c.sms.provider = SmsProvider::Webhook;
        c.sms.webhook_url = Some(Secret::new(url));
        c.sms.webhook_secret = Some(Secret::new(WEBHOOK_SECRET));
        adjust(c);
    })
    .await
}

/// A webhook server with only the delivery limits `set` turns on.
async fn with_limits(sink: &HttpSink, set: impl FnOnce(&mut DeliveryLimits)) -> TestApp {
    with_webhook(sink, |c| {
        let mut limits = DeliveryLimits::OFF;
        set(&mut limits);
        c.limits = Some(limits);
    })
    .await
}

/// `mfaEnrollment:start` for a phone, with extra request headers.
async fn start_phone(
    app: &TestApp,
    session: &Value,
    phone: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = app
        .client
        .post(app.url(&format!("/v2/accounts/mfaEnrollment:start?key={KEY}")))
        .json(&json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": phone, "recaptchaToken": "t"}}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    TestApp::reply(request.send().await.unwrap()).await
}

async fn session_info_of(app: &TestApp, session: &Value, phone: &str) -> String {
    let (status, started) = start_phone(app, session, phone, &[]).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    str_of(&started["phoneSessionInfo"], "sessionInfo").to_owned()
}

async fn deliveries(app: &TestApp) -> Vec<Delivery> {
    app.service.deliveries(None, 100).await.unwrap()
}

/// Waits until the outbox satisfies `done` (the worker records outcomes after the request).
async fn outbox_until(app: &TestApp, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows = deliveries(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox never got there: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn phone_codes_go_out_through_the_signed_webhook() {
    let sink = HttpSink::start().await;
    let app = with_webhook(&sink, |_| {}).await;
    let session = app.verified_user("ada@example.com").await;
    let session_info = session_info_of(&app, &session, "+15555550100").await;

    let request = sink.next_request(WAIT).await;
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/sms")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("x-tessera-signature"),
        Some(signature(&request.body).as_str())
    );
    let sms = request.json();
    assert_eq!(sms["to"], "+15555550100");
    let code = str_of(&sms, "code").to_owned();
    assert_eq!(code.len(), 6);
    assert!(str_of(&sms, "body").contains(&code), "{sms}");
    assert!(str_of(&sms, "body").contains(PROJECT), "{sms}");
    // The dev outbox still shows what was sent.
    assert_eq!(app.sms_code(&session_info).await, code);

    let (status, done) = app
        .post(
            "/v2/accounts/mfaEnrollment:finalize",
            json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let rows = outbox_until(&app, |rows| {
        rows.iter().all(|d| d.status == DeliveryStatus::Sent)
    })
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].channel,
            rows[0].destination.as_str(),
            rows[0].attempts
        ),
        (Channel::Sms, "+15555550100", 1)
    );
    assert!(rows[0].sent_at.is_some());

    // The code is sealed at rest: the database holds neither it nor the message text.
    let pool = app.db().await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed_content FROM deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&code));
}

#[tokio::test]
async fn production_sends_sms_through_a_twilio_compatible_api() {
    let sink = HttpSink::start().await;
    sink.reply_always(
        StatusCode::CREATED,
        json!({"sid": "SM1", "status": "queued"}),
    );
    let app = TestApp::spawn_production_with(|c| {
        c.sms.provider = SmsProvider::Twilio;
        c.sms.twilio_base_url = Some(sink.url("/twilio"));
        c.sms.twilio_account_sid = Some("AC123".to_owned());
        c.sms.twilio_auth_token = Some(Secret::new("token-1"));
        c.sms.from = Some("+15555550000".to_owned());
    })
    .await;
    app.service.create_project("prod").await.unwrap();
    let key = app.service.create_api_key("prod").await.unwrap();
    let admin = app.service.create_admin_token("ops").await.unwrap();
    let post = async |path: &str, body: Value| app.post_with_key(path, &key, body).await;
    let (_, up) = post(
        "/v1/accounts:signUp",
        json!({"email": "p@example.com", "password": "secret12"}),
    )
    .await;
    app.bearer_post(
        "/v1/projects/prod/accounts:update",
        &admin,
        json!({"localId": up["localId"], "emailVerified": true}),
    )
    .await;
    let (_, session) = post(
        "/v1/accounts:signInWithPassword",
        json!({"email": "p@example.com", "password": "secret12"}),
    )
    .await;

    // Without app-verification evidence, production refuses before anything is sent.
    let reply = post(
        "/v2/accounts/mfaEnrollment:start",
        json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550401"}}),
    )
    .await;
    assert_it_error(&reply, "INVALID_APP_CREDENTIAL");

    let (status, started) = post(
        "/v2/accounts/mfaEnrollment:start",
        json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550401", "recaptchaToken": "t"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let request = sink.next_request(WAIT).await;
    assert_eq!(
        request.path,
        "/twilio/2010-04-01/Accounts/AC123/Messages.json"
    );
    assert_eq!(
        request.basic_auth(),
        Some(("AC123".to_owned(), "token-1".to_owned()))
    );
    let form = request.form();
    assert_eq!(form["To"], "+16505550401");
    assert_eq!(form["From"], "+15555550000");
    let code = extract_code(&form["Body"]).unwrap();
    let (status, done) = post(
        "/v2/accounts/mfaEnrollment:finalize",
        json!({"idToken": session["idToken"], "phoneVerificationInfo": {"sessionInfo": started["phoneSessionInfo"]["sessionInfo"], "code": code}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");

    // The emulator hook does not exist in production.
    assert_eq!(
        app.get("/emulator/v1/projects/prod/verificationCodes")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Test phone numbers get their fixed code and no message. (The enrolment above sent two:
    // its code, and the notice of the enrolment to the user's address.)
    let sent = deliveries(&app).await.len();
    let numbers =
        json!({"signIn": {"phoneNumber": {"testPhoneNumbers": {"+16505550999": "123456"}}}});
    let path = "/v2/projects/prod/config?updateMask=signIn.phoneNumber.testPhoneNumbers";
    let (status, body) = app.bearer_patch(path, &admin, numbers).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = post(
        "/v2/accounts/mfaEnrollment:start",
        json!({"idToken": done["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550999", "recaptchaToken": "t"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deliveries(&app).await.len(), sent);
}

#[tokio::test]
async fn production_refuses_to_start_without_real_senders() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    tessera::master_key::generate(&key).unwrap();
    let mut config = tessera::Config::for_tests(dir.path());
    config.mode = tessera::config::Mode::Production;
    config.master_key_file = Some(key);
    let error = tessera::Application::build(&config).await.err().unwrap();
    assert!(
        error.to_string().contains("needs a real SMS sender"),
        "{error:#}"
    );
    config.sms.provider = SmsProvider::Webhook;
    config.sms.webhook_url = Some(Secret::new("http://127.0.0.1:9/sms"));
    config.sms.webhook_secret = Some(Secret::new("s"));
    let error = tessera::Application::build(&config).await.err().unwrap();
    assert!(
        error.to_string().contains("needs a real email sender"),
        "{error:#}"
    );
}

/// A ZITADEL human user with a verified email address and the OTP Email factor, made by a
/// request that asks for English; `language` is the profile's preferred one, and `subject`
/// that of the address's code, which goes out in it.
async fn zitadel_user_with_email_otp(
    app: &TestApp,
    smtp: &SmtpSink,
    language: Option<&str>,
    subject: &str,
) -> String {
    let pat = app.pat();
    let request = app
        .client
        .post(app.url("/v2/users/human"))
        .bearer_auth(&pat)
        .header("accept-language", "en")
        .json(&json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "preferredLanguage": language},
            "email": {"email": "ada@example.com", "sendCode": {}},
            "password": {"password": "correct horse"},
        }));
    let (status, created) = TestApp::reply(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created.get("emailCode").is_none(), "{created}");
    let user = str_of(&created, "userId").to_owned();

    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert_eq!(mail.subject, subject);
    let code = contact_code(&mail.text);
    assert!(mail.html.contains(&code), "{}", mail.html);
    let (status, body) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/email/verify"),
            &pat,
            None,
            Some(json!({"verificationCode": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/otp_email"),
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

/// An email-verification code: six upper-case letters and digits.
fn contact_code(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 6
                && w.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

#[tokio::test]
async fn zitadel_email_otp_end_to_end_with_real_mail_in_the_users_language() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| {
        c.email.smtp_url = Some(Secret::new(url));
        c.email.from = "Tessera <mfa@example.com>".to_owned();
    })
    .await;
    let english = "Confirm your email address for demo-project";
    let user = zitadel_user_with_email_otp(&app, &smtp, None, english).await;

    let request = app
        .client
        .post(app.url("/v2/sessions"))
        .bearer_auth(app.pat())
        .header("accept-language", "de-CH, de;q=0.9, en;q=0.5")
        .json(&json!({
            "checks": {"user": {"userId": user}},
            "challenges": {"otpEmail": {"sendCode": {}}},
        }));
    let (status, created) = TestApp::reply(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["challenges"].get("otpEmail").is_none(), "{created}");
    let session = str_of(&created, "sessionId").to_owned();

    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.from, "Tessera <mfa@example.com>");
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert_eq!(mail.subject, "Ihr Anmeldecode für demo-project");
    let code = mail.code();
    assert_eq!(code.len(), 8);
    assert!(mail.html.contains(&code));

    let (status, checked) = app
        .zitadel(
            Method::PATCH,
            &format!("/v2/sessions/{session}"),
            &app.pat(),
            None,
            Some(json!({"checks": {"otpEmail": {"code": code}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    let (_, fetched) = app
        .zitadel(
            Method::GET,
            &format!("/v2/sessions/{session}"),
            &app.pat(),
            None,
            None,
        )
        .await;
    assert!(
        fetched["session"]["factors"]["otpEmail"]["verifiedAt"].is_string(),
        "{fetched}"
    );
    let rows = outbox_until(&app, |rows| {
        rows.len() == 2 && rows.iter().all(|d| d.status == DeliveryStatus::Sent)
    })
    .await;
    assert!(rows.iter().all(|d| d.channel == Channel::Email));
}

#[tokio::test]
async fn a_failing_provider_is_retried_with_backoff_until_it_recovers() {
    let sink = HttpSink::start().await;
    sink.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    let app = with_webhook(&sink, |_| {}).await;
    let session = app.verified_user("ada@example.com").await;
    session_info_of(&app, &session, "+15555550100").await;

    let first = sink.next_request(WAIT).await;
    let rows = outbox_until(&app, |rows| rows[0].last_error.is_some()).await;
    assert_eq!(
        (rows[0].status, rows[0].attempts),
        (DeliveryStatus::Queued, 1)
    );
    assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 503 from webhook"));
    // The retry waits a second, then two.
    app.advance(1);
    let second = sink.next_request(WAIT).await;
    outbox_until(&app, |rows| {
        rows[0].attempts == 2 && rows[0].next_attempt_at > app.service.now()
    })
    .await;
    app.advance(2);
    let third = sink.next_request(WAIT).await;
    let rows = outbox_until(&app, |rows| rows[0].status == DeliveryStatus::Sent).await;
    assert_eq!(rows[0].attempts, 3);
    assert_eq!(first.body, second.body);
    assert_eq!(second.body, third.body);
}

#[tokio::test]
async fn a_permanent_failure_is_recorded_and_never_retried() {
    let sink = HttpSink::start().await;
    sink.reply_next(StatusCode::BAD_REQUEST, json!({"error": "invalid number"}));
    let app = with_webhook(&sink, |_| {}).await;
    let session = app.verified_user("ada@example.com").await;
    session_info_of(&app, &session, "+15555550100").await;
    sink.next_request(WAIT).await;
    let rows = outbox_until(&app, |rows| rows[0].status == DeliveryStatus::Failed).await;
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 400 from webhook"));

    // Much later, a new message goes out; the failed one never comes back.
    app.advance(600);
    session_info_of(&app, &session, "+15555550101").await;
    assert_eq!(sink.next_request(WAIT).await.json()["to"], "+15555550101");
    outbox_until(&app, |rows| {
        rows.iter().any(|d| d.status == DeliveryStatus::Sent)
    })
    .await;
    assert_eq!(sink.requests().len(), 2);

    // Operators see both, and can pick the failures.
    let all = deliveries_cli(&app, &[]).await;
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 3, "{all}");
    assert!(
        lines[0].starts_with("CREATED\tID\tCHANNEL\tTO\tSTATUS"),
        "{all}"
    );
    assert!(lines[1].contains("\tsms\t+15555550101\tsent\t1\t"), "{all}");
    assert!(
        lines[2].ends_with("\tsms\t+15555550100\tfailed\t1\t\tHTTP 400 from webhook"),
        "{all}"
    );
    let failed = deliveries_cli(&app, &["--status", "failed"]).await;
    assert_eq!(failed.lines().count(), 2, "{failed}");
    assert!(failed.contains("+15555550100"), "{failed}");
}

/// `tessera admin deliveries ARGS…` against the app's database.
async fn deliveries_cli(app: &TestApp, args: &[&str]) -> String {
    app.run_tessera_ok(["admin", "deliveries"].iter().chain(args))
        .await
}

#[tokio::test]
async fn a_node_that_dies_between_commit_and_send_still_gets_its_code_out_once() {
    let sink = HttpSink::start().await;
    let mut dead = with_webhook(&sink, |c| c.delivery.worker = false).await;
    let session = dead.verified_user("ada@example.com").await;
    let session_info = session_info_of(&dead, &session, "+15555550100").await;
    dead.kill();
    assert!(sink.requests().is_empty());

    let survivor = dead.another_node(|c| c.delivery.worker = true).await;
    let request = sink.next_request(WAIT).await;
    assert_eq!(
        request.json()["code"],
        survivor.sms_code(&session_info).await
    );
    outbox_until(&survivor, |rows| rows[0].status == DeliveryStatus::Sent).await;
    // A later message is the next thing the provider sees: nothing was sent twice.
    session_info_of(&survivor, &session, "+15555550101").await;
    assert_eq!(sink.next_request(WAIT).await.json()["to"], "+15555550101");
    assert_eq!(sink.requests().len(), 2);
}

#[tokio::test]
async fn two_nodes_deliver_every_message_exactly_once() {
    let sink = HttpSink::start().await;
    let one = with_webhook(&sink, |_| {}).await;
    let two = one.another_node(|_| {}).await;
    let mut sessions = Vec::new();
    for (i, node) in [&one, &two].into_iter().cycle().take(12).enumerate() {
        let session = node.verified_user(&format!("user{i}@example.com")).await;
        sessions.push((node, session));
    }
    let starts = sessions.iter().enumerate().map(|(i, (node, session))| {
        node.client
            .post(node.url(&format!("/v2/accounts/mfaEnrollment:start?key={KEY}")))
            .json(&json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": format!("+1555555{:04}", 100 + i), "recaptchaToken": "t"}}))
    });
    let replies = TestApp::all_at_once(starts.collect()).await;
    assert!(
        replies.iter().all(|(status, _)| *status == StatusCode::OK),
        "{replies:?}"
    );
    let mut codes = HashSet::new();
    for _ in 0..12 {
        codes.insert(str_of(&sink.next_request(WAIT).await.json(), "to").to_owned());
    }
    assert_eq!(codes.len(), 12);
    outbox_until(&one, |rows| {
        rows.len() == 12
            && rows
                .iter()
                .all(|d| d.status == DeliveryStatus::Sent && d.attempts == 1)
    })
    .await;
    assert_eq!(sink.requests().len(), 12);
}

/// Asserts that `reply` is the limit error and that nothing changed or went out.
async fn assert_limited(
    app: &TestApp,
    sink: &HttpSink,
    before: &[String],
    sent: usize,
    reply: &Reply,
) {
    assert_it_error(reply, "TOO_MANY_ATTEMPTS_TRY_LATER");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(sink.requests().len(), sent);
}

#[tokio::test]
async fn codes_per_phone_number_are_limited_until_the_window_passes() {
    let sink = HttpSink::start().await;
    let app = with_limits(&sink, |l| {
        l.per_destination = Limit {
            count: 2,
            window_seconds: 600,
        }
    })
    .await;
    let session = app.verified_user("ada@example.com").await;
    for _ in 0..2 {
        session_info_of(&app, &session, "+15555550100").await;
        sink.next_request(WAIT).await;
    }
    app.settled().await;
    let before = app.fingerprint().await;
    let reply = start_phone(&app, &session, "+15555550100", &[]).await;
    assert_limited(&app, &sink, &before, 2, &reply).await;
    // Another number is another destination.
    session_info_of(&app, &session, "+15555550101").await;
    sink.next_request(WAIT).await;
    app.advance(600);
    session_info_of(&app, &session, "+15555550100").await;
    assert_eq!(sink.next_request(WAIT).await.json()["to"], "+15555550100");
}

#[tokio::test]
async fn codes_per_country_calling_code_are_limited() {
    let sink = HttpSink::start().await;
    let app = with_limits(&sink, |l| {
        l.per_country = Limit {
            count: 2,
            window_seconds: 3600,
        }
    })
    .await;
    let session = app.verified_user("ada@example.com").await;
    for phone in ["+15555550100", "+14155550100"] {
        session_info_of(&app, &session, phone).await;
        sink.next_request(WAIT).await;
    }
    app.settled().await;
    let before = app.fingerprint().await;
    let reply = start_phone(&app, &session, "+12125550100", &[]).await;
    assert_limited(&app, &sink, &before, 2, &reply).await;
    session_info_of(&app, &session, "+442079460000").await;
    assert_eq!(sink.next_request(WAIT).await.json()["to"], "+442079460000");
}

#[tokio::test]
async fn codes_per_client_address_are_limited_behind_a_proxy() {
    let sink = HttpSink::start().await;
    let app = with_webhook(&sink, |c| {
        c.limits = Some(DeliveryLimits {
            per_ip: Limit {
                count: 2,
                window_seconds: 3600,
            },
            ..DeliveryLimits::OFF
        });
        c.client_ip = ClientIpSource::XForwardedFor;
    })
    .await;
    let session = app.verified_user("ada@example.com").await;
    // The proxy appends the real address; what the client put before it does not count.
    for (i, spoofed) in ["1.1.1.1", "2.2.2.2"].iter().enumerate() {
        let forwarded = format!("{spoofed}, 203.0.113.7");
        let phone = format!("+1555555010{i}");
        let (status, body) =
            start_phone(&app, &session, &phone, &[("x-forwarded-for", &forwarded)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sink.next_request(WAIT).await;
    }
    app.settled().await;
    let before = app.fingerprint().await;
    let reply = start_phone(
        &app,
        &session,
        "+15555550109",
        &[("x-forwarded-for", "9.9.9.9, 203.0.113.7")],
    )
    .await;
    assert_limited(&app, &sink, &before, 2, &reply).await;
    let (status, body) = start_phone(
        &app,
        &session,
        "+15555550109",
        &[("x-forwarded-for", "203.0.113.8")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_realm_limit_answers_zitadel_callers_resource_exhausted() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| {
        c.email.smtp_url = Some(Secret::new(url));
        c.limits = Some(DeliveryLimits {
            per_realm: Limit {
                count: 1,
                window_seconds: 3600,
            },
            ..DeliveryLimits::OFF
        });
    })
    .await;
    let pat = app.pat();
    let create = |email: &str| json!({"profile": {"givenName": "A", "familyName": "B"}, "email": {"email": email, "isVerified": true}});
    let mut users = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        let (status, created) = app
            .zitadel(
                Method::POST,
                "/v2/users/human",
                &pat,
                None,
                Some(create(email)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        users.push(str_of(&created, "userId").to_owned());
    }
    let app = &app;
    let set_email = |user: &str, email: &str| {
        let (path, body) = (
            format!("/v2/users/{user}/email"),
            json!({"email": email, "sendCode": {}}),
        );
        let pat = pat.clone();
        async move {
            app.zitadel(Method::POST, &path, &pat, None, Some(body))
                .await
        }
    };
    let (status, body) = set_email(&users[0], "a2@example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(smtp.next_message(WAIT).await.rcpt_to, ["a2@example.com"]);

    app.settled().await;
    let before = app.fingerprint().await;
    let reply = set_email(&users[1], "b2@example.com").await;
    let limited = |reply: Reply| {
        assert_zitadel_error(
            &reply,
            429,
            8,
            "Too many codes were sent, try again later",
            "TESSERA-LIM01",
        )
    };
    limited(reply);
    assert_eq!(app.fingerprint().await, before);

    // An UpdateHumanUser whose code the limit stops keeps none of its other changes.
    let body = json!({"username": "b", "profile": {"givenName": "C", "familyName": "D"},
                      "email": {"email": "b2@example.com", "sendCode": {}}});
    let path = format!("/v2/users/human/{}", users[1]);
    let update = app.zitadel(Method::PUT, &path, &pat, None, Some(body));
    limited(update.await);
    assert_eq!(app.fingerprint().await, before);

    // Nor does an AddHumanUser: no user is left behind to answer "already exists" to a retry.
    let mut body = create("c@example.com");
    body["email"] = json!({"email": "c@example.com", "sendCode": {}});
    body["totpSecret"] = json!("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    let add = app.zitadel(Method::POST, "/v2/users/human", &pat, None, Some(body));
    limited(add.await);
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn limits_are_shared_by_every_node() {
    let sink = HttpSink::start().await;
    let one = with_limits(&sink, |l| {
        l.per_destination = Limit {
            count: 2,
            window_seconds: 3600,
        }
    })
    .await;
    let two = one.another_node(|_| {}).await;
    let session = one.verified_user("ada@example.com").await;
    session_info_of(&one, &session, "+15555550100").await;
    session_info_of(&two, &session, "+15555550100").await;
    for _ in 0..2 {
        sink.next_request(WAIT).await;
    }
    let reply = start_phone(&one, &session, "+15555550100", &[]).await;
    assert_it_error(&reply, "TOO_MANY_ATTEMPTS_TRY_LATER");
    let reply = start_phone(&two, &session, "+15555550100", &[]).await;
    assert_it_error(&reply, "TOO_MANY_ATTEMPTS_TRY_LATER");
}

/// The sweep drops sent messages and spent rate counters a chunk per transaction, so that a
/// backlog never holds SQLite's writer for long, and says when there may be more; what is
/// still within its retention or window stays.
#[tokio::test]
async fn messages_and_rate_counters_are_pruned_a_chunk_per_transaction() {
    let sink = HttpSink::start().await;
    let app = with_limits(&sink, |l| l.per_destination = Limit::per_hour(10)).await;
    let session = app.verified_user("ada@example.com").await;
    for phone in ["+15555550100", "+15555550101"] {
        session_info_of(&app, &session, phone).await;
        sink.next_request(WAIT).await;
    }
    app.settled().await;
    let kept = async || -> (i64, i64) {
        let pool = app.db().await;
        let counted = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM deliveries), (SELECT COUNT(*) FROM rate_counters)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        counted
    };
    assert_eq!(kept().await, (2, 2));

    let store = SqlStore::open(app.config.database_url().expose(), &OpenOptions::default())
        .await
        .unwrap();
    let now = tessera_core::Clock::now(app.clock.as_ref());
    let hour = time::Duration::hours(1);
    let current = store.prune_deliveries(now - hour, now - DELIVERY_RETENTION, 1);
    assert!(!current.await.unwrap());
    assert_eq!(kept().await, (2, 2));
    let later = now + DELIVERY_RETENTION;
    let mut swept = Vec::new();
    loop {
        let more = store.prune_deliveries(later, later, 1).await.unwrap();
        let (messages, counters) = kept().await;
        swept.push((more, messages, counters));
        if !more {
            break;
        }
    }
    assert_eq!(swept, [(true, 1, 1), (true, 0, 0), (false, 0, 0)]);
}

#[tokio::test]
async fn finished_messages_are_kept_for_operators_then_pruned() {
    let sink = HttpSink::start().await;
    let app = with_webhook(&sink, |_| {}).await;
    let session = app.verified_user("ada@example.com").await;
    session_info_of(&app, &session, "+15555550100").await;
    sink.next_request(WAIT).await;
    app.settled().await;
    app.advance(DELIVERY_RETENTION.whole_seconds() - 60);
    let (_, session) = app.sign_in("ada@example.com", "secret12").await;
    session_info_of(&app, &session, "+15555550101").await;
    sink.next_request(WAIT).await;
    // The worker's housekeeping (every ten minutes) drops the message older than the
    // retention and keeps the newer one.
    app.advance(11 * 60);
    let rows = outbox_until(&app, |rows| rows.len() == 1).await;
    assert_eq!(rows[0].destination, "+15555550101");
}

/// ZITADEL writes to a user in the language its profile prefers, whatever the request asks
/// for: the address's code and the sign-in code both go out in German here.
#[tokio::test]
async fn zitadel_codes_go_out_in_the_language_the_users_profile_prefers() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| {
        c.email.smtp_url = Some(Secret::new(url));
    })
    .await;
    let german = "Bestätigen Sie Ihre E-Mail-Adresse für demo-project";
    let user = zitadel_user_with_email_otp(&app, &smtp, Some("de"), german).await;

    let request = app
        .client
        .post(app.url("/v2/sessions"))
        .bearer_auth(app.pat())
        .header("accept-language", "en")
        .json(&json!({
            "checks": {"user": {"userId": user}},
            "challenges": {"otpEmail": {"sendCode": {}}},
        }));
    let (status, created) = TestApp::reply(request.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.subject, "Ihr Anmeldecode für demo-project");
}
