//! Sign-in by email link: `accounts:sendOobCode` with `EMAIL_SIGNIN` mails a link for an
//! address (which may have no user yet), and `accounts:signInWithEmailLink` signs in with its
//! code: as a new user, as the address's user, or as an ID token's user the address is linked
//! to; a second factor still applies. The page at `/ui/action` hands the link on to the app.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tessera::config::Secret;

use crate::helpers::*;
use crate::sinks::SmtpSink;

const WAIT: Duration = Duration::from_secs(20);
const SIGN_IN: &str = "/v1/accounts:signInWithEmailLink";
const CONTINUE: &str = "https://app.example.com/finish";

async fn send_link(app: &TestApp, email: &str) {
    let (status, sent) = app
        .post(
            "/v1/accounts:sendOobCode",
            json!({"requestType": "EMAIL_SIGNIN", "email": email, "continueUrl": CONTINUE,
                   "canHandleCodeInApp": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(
        sent,
        json!({"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": email})
    );
}

/// The outstanding sign-in link of `email`, from the dev outbox: (code, link).
async fn link_of(app: &TestApp, email: &str) -> (String, String) {
    let (status, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let links: Vec<&Value> = body["oobCodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["email"] == email && c["requestType"] == "EMAIL_SIGNIN")
        .collect();
    assert_eq!(links.len(), 1, "{body}");
    let code = str_of(links[0], "oobCode").to_owned();
    (code, str_of(links[0], "oobLink").to_owned())
}

async fn sign_in_with_link(app: &TestApp, body: Value) -> Reply {
    app.post(SIGN_IN, body).await
}

/// A link mailed to an address nobody has creates the user at sign-in, the address proven;
/// checking the code does not tell the address; the code works once.
#[tokio::test]
async fn a_link_signs_up_a_new_address() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    send_link(&app, "ada@example.com").await;
    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert!(mail.subject.contains("Sign in to"), "{}", mail.subject);
    let (code, link) = link_of(&app, "ada@example.com").await;
    let link_url = url::Url::parse(&link).unwrap();
    assert_eq!(link_url.path(), "/ui/action");
    let params: std::collections::HashMap<_, _> = link_url.query_pairs().into_owned().collect();
    assert_eq!(params["mode"], "signIn");
    assert_eq!(params["oobCode"], code);
    assert_eq!(params["continueUrl"], CONTINUE);
    assert!(mail.text.contains(&link), "{}", mail.text);

    let (status, checked) = app
        .post("/v1/accounts:resetPassword", json!({"oobCode": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(
        checked,
        json!({"kind": "identitytoolkit#ResetPasswordResponse", "requestType": "EMAIL_SIGNIN"})
    );

    let (status, signed_in) =
        sign_in_with_link(&app, json!({"email": "ada@example.com", "oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["kind"], "identitytoolkit#EmailLinkSigninResponse");
    assert_eq!(signed_in["email"], "ada@example.com");
    assert_eq!(signed_in["isNewUser"], true);
    let id = str_of(&signed_in, "localId").to_owned();
    let token = claims(str_of(&signed_in, "idToken"));
    assert_eq!(token["user_id"], id.as_str());
    assert_eq!(token["email_verified"], true);
    assert_eq!(token["firebase"]["sign_in_provider"], "password");
    assert!(signed_in["refreshToken"].is_string(), "{signed_in}");
    let user = app.admin_user(&id).await.expect("the new user");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["emailVerified"], true);
    assert!(user["lastLoginAt"].is_string(), "{user}");
    assert_eq!(user.get("passwordHash"), None, "{user}");
    // Firebase lists an address that signed in by link under the password provider.
    assert_eq!(user["emailLinkSignin"], true, "{user}");
    assert_eq!(
        user["providerUserInfo"][0]["providerId"], "password",
        "{user}"
    );
    assert_eq!(
        user["providerUserInfo"][0]["email"], "ada@example.com",
        "{user}"
    );

    app.refused(
        SIGN_IN,
        json!({"email": "ada@example.com", "oobCode": code}),
        "INVALID_OOB_CODE",
    )
    .await;
}

/// The address's user signs in as themselves, their address now proven; a second link for
/// the address replaces the first.
#[tokio::test]
async fn a_link_signs_in_the_address_s_user() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("ada@example.com", "correct horse").await;
    send_link(&app, "ada@example.com").await;
    let (first, _) = link_of(&app, "ada@example.com").await;
    send_link(&app, "ada@example.com").await;
    let (code, _) = link_of(&app, "ada@example.com").await;
    assert_ne!(first, code);
    app.refused(
        SIGN_IN,
        json!({"email": "ada@example.com", "oobCode": first}),
        "INVALID_OOB_CODE",
    )
    .await;

    let (status, signed_in) =
        sign_in_with_link(&app, json!({"email": "ada@example.com", "oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["isNewUser"], false);
    assert_eq!(signed_in["localId"], up["localId"]);
    assert_eq!(
        claims(str_of(&signed_in, "idToken"))["email_verified"],
        true
    );
    // The password still works beside the link, and both are the address's ways in.
    let (status, body) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, methods) = app
        .post(
            "/v1/accounts:createAuthUri",
            json!({"identifier": "ada@example.com", "continueUri": "http://localhost/"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{methods}");
    assert_eq!(methods["signinMethods"], json!(["password", "emailLink"]));
    assert_eq!(methods["allProviders"], json!(["password"]));
}

/// A user with a second factor gets a pending credential, which the factor completes.
#[tokio::test]
async fn a_second_factor_still_applies() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("ada@example.com").await;
    let (secret, enrolled) = app.enrol_totp(&session).await;
    let factor = claims(str_of(&enrolled, "idToken"))["firebase"]["sign_in_second_factor"].clone();
    assert_eq!(factor, "totp");
    send_link(&app, "ada@example.com").await;
    let (code, _) = link_of(&app, "ada@example.com").await;

    let (status, first) =
        sign_in_with_link(&app, json!({"email": "ada@example.com", "oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first.get("idToken"), None, "{first}");
    assert_eq!(first["isNewUser"], false);
    assert_eq!(first["localId"], session["localId"]);
    let enrolment = &first["mfaInfo"][0];
    assert!(enrolment["totpInfo"].is_object(), "{first}");

    let (status, done) = app
        .post(
            "/v2/accounts/mfaSignIn:finalize",
            json!({"mfaPendingCredential": first["mfaPendingCredential"],
                   "mfaEnrollmentId": enrolment["mfaEnrollmentId"],
                   "totpVerificationInfo": {"verificationCode": totp(&secret, app.now() + 30)}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let token = claims(str_of(&done, "idToken"));
    assert_eq!(token["user_id"], session["localId"]);
    assert_eq!(token["firebase"]["sign_in_second_factor"], "totp");
    // The link was used by the first step.
    assert!(
        app.get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
            .await
            .1["oobCodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// With an ID token the address becomes that user's: an anonymous user keeps its id. The
/// address of another user cannot be linked.
#[tokio::test]
async fn a_link_with_an_id_token_links_the_address() {
    let app = TestApp::spawn().await;
    let (status, anonymous) = app
        .post("/v1/accounts:signUp", json!({"returnSecureToken": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{anonymous}");
    app.sign_up("grace@example.com", "correct horse").await;

    send_link(&app, "grace@example.com").await;
    let (taken, _) = link_of(&app, "grace@example.com").await;
    app.refused(
        SIGN_IN,
        json!({"email": "grace@example.com", "oobCode": taken, "idToken": anonymous["idToken"]}),
        "EMAIL_EXISTS",
    )
    .await;

    send_link(&app, "ada@example.com").await;
    let (code, _) = link_of(&app, "ada@example.com").await;
    let (status, linked) = sign_in_with_link(
        &app,
        json!({"email": "ada@example.com", "oobCode": code, "idToken": anonymous["idToken"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["localId"], anonymous["localId"]);
    assert_eq!(linked["isNewUser"], false);
    let token = claims(str_of(&linked, "idToken"));
    assert_eq!(token["email"], "ada@example.com");
    assert_eq!(token["firebase"]["sign_in_provider"], "password");
    let user = app
        .admin_user(str_of(&anonymous, "localId"))
        .await
        .expect("the linked user");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["emailVerified"], true);
}

/// Every refusal, in the emulator's order, changes nothing (the code stays usable).
#[tokio::test]
async fn refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let up = app.sign_up("grace@example.com", "correct horse").await;
    send_link(&app, "ada@example.com").await;
    let (code, _) = link_of(&app, "ada@example.com").await;
    let (status, sent) = app
        .post(
            "/v1/accounts:sendOobCode",
            json!({"requestType": "VERIFY_EMAIL", "idToken": up["idToken"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let verify_code = {
        let (_, body) = app
            .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
            .await;
        let entry = body["oobCodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["requestType"] == "VERIFY_EMAIL")
            .cloned()
            .expect("the verification link");
        str_of(&entry, "oobCode").to_owned()
    };
    let cases = [
        (
            json!({"email": "ada@example.com", "oobCode": code, "idToken": "not-a-token"}),
            "INVALID_ID_TOKEN",
        ),
        (json!({"oobCode": code}), "MISSING_EMAIL"),
        (json!({"email": "ada@example.com"}), "MISSING_OOB_CODE"),
        (
            json!({"email": "ada@example.com", "oobCode": "not-a-code"}),
            "INVALID_OOB_CODE",
        ),
        (
            json!({"email": "grace@example.com", "oobCode": verify_code}),
            "INVALID_OOB_CODE",
        ),
        (
            json!({"email": "grace@example.com", "oobCode": code}),
            "INVALID_EMAIL : The email provided does not match the sign-in email address.",
        ),
    ];
    for (body, message) in cases {
        app.refused(SIGN_IN, body, message).await;
    }
    app.refused(
        "/v1/accounts:sendOobCode",
        json!({"requestType": "EMAIL_SIGNIN", "email": "not an address"}),
        "INVALID_EMAIL",
    )
    .await;
    // A sign-in code neither verifies an address nor resets a password.
    app.refused(
        "/v1/accounts:update",
        json!({"oobCode": code}),
        "INVALID_OOB_CODE",
    )
    .await;
    app.refused(
        "/v1/accounts:resetPassword",
        json!({"oobCode": code, "newPassword": "a new secret"}),
        "INVALID_OOB_CODE",
    )
    .await;

    // A disabled user cannot sign in by link.
    send_link(&app, "grace@example.com").await;
    let (grace_code, _) = link_of(&app, "grace@example.com").await;
    let (status, body) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": up["localId"], "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.refused(
        SIGN_IN,
        json!({"email": "grace@example.com", "oobCode": grace_code}),
        "USER_DISABLED",
    )
    .await;

    // After an hour the link has expired.
    app.advance(3601);
    app.refused(
        SIGN_IN,
        json!({"email": "ada@example.com", "oobCode": code}),
        "EXPIRED_OOB_CODE",
    )
    .await;
}

/// The page hands a sign-in link on to its continue URL with the link's parameters (in dev
/// mode to any); without one it says where the link works.
#[tokio::test]
async fn the_page_hands_the_link_on_to_the_app() {
    let app = TestApp::spawn().await;
    send_link(&app, "ada@example.com").await;
    let (code, link) = link_of(&app, "ada@example.com").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            target.scheme(),
            target.host_str().unwrap(),
            target.path()
        ),
        CONTINUE
    );
    let params: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(params["oobCode"], code);
    assert_eq!(params["mode"], "signIn");
    assert_eq!(params["lang"], "en");
    assert_eq!(params["apiKey"], KEY);
    // Visiting does not use the code.
    let (status, body) =
        sign_in_with_link(&app, json!({"email": "ada@example.com", "oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    send_link_without_continue(&app, "grace@example.com").await;
    let (_, link) = link_of(&app, "grace@example.com").await;
    let response = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("signs you in to the app"), "{html}");
}

async fn send_link_without_continue(app: &TestApp, email: &str) {
    let (status, sent) = app
        .post(
            "/v1/accounts:sendOobCode",
            json!({"requestType": "EMAIL_SIGNIN", "email": email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
}

/// In production a sign-in link may lead only to the server's own origins: the API refuses
/// another continue URL, and the page does not follow one put on a link.
#[tokio::test]
async fn production_links_lead_only_to_own_origins() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_production_with(|c| {
        c.email.smtp_url = Some(Secret::new(url));
        c.webauthn_origins = vec!["https://login.example.com".to_owned()];
    })
    .await;
    let key = app.production_api_key().await;
    let send = |continue_url: &str| {
        let body = json!({"requestType": "EMAIL_SIGNIN", "email": "ada@example.com",
                          "continueUrl": continue_url});
        app.post_with_key("/v1/accounts:sendOobCode", &key, body)
    };
    let before = app.fingerprint().await;
    let reply = send(CONTINUE).await;
    assert_it_error(
        &reply,
        "UNAUTHORIZED_DOMAIN : Domain not allowlisted by project",
    );
    assert_eq!(app.fingerprint().await, before);
    let own = "https://login.example.com/finish";
    let reply = send(own).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    let mail = smtp.next_message(WAIT).await;
    let link = mail
        .text
        .split_whitespace()
        .find(|word| word.starts_with("https://login.example.com/ui/action?"))
        .expect("the link in the mail");
    let link = url::Url::parse(link).unwrap();
    let code = link
        .query_pairs()
        .find(|(name, _)| name == "oobCode")
        .map(|(_, code)| code.into_owned())
        .expect("a code");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let visit = |continue_url: &str| {
        let mut page = url::Url::parse(&app.url("/ui/action")).unwrap();
        page.query_pairs_mut()
            .append_pair("mode", "signIn")
            .append_pair("oobCode", &code)
            .append_pair("continueUrl", continue_url);
        no_redirects.get(page).send()
    };
    let page = visit(CONTINUE).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("signs you in to the app")
    );
    let page = visit(own).await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let location = page.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{own}?oobCode=")),
        "{location}"
    );
}

/// Of eight sign-ins at once with one link for a new address, one creates the user; the
/// others hear the link is used.
#[tokio::test]
async fn a_link_used_eight_times_at_once_works_once() {
    let app = TestApp::spawn().await;
    send_link(&app, "ada@example.com").await;
    let (code, _) = link_of(&app, "ada@example.com").await;
    let body = json!({"email": "ada@example.com", "oobCode": code});
    let replies = TestApp::all_at_once(
        (0..8)
            .map(|_| {
                app.client
                    .post(app.url(&format!("{SIGN_IN}?key={KEY}")))
                    .json(&body)
            })
            .collect(),
    )
    .await;
    let mut signed_in = 0;
    for reply in &replies {
        if reply.0 == StatusCode::OK {
            assert_eq!(reply.1["isNewUser"], true, "{}", reply.1);
            signed_in += 1;
        } else {
            assert_it_error(reply, "INVALID_OOB_CODE");
        }
    }
    assert_eq!(signed_in, 1, "{replies:?}");
    let (status, found) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:lookup"),
            json!({"email": ["ada@example.com"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["users"].as_array().unwrap().len(), 1, "{found}");
}
