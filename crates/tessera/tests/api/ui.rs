//! The self-service page over HTTP, as a browser without JavaScript drives it: sign-in with
//! its form token, the second-factor gate, authenticator-app enrolment with the secret read off
//! the page, a phone number proven by its code, removal, and forms without a valid token
//! refused with nothing changed; passkeys through the endpoints the page's script calls, with a
//! software authenticator. (Security keys and passkeys on the page are driven by headless
//! Chromium in `clients/browser`.)

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tessera::config::{Secret, SmsProvider};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::RequestChallengeResponse;
use webauthn_authenticator_rs::softtoken::SoftToken;

use crate::helpers::*;
use crate::sinks::HttpSink;

/// A cookie jar and a client that does not follow redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            // The page is served to localhost, as a browser would load it.
            base: app.base.replace("127.0.0.1", "localhost"),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, String, String) {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request.header(COOKIE, jar.join("; ")).send().await.unwrap();
        for set in response.headers().get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String, String) {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let request = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// A request of the page's script: JSON, with the page's token in `x-csrf-token`.
    async fn script(&mut self, path: &str, csrf: &str, body: Value) -> (StatusCode, Value) {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", csrf)
            .json(&body);
        let (status, _, text) = self.send(request).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Starts a passkey sign-in on the sign-in page (its token `csrf`): the request options.
    async fn passkey_sign_in(&mut self, csrf: &str, email: &str) -> RequestChallengeResponse {
        let body = json!({ "email": email });
        let (status, started) = self.script("/ui/sign-in/passkey/start", csrf, body).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        serde_json::from_value(started["options"].clone()).unwrap()
    }

    /// Answers a passkey sign-in's `options` with `token`; the sign-in must succeed.
    async fn passkey_answer(
        &mut self,
        csrf: &str,
        token: &mut SoftToken,
        options: RequestChallengeResponse,
    ) {
        let assertion = token.do_authentication(origin(), options).unwrap();
        let (status, done) = self
            .script("/ui/sign-in/passkey/finish", csrf, json!(assertion))
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
    }
}

/// The value of the first `name="…"` hidden input or the text of `id` in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).expect(name);
    html[start..].split('"').next().unwrap().to_owned()
}

fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker).map(|i| i + marker.len()).expect(id);
    html[start..].split('<').next().unwrap().to_owned()
}

async fn sign_in(
    browser: &mut Browser,
    email: &str,
    password: &str,
) -> (StatusCode, String, String) {
    let (_, _, page) = browser.get("/ui/sign-in").await;
    let csrf = field(&page, "csrf");
    browser
        .post(
            "/ui/sign-in",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
}

#[tokio::test]
async fn sign_in_enrol_an_authenticator_app_and_need_it_next_time() {
    let app = TestApp::spawn().await;
    app.sign_up("page@example.com", "secret12").await;
    let mut browser = Browser::new(&app);
    let (status, location, _) = browser.get("/ui/").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/ui/sign-in")
    );

    let (status, _, page) = sign_in(&mut browser, "page@example.com", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Wrong email or password."));
    let (status, location, _) = sign_in(&mut browser, "page@example.com", "secret12").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/ui/"));
    let (status, _, page) = browser.get("/ui/factors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"no-factors\""));

    // A form without the page's token changes nothing.
    let before = app.fingerprint().await;
    let (status, _, _) = browser.post("/ui/enrol/email", &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.fingerprint().await, before);

    let csrf = field(&page, "csrf");
    let (status, _, enrol) = browser.post("/ui/enrol/totp", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(enrol.contains("<svg"), "the QR code is inline SVG");
    let secret = text_of(&enrol, "totp-secret");
    let (_, location, _) = browser
        .post(
            "/ui/enrol/totp/verify",
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(location, "/ui/factors?notice=invalid-code");
    let code = totp(&secret, app.now());
    let (_, location, _) = browser
        .post("/ui/enrol/totp/verify", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(location, "/ui/factors?notice=totp-added");
    let (_, _, page) = browser.get("/ui/factors?notice=totp-added").await;
    assert!(page.contains("data-kind=\"totp\""));
    assert!(page.contains("Your authenticator app is set up."));

    // Signing in again now takes the second factor.
    let (_, _, _) = browser.post("/ui/sign-out", &[("csrf", &csrf)]).await;
    let (_, location, _) = browser.get("/ui/factors").await;
    assert_eq!(location, "/ui/sign-in?notice=expired");
    sign_in(&mut browser, "page@example.com", "secret12").await;
    let (_, location, _) = browser.get("/ui/factors").await;
    assert_eq!(location, "/ui/second-factor");
    let (_, _, gate) = browser.get("/ui/second-factor").await;
    assert!(gate.contains("id=\"totp-form\""));
    let gate_csrf = field(&gate, "csrf");
    app.advance(30);
    let (_, location, _) = browser
        .post(
            "/ui/second-factor/totp",
            &[("csrf", &gate_csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(location, "/ui/second-factor?notice=invalid-code");
    let code = totp(&secret, app.now());
    let (_, location, _) = browser
        .post(
            "/ui/second-factor/totp",
            &[("csrf", &gate_csrf), ("code", &code)],
        )
        .await;
    assert_eq!(location, "/ui/factors");
    let (status, _, page) = browser.get("/ui/factors").await;
    assert_eq!(status, StatusCode::OK);

    // Remove it: the list is empty again.
    let id = field(&page, "id");
    let csrf = field(&page, "csrf");
    let (_, location, _) = browser
        .post("/ui/factors/remove", &[("csrf", &csrf), ("id", &id)])
        .await;
    assert_eq!(location, "/ui/factors?notice=removed");
    let (_, _, page) = browser.get("/ui/factors").await;
    assert!(page.contains("id=\"no-factors\""));
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_token() {
    let app = TestApp::spawn().await;
    app.sign_up("token@example.com", "secret12").await;
    let mut browser = Browser::new(&app);
    browser.get("/ui/sign-in").await;
    let (status, _, _) = browser
        .post(
            "/ui/sign-in",
            &[
                ("email", "token@example.com"),
                ("password", "secret12"),
                ("csrf", "guess"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("tessera_ui"));
}

/// A phone number set on the page is proven by the code sent to it; asking again for the
/// number awaiting its code sends a new one, and the proven number is not set again.
#[tokio::test]
async fn a_phone_number_set_on_the_page_is_proven_by_its_code() {
    let sink = HttpSink::start().await;
    let url = sink.url("/sms");
    let app = TestApp::spawn_with(|c| {
        c.sms.provider = SmsProvider::Webhook;
        c.sms.webhook_url = Some(Secret::new(url));
        c.sms.webhook_secret = Some(Secret::new("whsec-test"));
    })
    .await;
    app.sign_up("phone@example.com", "secret12").await;
    let mut browser = Browser::new(&app);
    sign_in(&mut browser, "phone@example.com", "secret12").await;
    let (_, _, page) = browser.get("/ui/factors").await;
    let csrf = field(&page, "csrf");
    let number = "+15555550123";
    let set = [("csrf", csrf.as_str()), ("phone", number)];
    let wait = Duration::from_secs(20);

    let mut codes = Vec::new();
    for _ in 0..2 {
        let (_, location, _) = browser.post("/ui/phone", &set).await;
        assert_eq!(location, "/ui/factors?notice=code-sent");
        let sms = sink.next_request(wait).await.json();
        assert_eq!(sms["to"], number);
        codes.push(str_of(&sms, "code").to_owned());
    }
    // The second code replaced the first.
    if codes[0] != codes[1] {
        let form = [("csrf", csrf.as_str()), ("code", &codes[0])];
        let (_, location, _) = browser.post("/ui/phone/verify", &form).await;
        assert_eq!(location, "/ui/factors?notice=invalid-code");
    }
    let form = [("csrf", csrf.as_str()), ("code", &codes[1])];
    let (_, location, _) = browser.post("/ui/phone/verify", &form).await;
    assert_eq!(location, "/ui/factors?notice=phone-verified");

    app.settled().await;
    let before = app.fingerprint().await;
    let (_, location, _) = browser.post("/ui/phone", &set).await;
    assert_eq!(location, "/ui/factors?notice=unchanged");
    assert_eq!(app.fingerprint().await, before);
    let (_, _, page) = browser.get("/ui/factors?notice=unchanged").await;
    assert!(page.contains("That is your phone number already."));
}

/// A passkey added on the factors page signs the user in from the sign-in page without a
/// password, by the endpoints the page's script calls. A sign-in started and not finished
/// reaches no page; a forged token, an unknown address and an account without a passkey are
/// refused with nothing changed.
#[tokio::test]
async fn a_passkey_added_on_the_page_signs_in_without_a_password() {
    let app = TestApp::spawn().await;
    app.sign_up("pk@example.com", "secret12").await;
    let mut browser = Browser::new(&app);
    sign_in(&mut browser, "pk@example.com", "secret12").await;
    let (_, _, page) = browser.get("/ui/factors").await;
    assert!(page.contains("id=\"no-passkeys\""), "{page}");
    let csrf = field(&page, "csrf");
    let (status, started) = browser.script("/ui/passkeys/start", &csrf, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options = serde_json::from_value(started["options"].clone()).unwrap();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token.do_registration(origin(), options).unwrap();
    let finish = json!({"id": started["id"], "name": "Laptop", "credential": credential});
    let (status, done) = browser.script("/ui/passkeys/finish", &csrf, finish).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, _, page) = browser.get("/ui/factors?notice=passkey-added").await;
    assert!(page.contains("class=\"passkey\""), "{page}");
    assert!(page.contains("<td>Laptop</td>"), "{page}");
    // It is no second factor.
    assert!(page.contains("id=\"no-factors\""), "{page}");
    browser.post("/ui/sign-out", &[("csrf", &csrf)]).await;

    // From the sign-in page: the address, then the passkey.
    let (_, _, form) = browser.get("/ui/sign-in").await;
    let csrf = field(&form, "csrf");
    let before = app.fingerprint().await;
    for (email, token_sent) in [
        ("pk@example.com", "forged"),
        ("nobody@example.com", csrf.as_str()),
    ] {
        let (status, refused) = browser
            .script(
                "/ui/sign-in/passkey/start",
                token_sent,
                json!({"email": email}),
            )
            .await;
        let expected = if token_sent == "forged" {
            (StatusCode::FORBIDDEN, Value::Null)
        } else {
            let message = "There is no passkey for this account on this site.";
            (StatusCode::BAD_REQUEST, json!({"error": message}))
        };
        assert_eq!((status, refused), expected, "{email}");
    }
    assert_eq!(app.fingerprint().await, before);
    let options = browser.passkey_sign_in(&csrf, "pk@example.com").await;
    // Begun and not finished, the sign-in reaches no page.
    for path in ["/ui/", "/ui/factors", "/ui/second-factor"] {
        let (_, location, _) = browser.get(path).await;
        assert_eq!(location, "/ui/sign-in", "{path}");
    }
    browser.passkey_answer(&csrf, &mut token, options).await;
    let (status, _, page) = browser.get("/ui/factors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<td>Laptop</td>"), "{page}");

    // Removed, it signs in no more.
    let id = page
        .split("class=\"passkey\" data-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let csrf = field(&page, "csrf");
    let (_, location, _) = browser
        .post("/ui/passkeys/remove", &[("csrf", &csrf), ("id", &id)])
        .await;
    assert_eq!(location, "/ui/factors?notice=removed");
    browser.post("/ui/sign-out", &[("csrf", &csrf)]).await;
    let (_, _, form) = browser.get("/ui/sign-in").await;
    let csrf = field(&form, "csrf");
    let (status, refused) = browser
        .script(
            "/ui/sign-in/passkey/start",
            &csrf,
            json!({"email": "pk@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
}

/// The value of attribute `name` (`data-token`, …) where it first appears in a page.
fn attr(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).expect(name);
    html[start..].split('"').next().unwrap().to_owned()
}

/// A passkey registration link (here v1's `AddPasswordlessRegistration`) opens Tessera's page
/// at ZITADEL's path, which adds a passkey to the account without a sign-in. A wrong link shows
/// nothing of the account; the code is used up only by a passkey that works, so an abandoned
/// or refused attempt leaves the link usable.
#[tokio::test]
async fn a_registration_link_adds_a_passkey_on_its_page() {
    let app = TestApp::spawn().await;
    let user = str_of(
        &app.sign_up("link@example.com", "secret12").await,
        "localId",
    )
    .to_owned();
    let added = call_ok(
        &app,
        reqwest::Method::POST,
        &format!("/management/v1/users/{user}/passwordless/_link"),
        json!({}),
    )
    .await;
    assert_eq!(added["expiration"], "3600s", "{added}");
    let link = url::Url::parse(str_of(&added, "link")).unwrap();
    assert_eq!(
        link.origin().ascii_serialization(),
        app.base,
        "dev mode: the origin the request came to"
    );
    assert_eq!(link.path(), "/ui/login/login/passwordless/init");
    let query: HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(query["userID"], user);
    assert!(!query["orgID"].is_empty(), "{link}");
    assert_eq!(query["code"].len(), 12, "{link}");
    let page_path = format!("{}?{}", link.path(), link.query().unwrap());
    let mut browser = Browser::new(&app);

    let unusable = "This link does not work: it is wrong, was used already, or has expired. Ask for a new one.";
    let wrong_code = page_path.replace(&query["code"], "ABCDEFGHIJKL");
    let unknown_user = page_path.replace(&user, "123456789012345678");
    for bad in [wrong_code.as_str(), &unknown_user, link.path()] {
        let (status, _, page) = browser.get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(text_of(&page, "action-message"), unusable);
        assert!(!page.contains("link@example.com"), "{page}");
    }
    let (status, _, page) = browser.get(&page_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        text_of(&page, "registration-account").contains("link@example.com"),
        "{page}"
    );
    let csrf = attr(&page, "data-token");
    let body = json!({"userID": user, "orgID": query["orgID"], "codeID": query["codeID"],
                      "code": query["code"]});
    let start = "/ui/login/login/passwordless/init/start";
    let finish = "/ui/login/login/passwordless/init/finish";

    // A forged token, a wrong code: refused, nothing changes.
    let before = app.fingerprint().await;
    let (status, _) = browser.script(start, "forged", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut wrong = body.clone();
    wrong["code"] = json!("ABCDEFGHIJKL");
    let refused = browser.script(start, &csrf, wrong.clone()).await;
    assert_eq!(
        refused,
        (StatusCode::BAD_REQUEST, json!({"error": unusable}))
    );
    assert_eq!(app.fingerprint().await, before);

    // Started and abandoned (the dialog cancelled): the link still works.
    let (status, abandoned) = browser.script(start, &csrf, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{abandoned}");
    // An authenticator that cannot verify its user (told it need not, or it would not
    // answer) makes no passkey, and the link still works.
    let (status, started) = browser.script(start, &csrf, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let mut lenient = started["options"].clone();
    lenient["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged");
    let (mut presence_only, _) = SoftToken::new(false).unwrap();
    let unverified = presence_only
        .do_registration(origin(), serde_json::from_value(lenient).unwrap())
        .unwrap();
    let mut answer = body.clone();
    answer["id"] = started["id"].clone();
    answer["name"] = json!("Key");
    answer["credential"] = json!(unverified);
    let refused = browser.script(finish, &csrf, answer).await;
    let message = "This authenticator cannot verify you (no PIN or biometrics).";
    assert_eq!(
        refused,
        (StatusCode::BAD_REQUEST, json!({"error": message}))
    );

    let (status, started) = browser.script(start, &csrf, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let (mut token, _) = SoftToken::new(true).unwrap();
    let options = serde_json::from_value(started["options"].clone()).unwrap();
    let credential = token.do_registration(origin(), options).unwrap();
    let mut answer = body.clone();
    answer["id"] = started["id"].clone();
    answer["name"] = json!("Phone");
    answer["credential"] = json!(credential);
    // With a wrong code the answer is refused too, and nothing changes.
    let before = app.fingerprint().await;
    let mut forged = answer.clone();
    forged["code"] = json!("ABCDEFGHIJKL");
    let refused = browser.script(finish, &csrf, forged).await;
    assert_eq!(
        refused,
        (StatusCode::BAD_REQUEST, json!({"error": unusable}))
    );
    assert_eq!(app.fingerprint().await, before);
    let (status, done) = browser.script(finish, &csrf, answer).await;
    assert_eq!((status, done), (StatusCode::OK, json!({"ok": true})));

    // The link is used up.
    let (status, _, page) = browser.get(&page_path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text_of(&page, "action-message"), unusable);
    let (_, _, form) = browser.get("/ui/sign-in").await;
    let csrf = field(&form, "csrf");
    let refused = browser.script(start, &csrf, body).await;
    assert_eq!(
        refused,
        (StatusCode::BAD_REQUEST, json!({"error": unusable}))
    );

    // The user has the passkey, named, and signs in with it on the sign-in page.
    let listed = call_ok(
        &app,
        reqwest::Method::POST,
        &format!("/v2/users/{user}/passkeys/_search"),
        json!({}),
    )
    .await;
    assert_eq!(listed["result"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["result"][0]["name"], "Phone", "{listed}");
    let options = browser.passkey_sign_in(&csrf, "link@example.com").await;
    browser.passkey_answer(&csrf, &mut token, options).await;
    let (status, _, page) = browser.get("/ui/factors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<td>Phone</td>"), "{page}");
}

/// An invitation's default link opens Tessera's page at ZITADEL's path, where the invited
/// user chooses a password: a weak password or a wrong code shows the form again with the
/// link's parameters (a wrong code is one of three tries), a forged form changes nothing, and
/// the right code sets the password, proves the address and is used up.
#[tokio::test]
async fn an_invitation_link_sets_a_password_on_its_page() {
    let app = TestApp::spawn().await;
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": "invited@example.com", "returnCode": {}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    let invited = call_ok(
        &app,
        reqwest::Method::POST,
        &format!("/v2/users/{user}/invite_code"),
        json!({"returnCode": {}}),
    )
    .await;
    let code = str_of(&invited, "inviteCode").to_owned();
    let org = str_of(&v2_profile(&app, &user).await["details"], "resourceOwner").to_owned();
    let page_path = format!(
        "/ui/login/user/invite?userID={user}&loginname=invited%40example.com&code={code}&orgID={org}"
    );
    let mut browser = Browser::new(&app);
    let (status, _, page) = browser.get(&page_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        text_of(&page, "invite-account"),
        "Choose a password for invited@example.com."
    );
    let csrf = field(&page, "csrf");
    let post = |code: String, password: &str, csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("userID".to_owned(), user.clone()),
            ("orgID".to_owned(), org.clone()),
            ("loginname".to_owned(), "invited@example.com".to_owned()),
            ("code".to_owned(), code),
            ("password".to_owned(), password.to_owned()),
        ]
    };
    let send = async |browser: &mut Browser, fields: Vec<(String, String)>| {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        browser.post("/ui/login/user/invite", &pairs).await
    };

    let before = app.fingerprint().await;
    let (status, _, _) = send(&mut browser, post(code.clone(), "secret12", "forged")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location, _) = send(&mut browser, post(code.clone(), "short", &csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("&notice=weak-password"), "{location}");
    assert!(location.contains(&format!("code={code}")), "{location}");
    let wrong = if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" };
    let (status, location, _) = send(&mut browser, post(wrong.to_owned(), "secret12", &csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("&notice=invalid-code"), "{location}");
    assert_eq!(app.fingerprint().await, before);
    let (_, _, again) = browser.get(&location).await;
    assert!(
        again.contains("That code is not right. Try again."),
        "{again}"
    );
    let csrf = field(&again, "csrf");

    let (status, _, done) = send(&mut browser, post(code.clone(), "secret12", &csrf)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(
        text_of(&done, "invite-message").starts_with("Your account is ready"),
        "{done}"
    );
    assert_eq!(
        v2_profile(&app, &user).await["human"]["email"]["isVerified"],
        true
    );
    let (status, signed_in) = app.sign_in("invited@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");

    let (_, _, page) = browser.get(&page_path).await;
    let csrf = field(&page, "csrf");
    let (status, _, used) = send(&mut browser, post(code, "another12", &csrf)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{used}");
    assert_eq!(
        text_of(&used, "invite-message"),
        "This link does not work: it is wrong, was used already, or has expired. Ask for a new one."
    );
}
