//! Identity Toolkit's emailed action links (`accounts:sendOobCode`): verifying the address,
//! changing it, resetting the password; their codes applied through `accounts:update`,
//! `accounts:resetPassword` and the page at `/ui/action`; the emulator's `oobCodes`; and every
//! refusal, with nothing changed.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tessera::config::Secret;

use crate::helpers::*;
use crate::sinks::SmtpSink;

const WAIT: Duration = Duration::from_secs(20);

async fn send(app: &TestApp, body: Value) -> Reply {
    app.post("/v1/accounts:sendOobCode", body).await
}

/// The emulator's outstanding links.
async fn oob_codes(app: &TestApp) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["oobCodes"].as_array().unwrap().clone()
}

/// The one outstanding link of `request_type`.
async fn code_of(app: &TestApp, request_type: &str) -> String {
    let codes = oob_codes(app).await;
    let found: Vec<&Value> = codes
        .iter()
        .filter(|c| c["requestType"] == request_type)
        .collect();
    assert_eq!(found.len(), 1, "{codes:?}");
    str_of(found[0], "oobCode").to_owned()
}

fn email_verified(app_lookup: &Reply) -> &Value {
    &app_lookup.1["users"][0]["emailVerified"]
}

/// A verification link goes out by email; its code verifies the address once, after which
/// second factors can be enrolled.
#[tokio::test]
async fn an_emailed_link_verifies_the_address() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id_token = str_of(&session, "idToken").to_owned();

    let (status, sent) = send(
        &app,
        json!({"requestType": "VERIFY_EMAIL", "idToken": id_token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(
        sent,
        json!({"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": "ada@example.com"})
    );
    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    let codes = oob_codes(&app).await;
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["email"], "ada@example.com");
    assert_eq!(codes[0]["requestType"], "VERIFY_EMAIL");
    let code = str_of(&codes[0], "oobCode").to_owned();
    let link = str_of(&codes[0], "oobLink").to_owned();
    assert!(
        link.starts_with(&format!("{}/ui/action?mode=verifyEmail&oobCode=", app.base)),
        "{link}"
    );
    assert!(mail.text.contains(&link), "{}", mail.text);
    assert_eq!(email_verified(&app.lookup(&id_token).await), false);

    let (status, applied) = app
        .post("/v1/accounts:update", json!({"oobCode": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["email"], "ada@example.com");
    assert_eq!(applied["emailVerified"], true);
    assert_eq!(applied["localId"], session["localId"]);
    assert_eq!(email_verified(&app.lookup(&id_token).await), true);
    assert!(oob_codes(&app).await.is_empty());

    // Used: refused, and nothing changes.
    app.refused(
        "/v1/accounts:update",
        json!({"oobCode": code}),
        "INVALID_OOB_CODE",
    )
    .await;

    // Verified, the user can enrol an authenticator app.
    let (status, started) = app
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": id_token, "totpEnrollmentInfo": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
}

/// Each refusal of `sendOobCode` and of a code, in the emulator's words, changing nothing.
#[tokio::test]
async fn refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    app.sign_up("grace@example.com", "correct horse").await;
    let id_token = str_of(&session, "idToken");
    let before = app.fingerprint().await;
    let refusals = [
        (json!({"idToken": id_token}), "MISSING_REQ_TYPE"),
        (
            json!({"requestType": "OOB_REQ_TYPE_UNSPECIFIED", "idToken": id_token}),
            "MISSING_REQ_TYPE",
        ),
        (json!({"requestType": "EMAIL_SIGNIN"}), "MISSING_EMAIL"),
        (json!({"requestType": "VERIFY_EMAIL"}), "MISSING_ID_TOKEN"),
        (
            json!({"requestType": "VERIFY_EMAIL", "idToken": "not a token"}),
            "INVALID_ID_TOKEN",
        ),
        (
            json!({"requestType": "VERIFY_EMAIL", "idToken": id_token, "returnOobLink": true}),
            "INSUFFICIENT_PERMISSION",
        ),
        (
            json!({"requestType": "VERIFY_EMAIL", "idToken": id_token, "continueUrl": "/relative"}),
            "INVALID_CONTINUE_URI : ((expected an absolute URI with valid scheme and host))",
        ),
        (json!({"requestType": "PASSWORD_RESET"}), "MISSING_EMAIL"),
        (
            json!({"requestType": "PASSWORD_RESET", "email": "nobody@example.com"}),
            "EMAIL_NOT_FOUND",
        ),
        (
            json!({"requestType": "PASSWORD_RESET", "email": "not an address"}),
            "INVALID_EMAIL",
        ),
        (
            json!({"requestType": "VERIFY_AND_CHANGE_EMAIL", "idToken": id_token}),
            "MISSING_NEW_EMAIL",
        ),
        (
            json!({"requestType": "VERIFY_AND_CHANGE_EMAIL", "idToken": id_token,
                   "newEmail": "grace@example.com"}),
            "EMAIL_EXISTS",
        ),
    ];
    for (body, message) in refusals {
        assert_it_error(&send(&app, body).await, message);
        assert_eq!(app.fingerprint().await, before);
    }
    let reply = send(
        &app,
        json!({"requestType": "VERIFY_PHONE", "idToken": id_token}),
    )
    .await;
    let message = "Invalid value at 'request_type' \
        (type.googleapis.com/google.cloud.identitytoolkit.v1.GetOobCodeRequest.OobReqType), \
        \"VERIFY_PHONE\"";
    assert_google_error(&reply, 400, "INVALID_ARGUMENT", message);
    let reply = send(
        &app,
        json!({"requestType": "RECOVER_EMAIL", "idToken": id_token}),
    )
    .await;
    assert_google_error(&reply, 501, "UNIMPLEMENTED", "Not Implemented");
    assert_eq!(app.fingerprint().await, before);
    let code_refusals = [
        ("/v1/accounts:resetPassword", json!({}), "MISSING_OOB_CODE"),
        (
            "/v1/accounts:resetPassword",
            json!({"oobCode": "made-up"}),
            "INVALID_OOB_CODE",
        ),
        (
            "/v1/accounts:update",
            json!({"oobCode": "made-up"}),
            "INVALID_OOB_CODE",
        ),
    ];
    for (path, body, message) in code_refusals {
        assert_it_error(&app.post(path, body).await, message);
        assert_eq!(app.fingerprint().await, before);
    }
}

/// A password-reset link: checked without using it, refused for a weak password or another
/// purpose, then it sets the password once, proves the address, and ends earlier sessions;
/// a link an hour old has expired.
#[tokio::test]
async fn an_emailed_link_resets_the_password() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let (status, sent) = send(
        &app,
        json!({"requestType": "PASSWORD_RESET", "email": "Ada@Example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["email"], "ada@example.com");
    let code = code_of(&app, "PASSWORD_RESET").await;

    let reset = |body: Value| app.post("/v1/accounts:resetPassword", body);
    let (status, checked) = reset(json!({"oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(
        checked,
        json!({"kind": "identitytoolkit#ResetPasswordResponse", "requestType": "PASSWORD_RESET",
               "email": "ada@example.com"})
    );
    app.settled().await;
    let before = app.fingerprint().await;
    let reply = reset(json!({"oobCode": code, "newPassword": "short"})).await;
    assert_it_error(
        &reply,
        "WEAK_PASSWORD : Password should be at least 6 characters",
    );
    let reply = app
        .post("/v1/accounts:update", json!({"oobCode": code}))
        .await;
    assert_it_error(&reply, "INVALID_OOB_CODE");
    assert_eq!(app.fingerprint().await, before);

    app.advance(2);
    let (status, done) = reset(json!({"oobCode": code, "newPassword": "battery staple"})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["requestType"], "PASSWORD_RESET");
    let reply = app.sign_in("ada@example.com", "correct horse").await;
    assert_it_error(&reply, "INVALID_PASSWORD");
    let (status, signed_in) = app.sign_in("ada@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let reply = app.refresh(str_of(&session, "refreshToken")).await;
    assert_it_error(&reply, "TOKEN_EXPIRED");
    let reply = app.lookup(str_of(&signed_in, "idToken")).await;
    assert_eq!(email_verified(&reply), true);
    let reply = reset(json!({"oobCode": code, "newPassword": "another one"})).await;
    assert_it_error(&reply, "INVALID_OOB_CODE");

    // A new link replaces the old; an hour later it has expired.
    send(
        &app,
        json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
    )
    .await;
    let first = code_of(&app, "PASSWORD_RESET").await;
    send(
        &app,
        json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
    )
    .await;
    let second = code_of(&app, "PASSWORD_RESET").await;
    assert_ne!(first, second);
    assert_it_error(&reset(json!({"oobCode": first})).await, "INVALID_OOB_CODE");
    app.advance(3600);
    app.settled().await;
    let before = app.fingerprint().await;
    let reply = reset(json!({"oobCode": second, "newPassword": "battery staple 2"})).await;
    assert_it_error(&reply, "EXPIRED_OOB_CODE");
    assert_eq!(app.fingerprint().await, before);
}

/// A change of address takes effect only once the link sent to the new address is used.
#[tokio::test]
async fn a_link_to_the_new_address_changes_it() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id_token = str_of(&session, "idToken");
    let (status, sent) = send(
        &app,
        json!({"requestType": "VERIFY_AND_CHANGE_EMAIL", "idToken": id_token,
               "newEmail": "countess@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["email"], "ada@example.com");
    assert_eq!(
        smtp.next_message(WAIT).await.rcpt_to,
        ["countess@example.com"]
    );
    let code = code_of(&app, "VERIFY_AND_CHANGE_EMAIL").await;
    let (status, checked) = app
        .post("/v1/accounts:resetPassword", json!({"oobCode": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["newEmail"], "countess@example.com");
    assert_eq!(
        app.admin_user(str_of(&session, "localId")).await.unwrap()["email"],
        "ada@example.com"
    );

    let (status, applied) = app
        .post("/v1/accounts:update", json!({"oobCode": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["email"], "countess@example.com");
    assert_eq!(applied["emailVerified"], true);
    let (status, _) = app.sign_in("countess@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK);
}

/// A browser on the link's page, without JavaScript: the visit only shows the form.
pub(crate) struct Page {
    client: reqwest::Client,
    cookie: String,
}

impl Page {
    pub(crate) fn new() -> Self {
        Page {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: String::new(),
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> (StatusCode, String) {
        let response = self.client.get(url).send().await.unwrap();
        if let Some(set) = response.headers().get(SET_COOKIE) {
            self.cookie = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        }
        (response.status(), response.text().await.unwrap())
    }

    pub(crate) async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let response = self
            .client
            .post(url)
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location, response.text().await.unwrap())
    }
}

pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).expect(name);
    html[start..].split('"').next().unwrap().to_owned()
}

/// The Admin SDKs' `generate…Link`: the link comes back instead of an email, and the page it
/// opens confirms the address and sets a new password, each on a button press.
#[tokio::test]
async fn generated_links_work_on_the_page() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let path = format!("/v1/projects/{PROJECT}/accounts:sendOobCode");
    let generate = |request_type: &str, email: &str| {
        let body = json!({"requestType": request_type, "email": email, "returnOobLink": true,
                          "continueUrl": "http://localhost/after"});
        app.admin_post(&path, body)
    };
    let reply = generate("VERIFY_EMAIL", "nobody@example.com").await;
    assert_it_error(&reply, "USER_NOT_FOUND");
    let (status, generated) = generate("VERIFY_EMAIL", "ada@example.com").await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    let link = str_of(&generated, "oobLink").to_owned();
    assert!(link.contains(str_of(&generated, "oobCode")), "{link}");
    assert!(
        link.contains("&apiKey=fake-api-key&lang=en&continueUrl=http%3A%2F%2Flocalhost%2Fafter"),
        "{link}"
    );

    let mut page = Page::new();
    let (status, html) = page.get(&link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Confirm ada@example.com as your account"),
        "{html}"
    );
    let user = || app.admin_user(str_of(&session, "localId"));
    assert_eq!(user().await.unwrap()["emailVerified"], false);
    let action = app.url("/ui/action");
    let form =
        |html: &str| ["csrf", "oobCode", "continueUrl"].map(|name| (name, hidden(html, name)));
    let fields = form(&html);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, done) = page.post(&action, &fields).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Your email address is confirmed."), "{done}");
    assert!(done.contains("href=\"http://localhost/after\""), "{done}");
    assert_eq!(user().await.unwrap()["emailVerified"], true);
    let (status, again) = page.get(&link).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again.contains("This link does not work"), "{again}");

    // A password reset: a weak password sends the form back; a good one is set.
    let (_, generated) = generate("PASSWORD_RESET", "ada@example.com").await;
    let link = str_of(&generated, "oobLink").to_owned();
    let (status, html) = page.get(&link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Choose a new password for ada@example.com."),
        "{html}"
    );
    let fields = form(&html);
    let mut weak: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    weak.push(("password", "short"));
    let (status, location, _) = page.post(&action, &weak).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("notice=weak-password"), "{location}");
    let (_, html) = page.get(&app.url(&location)).await;
    assert!(
        html.contains("Choose a password of at least 6 characters."),
        "{html}"
    );
    let fields = form(&html);
    let mut good: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    good.push(("password", "battery staple"));
    let (status, _, done) = page.post(&action, &good).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Your password is changed."), "{done}");
    let (status, _) = app.sign_in("ada@example.com", "battery staple").await;
    assert_eq!(status, StatusCode::OK);

    // A form without the page's token changes nothing.
    let before = app.fingerprint().await;
    let (_, generated) = generate("VERIFY_EMAIL", "ada@example.com").await;
    let code = str_of(&generated, "oobCode").to_owned();
    let before_post = app.fingerprint().await;
    assert_ne!(before, before_post);
    let forged = [
        ("csrf", "forged"),
        ("oobCode", code.as_str()),
        ("continueUrl", ""),
    ];
    let (status, _, _) = Page::new().post(&action, &forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.fingerprint().await, before_post);
}

/// In production a link leads to the first WebAuthn origin, whatever `Host` the request
/// named: a caller cannot send someone's reset link to a host of their choosing.
#[tokio::test]
async fn production_links_ignore_the_host_header() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_production_with(|c| {
        c.email.smtp_url = Some(Secret::new(url));
        c.webauthn_origins = vec!["https://login.example.com".to_owned()];
    })
    .await;
    let key = app.production_api_key().await;
    let post = |path: &str, body: Value| {
        app.client
            .post(app.url(&format!("{path}?key={key}")))
            .header("host", "evil.example")
            .json(&body)
            .send()
    };
    let signed_up = post(
        "/v1/accounts:signUp",
        json!({"email": "ada@example.com", "password": "correct horse"}),
    )
    .await
    .unwrap();
    assert_eq!(signed_up.status(), StatusCode::OK);
    let sent = post(
        "/v1/accounts:sendOobCode",
        json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    let prefix = "https://login.example.com/ui/action?mode=resetPassword&oobCode=";
    assert!(mail.text.contains(prefix), "{}", mail.text);
    assert!(
        mail.text.contains(&format!("&apiKey={key}&lang=en")),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("evil.example"), "{}", mail.text);
    // No outbox view in production.
    let (status, _) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// With `email.action_url`, links lead to the app's own handler.
#[tokio::test]
async fn links_lead_to_the_configured_action_url() {
    let app = TestApp::spawn_with(|c| {
        c.email.action_url = Some("https://app.example.com/auth/action".to_owned());
    })
    .await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let (status, _) = send(
        &app,
        json!({"requestType": "VERIFY_EMAIL", "idToken": session["idToken"],
               "continueUrl": "https://app.example.com/done"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let codes = oob_codes(&app).await;
    let link = str_of(&codes[0], "oobLink");
    let code = str_of(&codes[0], "oobCode");
    assert_eq!(
        link,
        format!(
            "https://app.example.com/auth/action?mode=verifyEmail&oobCode={code}\
             &apiKey={KEY}&lang=en&continueUrl=https%3A%2F%2Fapp.example.com%2Fdone"
        )
    );
}

/// A tenant's link names its tenant, lists under the tenant's `oobCodes`, and is applied in
/// its tenant only.
#[tokio::test]
async fn a_tenant_s_links_stay_in_the_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Branch").await;
    let (status, session) = app
        .post(
            "/v1/accounts:signUp",
            json!({"email": "ada@example.com", "password": "correct horse", "tenantId": tenant}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (status, sent) = send(
        &app,
        json!({"requestType": "VERIFY_EMAIL", "idToken": session["idToken"], "tenantId": tenant}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert!(oob_codes(&app).await.is_empty());
    let (status, listed) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/tenants/{tenant}/oobCodes"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let entry = &listed["oobCodes"][0];
    assert!(
        str_of(entry, "oobLink").ends_with(&format!("&tenantId={tenant}")),
        "{entry}"
    );
    let code = str_of(entry, "oobCode");

    app.refused(
        "/v1/accounts:update",
        json!({"oobCode": code}),
        "INVALID_OOB_CODE",
    )
    .await;
    let (status, applied) = app
        .post(
            "/v1/accounts:update",
            json!({"oobCode": code, "tenantId": tenant}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["emailVerified"], true);
}

/// A deleted user's links go with the user.
#[tokio::test]
async fn a_deleted_user_s_links_go_with_it() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let (status, _) = send(
        &app,
        json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let code = code_of(&app, "PASSWORD_RESET").await;
    let (status, deleted) = app
        .post(
            "/v1/accounts:delete",
            json!({"idToken": session["idToken"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(oob_codes(&app).await.is_empty());
    let reply = app
        .post("/v1/accounts:resetPassword", json!({"oobCode": code}))
        .await;
    assert_it_error(&reply, "INVALID_OOB_CODE");
}

/// Of eight uses of one code at once, one sets the password; the others hear the code is
/// used, on either engine.
#[tokio::test]
async fn a_code_used_eight_times_at_once_works_once() {
    let app = TestApp::spawn().await;
    app.sign_up("ada@example.com", "correct horse").await;
    send(
        &app,
        json!({"requestType": "PASSWORD_RESET", "email": "ada@example.com"}),
    )
    .await;
    let code = code_of(&app, "PASSWORD_RESET").await;
    let uses = (0..8)
        .map(|i| {
            app.client
                .post(app.url(&format!("/v1/accounts:resetPassword?key={KEY}")))
                .json(&json!({"oobCode": code, "newPassword": format!("new password {i}")}))
        })
        .collect();
    // The replies come back in the order they finished, not the order sent.
    let replies = TestApp::all_at_once(uses).await;
    let won = replies.iter().filter(|r| r.0 == StatusCode::OK).count();
    assert_eq!(won, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.0 != StatusCode::OK) {
        assert_it_error(reply, "INVALID_OOB_CODE");
    }
    let mut signs_in = 0;
    for i in 0..8 {
        let (status, _) = app
            .sign_in("ada@example.com", &format!("new password {i}"))
            .await;
        signs_in += usize::from(status == StatusCode::OK);
    }
    assert_eq!(signs_in, 1);
}
