//! The link that changes an address back (`RECOVER_EMAIL`): sent unasked to the address an end
//! user's email was changed from, in the write that changes it, as Firebase sends it; its
//! code checked by `accounts:resetPassword` and applied by `accounts:update` or the page at
//! `/ui/action`; and every refusal, with nothing changed.

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

async fn app_with_mail() -> (TestApp, SmtpSink) {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    (app, smtp)
}

/// The outstanding links of `request_type`, as the emulator's `oobCodes` lists them.
async fn codes_of(app: &TestApp, request_type: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let all = body["oobCodes"].as_array().unwrap();
    all.iter()
        .filter(|code| code["requestType"] == request_type)
        .cloned()
        .collect()
}

/// The user changes their own address with their ID token; the new session.
async fn change_own_email(app: &TestApp, session: &Value, email: &str) -> Value {
    let body = json!({"idToken": str_of(session, "idToken"), "email": email,
                      "returnSecureToken": true});
    let (status, changed) = app.post(UPDATE, body).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["email"], email);
    changed
}

/// A change of address tells the old one, with a link that changes it back: the link's code
/// names both addresses, restores the old one (proven, since the link reached it), ends every
/// session, and works once.
#[tokio::test]
async fn the_old_address_is_told_and_can_change_it_back() {
    let (app, smtp) = app_with_mail().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id = str_of(&session, "localId").to_owned();
    let changed = change_own_email(&app, &session, "mallory@example.com").await;

    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert!(mail.subject.contains("was changed"), "{}", mail.subject);
    assert!(
        mail.text.contains("to mallory@example.com."),
        "{}",
        mail.text
    );
    let codes = codes_of(&app, "RECOVER_EMAIL").await;
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["email"], "ada@example.com");
    let link = str_of(&codes[0], "oobLink");
    assert!(
        link.starts_with(&format!(
            "{}/ui/action?mode=recoverEmail&oobCode=",
            app.base
        )),
        "{link}"
    );
    assert!(mail.text.contains(link), "{}", mail.text);
    let code = str_of(&codes[0], "oobCode").to_owned();

    let (status, checked) = app.post(CHECK, json!({"oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(
        checked,
        json!({"kind": "identitytoolkit#ResetPasswordResponse", "requestType": "RECOVER_EMAIL",
               "email": "ada@example.com", "newEmail": "mallory@example.com"})
    );
    // It is no password-reset code.
    let reset = json!({"oobCode": code, "newPassword": "battery staple"});
    app.refused(CHECK, reset, "INVALID_OOB_CODE").await;

    // Sessions end at a whole second, as in Firebase: one second later.
    app.advance(1);
    let (status, applied) = app.post(UPDATE, json!({"oobCode": code})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["email"], "ada@example.com");
    assert_eq!(applied["emailVerified"], true);
    let user = app.admin_user(&id).await.unwrap();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["emailVerified"], true);
    // Whoever changed the address is signed out; the owner signs in with it again.
    let reply = app.lookup(str_of(&changed, "idToken")).await;
    assert_it_error(&reply, "TOKEN_EXPIRED");
    let (status, _) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK);
    // Changing back tells nobody: the address it undoes gets no way back in.
    app.settled().await;
    assert!(codes_of(&app, "RECOVER_EMAIL").await.is_empty());
    let deliveries = app.service.deliveries(None, 100).await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    app.refused(UPDATE, json!({"oobCode": code}), "INVALID_OOB_CODE")
        .await;
}

/// Each address the user's email was changed from keeps its own way back; using one ends the
/// others, so a later address cannot take the account back from the restored one.
#[tokio::test]
async fn every_old_address_keeps_its_own_way_back() {
    let (app, smtp) = app_with_mail().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let session = change_own_email(&app, &session, "byron@example.com").await;
    change_own_email(&app, &session, "mallory@example.com").await;
    let mut told = vec![
        smtp.next_message(WAIT).await.rcpt_to,
        smtp.next_message(WAIT).await.rcpt_to,
    ];
    told.sort();
    assert_eq!(told, [["ada@example.com"], ["byron@example.com"]]);
    let codes = codes_of(&app, "RECOVER_EMAIL").await;
    let code_for = |address: &str| {
        let code = codes.iter().find(|c| c["email"] == address).unwrap();
        str_of(code, "oobCode").to_owned()
    };
    let (first, second) = (code_for("ada@example.com"), code_for("byron@example.com"));

    let (status, applied) = app.post(UPDATE, json!({"oobCode": first})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["email"], "ada@example.com");
    app.refused(UPDATE, json!({"oobCode": second}), "INVALID_OOB_CODE")
        .await;
}

/// A recovery link cannot take an address someone else has meanwhile, nor work past its hour.
#[tokio::test]
async fn a_recovery_link_is_refused_when_it_cannot_change_back() {
    let (app, _smtp) = app_with_mail().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    change_own_email(&app, &session, "mallory@example.com").await;
    let code = str_of(&codes_of(&app, "RECOVER_EMAIL").await[0], "oobCode").to_owned();

    let other = app.sign_up("ada@example.com", "another horse").await;
    app.refused(UPDATE, json!({"oobCode": code}), "EMAIL_EXISTS")
        .await;
    let (status, _) = app
        .post(
            "/v1/accounts:delete",
            json!({"idToken": str_of(&other, "idToken")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    app.advance(3601);
    app.refused(UPDATE, json!({"oobCode": code}), "EXPIRED_OOB_CODE")
        .await;
    app.refused(CHECK, json!({"oobCode": code}), "EXPIRED_OOB_CODE")
        .await;
}

/// Only an end user's change of an address they had is told: not an administrator's, not a
/// first address; a change through a link to the new address is.
#[tokio::test]
async fn who_is_told_of_a_change() {
    let (app, smtp) = app_with_mail().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id = str_of(&session, "localId").to_owned();
    let path = format!("/v1/projects/{PROJECT}/accounts:update");
    let (status, body) = app
        .admin_post(
            &path,
            json!({"localId": id, "email": "countess@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, anonymous) = app
        .post("/v1/accounts:signUp", json!({"returnSecureToken": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{anonymous}");
    let anonymous = change_own_email(&app, &anonymous, "byron@example.com").await;
    change_own_email(&app, &anonymous, "lovelace@example.com").await;
    app.settled().await;
    assert!(codes_of(&app, "RECOVER_EMAIL").await.is_empty());
    assert!(app.service.deliveries(None, 100).await.unwrap().is_empty());

    // A change through the link sent to the new address.
    let session = app.sign_in("countess@example.com", "correct horse").await.1;
    let body = json!({"requestType": "VERIFY_AND_CHANGE_EMAIL",
                      "idToken": str_of(&session, "idToken"), "newEmail": "ada@example.com"});
    let (status, sent) = app.post("/v1/accounts:sendOobCode", body).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(smtp.next_message(WAIT).await.rcpt_to, ["ada@example.com"]);
    let change = codes_of(&app, "VERIFY_AND_CHANGE_EMAIL").await;
    let (status, applied) = app
        .post(UPDATE, json!({"oobCode": str_of(&change[0], "oobCode")}))
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["countess@example.com"]);
    assert!(mail.text.contains("to ada@example.com."), "{}", mail.text);
    let codes = codes_of(&app, "RECOVER_EMAIL").await;
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0]["email"], "countess@example.com");
}

/// On the page: the link to the new address changes it, carrying the link's API key on to the
/// recovery link it sends the old address, which changes it back.
#[tokio::test]
async fn the_page_changes_an_address_and_back() {
    let (app, smtp) = app_with_mail().await;
    let session = app.sign_up("ada@example.com", "correct horse").await;
    let id = str_of(&session, "localId").to_owned();
    let body = json!({"requestType": "VERIFY_AND_CHANGE_EMAIL",
                      "idToken": str_of(&session, "idToken"), "newEmail": "countess@example.com"});
    let (status, sent) = app.post("/v1/accounts:sendOobCode", body).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    smtp.next_message(WAIT).await;
    let change = codes_of(&app, "VERIFY_AND_CHANGE_EMAIL").await;
    let action = app.url("/ui/action");
    let press = async |page: &mut Page, link: &str| {
        let (status, html) = page.get(link).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let fields =
            ["csrf", "oobCode", "continueUrl", "apiKey"].map(|name| (name, hidden(&html, name)));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, done) = page.post(&action, &fields).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        (html, done)
    };
    let mut page = Page::new();
    let (_, done) = press(&mut page, str_of(&change[0], "oobLink")).await;
    assert!(done.contains("Your email address is confirmed."), "{done}");
    assert_eq!(
        app.admin_user(&id).await.unwrap()["email"],
        "countess@example.com"
    );

    let mail = smtp.next_message(WAIT).await;
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    let recovery = codes_of(&app, "RECOVER_EMAIL").await;
    let link = str_of(&recovery[0], "oobLink");
    assert!(link.contains(&format!("&apiKey={KEY}&")), "{link}");
    assert!(mail.text.contains(link), "{}", mail.text);
    let (html, done) = press(&mut page, link).await;
    assert!(
        html.contains("Change your account&#39;s email address back to ada@example.com."),
        "{html}"
    );
    assert!(
        done.contains("Your email address is changed back"),
        "{done}"
    );
    let user = app.admin_user(&id).await.unwrap();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["emailVerified"], true);
}
