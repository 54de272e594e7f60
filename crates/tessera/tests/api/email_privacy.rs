//! Email enumeration protection (`emailPrivacyConfig.enableImprovedEmailPrivacy`), per
//! project and per tenant: with it on, a failed password sign-in does not say whether the
//! address has an account, and a password reset for an unknown address is answered as for a
//! known one, with nothing sent.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PRIVACY: &str = "emailPrivacyConfig.enableImprovedEmailPrivacy";

async fn patch(app: &TestApp, path: &str, mask: &str, body: Value) -> Value {
    let (status, body) = app
        .bearer_patch(&format!("{path}?updateMask={mask}"), "owner", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn privacy(config: &Value) -> &Value {
    &config["emailPrivacyConfig"]["enableImprovedEmailPrivacy"]
}

async fn reset_answer(app: &TestApp, email: &str, tenant: Option<&str>) -> Value {
    let mut body = json!({"requestType": "PASSWORD_RESET", "email": email});
    if let Some(tenant) = tenant {
        body["tenantId"] = json!(tenant);
    }
    let (status, sent) = app.post("/v1/accounts:sendOobCode", body).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    sent
}

async fn outstanding_resets(app: &TestApp) -> usize {
    let (_, body) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    body["oobCodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["requestType"] == "PASSWORD_RESET")
        .count()
}

/// Off by default; on, both sign-in failures read the same, and a reset for an unknown
/// address is answered without sending anything; off again, the old answers come back.
#[tokio::test]
async fn the_project_s_email_privacy() {
    let app = TestApp::spawn().await;
    let config = format!("/v2/projects/{PROJECT}/config");
    let (status, read) = app.admin_get(&config).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(privacy(&read), false);
    app.sign_up("ada@example.com", "correct horse").await;
    let sign_in = "/v1/accounts:signInWithPassword";
    let unknown = json!({"email": "nobody@example.com", "password": "correct horse"});
    let wrong = json!({"email": "ada@example.com", "password": "wrong horse"});
    app.refused(sign_in, unknown.clone(), "EMAIL_NOT_FOUND")
        .await;
    app.refused(sign_in, wrong.clone(), "INVALID_PASSWORD")
        .await;
    app.refused(
        "/v1/accounts:sendOobCode",
        json!({"requestType": "PASSWORD_RESET", "email": "nobody@example.com"}),
        "EMAIL_NOT_FOUND",
    )
    .await;

    let patched = patch(
        &app,
        &config,
        PRIVACY,
        json!({"emailPrivacyConfig": {"enableImprovedEmailPrivacy": true}}),
    )
    .await;
    assert_eq!(privacy(&patched), true);
    assert_eq!(privacy(&app.admin_get(&config).await.1), true);
    // The rest of the configuration is left alone.
    assert_eq!(patched["mfa"]["state"], "ENABLED");

    app.refused(sign_in, unknown.clone(), "INVALID_LOGIN_CREDENTIALS")
        .await;
    app.refused(sign_in, wrong.clone(), "INVALID_LOGIN_CREDENTIALS")
        .await;
    let (status, body) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // How an address signs in is not told either.
    let (status, methods) = app
        .post(
            "/v1/accounts:createAuthUri",
            json!({"identifier": "ada@example.com", "continueUri": "http://localhost/", "sessionId": "s"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{methods}");
    assert_eq!(
        methods,
        json!({"kind": "identitytoolkit#CreateAuthUriResponse", "sessionId": "s"})
    );
    // Sign-up still says the address is taken, as in Firebase.
    app.refused(
        "/v1/accounts:signUp",
        json!({"email": "ada@example.com", "password": "another secret"}),
        "EMAIL_EXISTS",
    )
    .await;

    let before = app.fingerprint().await;
    let quiet = reset_answer(&app, "nobody@example.com", None).await;
    assert_eq!(
        quiet,
        json!({"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": "nobody@example.com"})
    );
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(outstanding_resets(&app).await, 0);
    let known = reset_answer(&app, "ada@example.com", None).await;
    assert_eq!(
        known,
        json!({"kind": "identitytoolkit#GetOobConfirmationCodeResponse", "email": "ada@example.com"})
    );
    assert_eq!(outstanding_resets(&app).await, 1);
    // Enumeration protection is for end users: an administrator asking for a link back is
    // told there is none to make.
    app.settled().await;
    let before = app.fingerprint().await;
    assert_it_error(
        &app.admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:sendOobCode"),
            json!({"requestType": "PASSWORD_RESET", "email": "nobody@example.com", "returnOobLink": true}),
        )
        .await,
        "EMAIL_NOT_FOUND",
    );
    assert_eq!(app.fingerprint().await, before);

    // The whole object under its mask, sent empty, turns it off.
    let patched = patch(
        &app,
        &config,
        "emailPrivacyConfig",
        json!({"emailPrivacyConfig": {}}),
    )
    .await;
    assert_eq!(privacy(&patched), false);
    app.refused(sign_in, unknown, "EMAIL_NOT_FOUND").await;
    app.refused(sign_in, wrong, "INVALID_PASSWORD").await;
}

/// A tenant has its own setting: on for the tenant, off for the project, each realm answers
/// by its own.
#[tokio::test]
async fn a_tenant_s_email_privacy_is_its_own() {
    let app = TestApp::spawn().await;
    let (status, tenant) = app
        .admin_post(
            &format!("/v2/projects/{PROJECT}/tenants"),
            json!({"displayName": "Private", "emailPrivacyConfig": {"enableImprovedEmailPrivacy": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(privacy(&tenant), true);
    let name = str_of(&tenant, "name").to_owned();
    let tenant_id = name.rsplit('/').next().unwrap().to_owned();
    let (_, read) = app.admin_get(&format!("/v2/{name}")).await;
    assert_eq!(privacy(&read), true);

    let unknown = |tenant: Option<&str>| {
        let mut body = json!({"email": "nobody@example.com", "password": "correct horse"});
        if let Some(tenant) = tenant {
            body["tenantId"] = json!(tenant);
        }
        body
    };
    let sign_in = "/v1/accounts:signInWithPassword";
    app.refused(
        sign_in,
        unknown(Some(&tenant_id)),
        "INVALID_LOGIN_CREDENTIALS",
    )
    .await;
    app.refused(sign_in, unknown(None), "EMAIL_NOT_FOUND").await;
    let quiet = reset_answer(&app, "nobody@example.com", Some(&tenant_id)).await;
    assert_eq!(quiet["email"], "nobody@example.com");

    let patched = patch(
        &app,
        &format!("/v2/{name}"),
        PRIVACY,
        json!({"emailPrivacyConfig": {"enableImprovedEmailPrivacy": false}}),
    )
    .await;
    assert_eq!(privacy(&patched), false);
    assert_eq!(patched["displayName"], "Private");
    app.refused(sign_in, unknown(Some(&tenant_id)), "EMAIL_NOT_FOUND")
        .await;
}
