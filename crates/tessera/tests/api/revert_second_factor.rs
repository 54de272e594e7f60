//! The link that removes a second factor just enrolled (`REVERT_SECOND_FACTOR_ADDITION`): in
//! production, each enrolment emails the user's address a link, as Firebase does, whose code
//! `accounts:resetPassword` checks (with the factor, as the JS SDK's `checkActionCode` needs
//! it) and `accounts:update` applies (the factor goes, and every session); dev mode, like the
//! emulator, sends none; and every refusal, with nothing changed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::config::Secret;

use crate::helpers::*;
use crate::oob::{Page, hidden};
use crate::sinks::SmtpSink;

const WAIT: Duration = Duration::from_secs(20);
const UPDATE: &str = "/v1/accounts:update";
const CHECK: &str = "/v1/accounts:resetPassword";

/// A production server that mails through `smtp`, its API key, and a user with a verified
/// address and a session.
struct Production {
    app: TestApp,
    key: String,
    admin: String,
    session: Value,
}

impl Production {
    async fn start(smtp: &SmtpSink) -> Production {
        let url = smtp.url();
        let app =
            TestApp::spawn_production_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
        let key = app.production_api_key().await;
        let admin = app.service.create_admin_token("ops").await.unwrap();
        let up = json!({"email": "ada@example.com", "password": "correct horse"});
        let (status, up) = app.post_with_key("/v1/accounts:signUp", &key, up).await;
        assert_eq!(status, StatusCode::OK, "{up}");
        let verified = json!({"localId": up["localId"], "emailVerified": true});
        let path = format!("/v1/projects/{PROJECT}/accounts:update");
        let (status, body) = app.bearer_post(&path, &admin, verified).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let credentials = json!({"email": "ada@example.com", "password": "correct horse"});
        let (status, session) = app
            .post_with_key("/v1/accounts:signInWithPassword", &key, credentials)
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        Production {
            app,
            key,
            admin,
            session,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.app.post_with_key(path, &self.key, body).await
    }

    /// `post`, refused with `message`, and nothing changed.
    async fn refused(&self, path: &str, body: Value, message: &str) {
        self.app.settled().await;
        let before = self.app.fingerprint().await;
        assert_it_error(&self.post(path, body).await, message);
        assert_eq!(self.app.fingerprint().await, before);
    }

    /// Enrols a TOTP factor with `session`; the finalize response and the factor's id.
    async fn enrol_totp(&self, session: &Value) -> (Value, String) {
        let start = json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}});
        let (status, started) = self.post("/v2/accounts/mfaEnrollment:start", start).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let info = &started["totpSessionInfo"];
        let code = totp(str_of(info, "sharedSecretKey"), self.app.now());
        let finalize = json!({"idToken": session["idToken"], "displayName": "Phone app",
            "totpVerificationInfo": {"sessionInfo": info["sessionInfo"], "verificationCode": code}});
        let (status, done) = self
            .post("/v2/accounts/mfaEnrollment:finalize", finalize)
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let factor = claims(str_of(&done, "idToken"))["firebase"]["second_factor_identifier"]
            .as_str()
            .unwrap()
            .to_owned();
        (done, factor)
    }

    /// The factor ids of the user, as an administrator's lookup lists them.
    async fn factors(&self) -> Vec<String> {
        let path = format!("/v1/projects/{PROJECT}/accounts:lookup");
        let body = json!({"localId": [self.session["localId"]]});
        let (status, found) = self.app.bearer_post(&path, &self.admin, body).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        found["users"][0]["mfaInfo"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| str_of(f, "mfaEnrollmentId").to_owned())
            .collect()
    }
}

/// The `oobCode` of the link in a mail's text.
fn code_in(text: &str) -> String {
    let start = text.find("oobCode=").expect("a link with a code") + "oobCode=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Enrolling a factor tells the user's address, with a link whose code names the factor and
/// removes it, signing out every device; the code works once.
#[tokio::test]
async fn an_enrolment_is_told_and_can_be_undone() {
    let smtp = SmtpSink::start().await;
    let prod = Production::start(&smtp).await;
    let (enrolled, factor) = prod.enrol_totp(&prod.session).await;

    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert!(mail.subject.contains("second factor"), "{}", mail.subject);
    assert!(
        mail.text
            .contains("/ui/action?mode=revertSecondFactorAddition&oobCode="),
        "{}",
        mail.text
    );
    let code = code_in(&mail.text);

    let (status, checked) = prod.post(CHECK, json!({"oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["requestType"], "REVERT_SECOND_FACTOR_ADDITION");
    assert_eq!(checked["email"], "ada@example.com");
    let info = &checked["mfaInfo"];
    assert_eq!(
        (
            &info["mfaEnrollmentId"],
            &info["displayName"],
            &info["totpInfo"]
        ),
        (&json!(factor), &json!("Phone app"), &json!({}))
    );
    assert!(info["enrolledAt"].is_string(), "{info}");
    // It is no password-reset code.
    let reset = json!({"oobCode": code, "newPassword": "battery staple"});
    prod.refused(CHECK, reset, "INVALID_OOB_CODE").await;

    // Sessions end at a whole second, as in Firebase: one second later.
    prod.app.advance(1);
    let (status, applied) = prod.post(UPDATE, json!({"oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["email"], "ada@example.com");
    assert!(prod.factors().await.is_empty());
    for session in [&prod.session, &enrolled] {
        let reply = prod
            .post(
                "/v1/accounts:lookup",
                json!({"idToken": session["idToken"]}),
            )
            .await;
        assert_it_error(&reply, "TOKEN_EXPIRED");
    }
    // A sign-in in the same second as the revert gets a session that works.
    let credentials = json!({"email": "ada@example.com", "password": "correct horse"});
    let (status, again) = prod
        .post("/v1/accounts:signInWithPassword", credentials)
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let (status, found) = prod
        .post("/v1/accounts:lookup", json!({"idToken": again["idToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    prod.refused(UPDATE, json!({"oobCode": code}), "INVALID_OOB_CODE")
        .await;
}

/// Each factor's link is its own; a factor withdrawn meanwhile leaves its link naming
/// nothing, which is refused.
#[tokio::test]
async fn a_link_removes_only_its_own_factor() {
    let smtp = SmtpSink::start().await;
    let prod = Production::start(&smtp).await;
    let (first, first_factor) = prod.enrol_totp(&prod.session).await;
    let first_code = code_in(&smtp.next_message(WAIT).await.text);
    let withdraw = json!({"idToken": first["idToken"], "mfaEnrollmentId": first_factor});
    let (status, withdrawn) = prod
        .post("/v2/accounts/mfaEnrollment:withdraw", withdraw)
        .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    prod.refused(CHECK, json!({"oobCode": first_code}), "INVALID_OOB_CODE")
        .await;
    prod.refused(UPDATE, json!({"oobCode": first_code}), "INVALID_OOB_CODE")
        .await;

    let (_, second_factor) = prod.enrol_totp(&withdrawn).await;
    let second_code = code_in(&smtp.next_message(WAIT).await.text);
    assert_ne!(second_code, first_code);
    let (status, checked) = prod.post(CHECK, json!({"oobCode": second_code})).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(
        checked["mfaInfo"]["mfaEnrollmentId"],
        second_factor.as_str()
    );
    let (status, applied) = prod.post(UPDATE, json!({"oobCode": second_code})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert!(prod.factors().await.is_empty());
}

/// Dev mode, like the emulator, sends no such link.
#[tokio::test]
async fn dev_mode_sends_none() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("dev@example.com").await;
    app.enrol_totp(&session).await;
    let (status, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"oobCodes": []}));
}

/// On the page (the link's default action handler): the form says what the link does, and
/// pressing it removes the factor.
#[tokio::test]
async fn the_page_removes_the_factor() {
    let smtp = SmtpSink::start().await;
    let prod = Production::start(&smtp).await;
    prod.enrol_totp(&prod.session).await;
    let text = smtp.next_message(WAIT).await.text;
    let link = text
        .split_whitespace()
        .find(|word| word.contains("oobCode="))
        .expect("a link");
    // Production links lead to the first WebAuthn origin; this server listens elsewhere.
    let path = &link[link.find("/ui/action").expect("the page's link")..];
    assert!(path.contains(&format!("&apiKey={}&", prod.key)), "{path}");
    let mut page = Page::new();
    let (status, html) = page.get(&prod.app.url(path)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Remove the second factor just added to the account of ada@example.com."),
        "{html}"
    );
    let fields =
        ["csrf", "oobCode", "continueUrl", "apiKey"].map(|name| (name, hidden(&html, name)));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, done) = page.post(&prod.app.url("/ui/action"), &fields).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("The second factor is removed"), "{done}");
    assert!(prod.factors().await.is_empty());
}
