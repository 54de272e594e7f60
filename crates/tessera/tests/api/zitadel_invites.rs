//! User service v2's invitations: a code returned or mailed (to the caller's template, naming
//! the caller's application, else to Tessera's page), resent as it was mailed, used once by
//! any signed-in caller to prove the invited address; and ZITADEL's refusals, each of which
//! changes nothing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tessera::config::Secret;
use tessera_core::Role;

use crate::helpers::*;
use crate::sinks::SmtpSink;

const MAIL_WAIT: Duration = Duration::from_secs(20);

/// A v2 human without a password, its address unverified (its code returned, not mailed).
async fn invitee(app: &TestApp, email: &str) -> String {
    str_of(&added(app, email).await, "userId").to_owned()
}

/// `invitee`'s AddHumanUser answer, with the address's own code (`emailCode`).
async fn added(app: &TestApp, email: &str) -> Value {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"},
               "email": {"email": email, "returnCode": {}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn create(app: &TestApp, user: &str, body: Value) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/invite_code"),
        body,
    )
    .await
}

async fn resend(app: &TestApp, user: &str) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/invite_code/resend"),
        json!({}),
    )
    .await
}

/// `VerifyInviteCode` with `token`'s caller.
async fn verify_as(app: &TestApp, token: &str, user: &str, code: &str) -> Reply {
    let path = format!("/v2/users/{user}/invite_code/verify");
    let body = json!({"verificationCode": code});
    app.zitadel(Method::POST, &path, token, None, Some(body))
        .await
}

/// Whether the user's address is verified (JSON leaves out a false `isVerified`).
async fn email_verified(app: &TestApp, user: &str) -> bool {
    let email = v2_profile(app, user).await["human"]["email"].clone();
    assert_eq!(email["email"], "ada@example.com", "{email}");
    email["isVerified"] == true
}

/// The value of `name` in the next mail's link that starts with `prefix`, and the mail's
/// subject.
async fn mailed(smtp: &SmtpSink, to: &str, prefix: &str) -> (String, String) {
    let mail = smtp.next_message(MAIL_WAIT).await;
    assert_eq!(mail.rcpt_to, [to]);
    let at = mail.text.find(prefix).expect("the link") + prefix.len();
    let link = mail.text[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (link, mail.subject)
}

fn wrong(code: &str) -> &'static str {
    if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" }
}

/// A returned code is used by a caller with no permission over the user, once: it proves the
/// address. It cannot be resent, and a used one is wrong.
#[tokio::test]
async fn a_returned_invite_code_proves_the_address_once() {
    let app = TestApp::spawn().await;
    let user = invitee(&app, "ada@example.com").await;
    let (status, created) = create(&app, &user, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let code = str_of(&created, "inviteCode").to_owned();
    assert_eq!(code.len(), 6, "{created}");
    assert!(
        code.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert!(created["details"]["changeDate"].is_string(), "{created}");
    assert_zitadel_error(
        &resend(&app, &user).await,
        400,
        9,
        "Code not found",
        "COMMAND-Wr3gq",
    );
    assert!(!email_verified(&app, &user).await);

    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let (status, verified) = verify_as(&app, &viewer, &user, &code).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert!(
        verified["details"]["resourceOwner"].is_string(),
        "{verified}"
    );
    assert!(email_verified(&app, &user).await);
    assert_refused_unchanged(
        &app,
        verify_as(&app, &viewer, &user, &code),
        (400, 3, "Code is invalid", "COMMAND-Wgn4q"),
    )
    .await;
    let (status, _) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/invite_code/verify"),
            "not-a-token",
            None,
            Some(json!({"verificationCode": code})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// An invitation mailed to the caller's template names the caller's application; a resend
/// mails a new code the same way, which replaces the old one.
#[tokio::test]
async fn a_mailed_invitation_is_resent_as_it_was_mailed() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let user = invitee(&app, "ada@example.com").await;
    let template =
        "https://app.example.com/invite?userID={{.UserID}}&orgID={{.OrgID}}&code={{.Code}}";
    let body = json!({"sendCode": {"urlTemplate": template, "applicationName": "CustomerPortal"}});
    let (status, created) = create(&app, &user, body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created.get("inviteCode"), None, "{created}");
    let prefix = format!("https://app.example.com/invite?userID={user}&orgID=");
    let (first, subject) = mailed(&smtp, "ada@example.com", &prefix).await;
    assert_eq!(subject, "Invitation to CustomerPortal");
    let first = first.split("&code=").nth(1).unwrap().to_owned();

    let (status, resent) = resend(&app, &user).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let (second, subject) = mailed(&smtp, "ada@example.com", &prefix).await;
    assert_eq!(subject, "Invitation to CustomerPortal");
    let second = second.split("&code=").nth(1).unwrap().to_owned();
    assert_ne!(first, second);

    let admin = app.pat();
    assert_zitadel_error(
        &verify_as(&app, &admin, &user, &first).await,
        400,
        3,
        "Code is invalid",
        "COMMAND-Wgn4q",
    );
    let (status, verified) = verify_as(&app, &admin, &user, &second).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert!(email_verified(&app, &user).await);
    assert_refused_unchanged(
        &app,
        resend(&app, &user),
        (400, 9, "Code not found", "COMMAND-Wr3gq"),
    )
    .await;
}

/// Without a template (or without any `verification`, as in ZITADEL) the link leads to
/// Tessera's invitation page with ZITADEL's parameters, and the mail names the project.
#[tokio::test]
async fn a_default_invitation_links_to_the_page() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let user = invitee(&app, "ada@example.com").await;
    for body in [json!({}), json!({"sendCode": {}})] {
        let (status, created) = create(&app, &user, body).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let prefix = format!("{}/ui/login/user/invite?", app.base);
        let (query, subject) = mailed(&smtp, "ada@example.com", &prefix).await;
        assert!(subject.starts_with("Invitation to "), "{subject}");
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(pairs["userID"], user);
        assert_eq!(pairs["loginname"], "ada@example.com");
        assert_eq!(pairs["code"].len(), 6, "{query}");
        assert!(!pairs["orgID"].is_empty(), "{query}");
        let (status, page) = app.get(&format!("/ui/login/user/invite?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }
}

/// Three wrong codes, or the code's three days, void the invitation; a voided one cannot be
/// resent, an expired one can.
#[tokio::test]
async fn wrong_and_expired_invite_codes_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.pat();
    let user = invitee(&app, "ada@example.com").await;
    let (_, created) = create(&app, &user, json!({"returnCode": {}})).await;
    let code = str_of(&created, "inviteCode").to_owned();
    for _ in 0..3 {
        assert_zitadel_error(
            &verify_as(&app, &admin, &user, wrong(&code)).await,
            400,
            3,
            "Code is invalid",
            "COMMAND-Wgn4q",
        );
    }
    assert_refused_unchanged(
        &app,
        verify_as(&app, &admin, &user, &code),
        (400, 3, "Code is invalid", "COMMAND-Wgn4q"),
    )
    .await;
    assert!(!email_verified(&app, &user).await);

    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let admin = app.pat();
    let user = invitee(&app, "ada@example.com").await;
    let template = "https://app.example.com/invite?code={{.Code}}";
    let (status, _) = create(&app, &user, json!({"sendCode": {"urlTemplate": template}})).await;
    assert_eq!(status, StatusCode::OK);
    let (code, _) = mailed(
        &smtp,
        "ada@example.com",
        "https://app.example.com/invite?code=",
    )
    .await;
    app.advance(72 * 3600 + 1);
    assert_refused_unchanged(
        &app,
        verify_as(&app, &admin, &user, &code),
        (400, 3, "Code is invalid", "COMMAND-Wgn4q"),
    )
    .await;
    let (status, resent) = resend(&app, &user).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let (code, _) = mailed(
        &smtp,
        "ada@example.com",
        "https://app.example.com/invite?code=",
    )
    .await;
    let (status, verified) = verify_as(&app, &admin, &user, &code).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
}

/// ZITADEL's refusals: a user who can sign in already, an unknown user, no invitation to
/// resend, a caller without `user.write`, and (Tessera's) a user without an address. None
/// changes anything.
#[tokio::test]
async fn invitations_refused_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.pat();
    let signed_up = str_of(&app.sign_up("bob@example.com", "secret12").await, "localId").to_owned();
    assert_refused_unchanged(
        &app,
        create(&app, &signed_up, json!({"returnCode": {}})),
        (400, 9, "User is already initialized", "COMMAND-EF34g"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        resend(&app, &signed_up),
        (400, 9, "User is already initialized", "COMMAND-Gg42s"),
    )
    .await;

    let unknown = "123456789012345678";
    assert_refused_unchanged(
        &app,
        create(&app, unknown, json!({"returnCode": {}})),
        (400, 9, "User could not be found", "COMMAND-Wgvn4"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        resend(&app, unknown),
        (400, 9, "User could not be found", "COMMAND-H3b2a"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        verify_as(&app, &admin, unknown, "ABCDEF"),
        (400, 9, "User could not be found", "COMMAND-F5g2h"),
    )
    .await;

    let user = invitee(&app, "ada@example.com").await;
    assert_refused_unchanged(
        &app,
        resend(&app, &user),
        (400, 9, "Code not found", "COMMAND-Wr3gq"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        verify_as(&app, &admin, &user, "ABCDEF"),
        (400, 3, "Code is invalid", "COMMAND-Wgn4q"),
    )
    .await;
    let viewer = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let path = format!("/v2/users/{user}/invite_code");
    assert_refused_unchanged(
        &app,
        app.zitadel(Method::POST, &path, &viewer, None, Some(json!({}))),
        (403, 7, "No matching permissions found", "AUTH-5mWD2"),
    )
    .await;

    let anonymous = app.post("/v1/accounts:signUp", json!({})).await.1;
    let anonymous = str_of(&anonymous, "localId").to_owned();
    assert_refused_unchanged(
        &app,
        create(&app, &anonymous, json!({"returnCode": {}})),
        (404, 5, "Email not found", "TESSERA-EML01"),
    )
    .await;
}

/// A user who chose a password after the invitation cannot be invited or resent one, but the
/// invitation it holds still proves the address, as in ZITADEL.
#[tokio::test]
async fn a_user_with_a_password_keeps_its_invitation_but_gets_no_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.pat();
    let user = invitee(&app, "ada@example.com").await;
    let (_, created) = create(&app, &user, json!({"returnCode": {}})).await;
    let code = str_of(&created, "inviteCode").to_owned();
    call_ok(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/password"),
        json!({"newPassword": {"password": "secret12"}}),
    )
    .await;
    assert_refused_unchanged(
        &app,
        create(&app, &user, json!({"returnCode": {}})),
        (400, 9, "User is already initialized", "COMMAND-EF34g"),
    )
    .await;
    let (status, verified) = verify_as(&app, &admin, &user, &code).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert!(email_verified(&app, &user).await);
}

/// Proving the address otherwise (`VerifyEmail`) ends the invitation, and the invitation ends
/// the address's own code, as in ZITADEL: the code that comes second is refused, and there is
/// no invitation to resend; a new invitation may still be made.
#[tokio::test]
async fn proving_the_address_otherwise_voids_the_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.pat();
    let created = added(&app, "ada@example.com").await;
    let user = str_of(&created, "userId").to_owned();
    let (_, invited) = create(&app, &user, json!({"returnCode": {}})).await;
    let code = str_of(&invited, "inviteCode").to_owned();
    call_ok(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/email/verify"),
        json!({"verificationCode": str_of(&created, "emailCode")}),
    )
    .await;
    assert!(email_verified(&app, &user).await);
    assert_refused_unchanged(
        &app,
        verify_as(&app, &admin, &user, &code),
        (400, 3, "Code is invalid", "COMMAND-Wgn4q"),
    )
    .await;
    assert_refused_unchanged(
        &app,
        resend(&app, &user),
        (400, 9, "Code not found", "COMMAND-Wr3gq"),
    )
    .await;
    let (status, again) = create(&app, &user, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{again}");

    let created = added(&app, "grace@example.com").await;
    let user = str_of(&created, "userId").to_owned();
    let (_, invited) = create(&app, &user, json!({"returnCode": {}})).await;
    let (status, verified) = verify_as(&app, &admin, &user, str_of(&invited, "inviteCode")).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    let path = format!("/v2/users/{user}/email/verify");
    let body = json!({"verificationCode": str_of(&created, "emailCode")});
    assert_refused_unchanged(
        &app,
        call(&app, Method::POST, &path, body),
        (400, 3, "Code is invalid", "COMMAND-eis9R"),
    )
    .await;
}
