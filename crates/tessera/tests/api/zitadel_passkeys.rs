//! Passkeys (ZITADEL's passwordless method) with a software authenticator that verifies its
//! user: registration through user service v2, the listing, a session's check when its
//! challenge requires user verification, the sign counter, removal, and that no second-factor
//! listing or rule of either dialect sees them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softtoken::SoftToken;

use tessera::config::Secret;
use tessera_core::challenge::EXPIRED_RETENTION;

use crate::helpers::*;
use crate::sinks::SmtpSink;

/// A new user's id.
async fn user_id(app: &TestApp, email: &str) -> String {
    str_of(&app.sign_up(email, "secret12").await, "localId").to_owned()
}

/// `sql`'s count for `user` (`$1`), read from the database.
async fn count(app: &TestApp, sql: &'static str, user: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(user)
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

/// Starts a passkey registration for `user` with `body`'s options: the answer.
async fn start(app: &TestApp, user: &str, body: Value) -> Value {
    call_ok(
        app,
        Method::POST,
        &format!("/v2/users/{user}/passkeys"),
        body,
    )
    .await
}

/// The creation options of a started registration, as a browser reads them.
fn creation_options(started: &Value) -> CreationChallengeResponse {
    serde_json::from_value(as_browser_json(
        &started["publicKeyCredentialCreationOptions"],
    ))
    .unwrap()
}

/// Finishes registration `id` with `credential`.
async fn finish(app: &TestApp, user: &str, id: &str, credential: Value, name: &str) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/v2/users/{user}/passkeys/{id}"),
        json!({"publicKeyCredential": credential, "passkeyName": name}),
    )
    .await
}

/// Registers `token` as a passkey of `user`; returns its id.
async fn register(app: &TestApp, token: &mut SoftToken, user: &str, name: &str) -> String {
    let started = start(app, user, json!({"domain": "localhost"})).await;
    let id = str_of(&started, "passkeyId").to_owned();
    let credential = token
        .do_registration(origin(), creation_options(&started))
        .unwrap();
    let (status, body) = finish(app, user, &id, json!(credential), name).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// The user's passkeys as `ListPasskeys` shows them.
async fn listed(app: &TestApp, user: &str) -> Value {
    call_ok(
        app,
        Method::POST,
        &format!("/v2/users/{user}/passkeys/_search"),
        json!({}),
    )
    .await
}

/// A session for `user` with a challenge that requires user verification; returns (session
/// id, options).
async fn challenge(app: &TestApp, user: &str) -> (String, RequestChallengeResponse) {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"userId": user}},
               "challenges": {"webAuthN": {"domain": "localhost",
                   "userVerificationRequirement": "USER_VERIFICATION_REQUIREMENT_REQUIRED"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let options = serde_json::from_value(as_browser_json(
        &created["challenges"]["webAuthN"]["publicKeyCredentialRequestOptions"],
    ))
    .unwrap();
    (str_of(&created, "sessionId").to_owned(), options)
}

#[tokio::test]
async fn a_passkey_registers_signs_in_and_is_removed() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "pk@example.com").await;
    let (mut token, _) = SoftToken::new(true).unwrap();

    let started = start(
        &app,
        &user,
        json!({"domain": "localhost", "authenticator": "PASSKEY_AUTHENTICATOR_CROSS_PLATFORM"}),
    )
    .await;
    let pending = str_of(&started, "passkeyId").to_owned();
    let selection =
        &started["publicKeyCredentialCreationOptions"]["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["userVerification"], "required", "{started}");
    assert_eq!(
        selection["authenticatorAttachment"], "cross-platform",
        "{started}"
    );
    assert_eq!(
        started["publicKeyCredentialCreationOptions"]["publicKey"]["rp"]["id"],
        "localhost"
    );
    // ZITADEL lists ready passkeys only.
    assert_eq!(listed(&app, &user).await.get("result"), None);
    let credential = token
        .do_registration(origin(), creation_options(&started))
        .unwrap();
    let (status, body) = finish(&app, &user, &pending, json!(credential), "Laptop").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["details"]["changeDate"].is_string(), "{body}");
    let list = listed(&app, &user).await;
    assert_eq!(
        list,
        json!({"details": {"totalResult": "1"},
               "result": [{"id": pending, "state": "AUTH_FACTOR_STATE_READY", "name": "Laptop"}]})
    );

    // A passkey is no second factor: neither dialect lists it as one, and a password
    // sign-in goes on without one.
    for path in [
        format!("/management/v1/users/{user}/auth_factors/_search"),
        format!("/v2/users/{user}/authentication_factors/_search"),
    ] {
        let (status, factors) = call(&app, Method::POST, &path, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{factors}");
        assert_eq!(factors.get("result"), None, "{path}: {factors}");
    }
    let (status, signed_in) = app.sign_in("pk@example.com", "secret12").await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert!(
        signed_in.get("mfaPendingCredential").is_none(),
        "{signed_in}"
    );
    let (_, looked_up) = app.lookup(str_of(&signed_in, "idToken")).await;
    assert_eq!(looked_up["users"][0].get("mfaInfo"), None, "{looked_up}");

    // It is a way to sign in, for its own relying party.
    for (query, has_passkey) in [
        ("", true),
        ("?domainQuery.domain=localhost", true),
        ("?domainQuery.domain=login.example.com", false),
    ] {
        let methods = call_ok(
            &app,
            Method::GET,
            &format!("/v2/users/{user}/authentication_methods{query}"),
            json!({}),
        )
        .await;
        assert_eq!(
            methods["authMethodTypes"]
                .as_array()
                .unwrap()
                .contains(&json!("AUTHENTICATION_METHOD_TYPE_PASSKEY")),
            has_passkey,
            "{query}: {methods}"
        );
    }
    assert_eq!(
        call_ok(
            &app,
            Method::GET,
            &format!("/v2/users/{user}/authentication_methods"),
            json!({}),
        )
        .await["authMethodTypes"],
        json!([
            "AUTHENTICATION_METHOD_TYPE_PASSWORD",
            "AUTHENTICATION_METHOD_TYPE_PASSKEY"
        ])
    );

    // Two sign-ins: each verifies the user, and the session says so.
    for _ in 0..2 {
        let (session, options) = challenge(&app, &user).await;
        assert_eq!(options.public_key.allow_credentials.len(), 1);
        let assertion = token.do_authentication(origin(), options).unwrap();
        let (status, body) = webauthn_check(&app, &session, &assertion).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let got = call_ok(
            &app,
            Method::GET,
            &format!("/v2/sessions/{session}"),
            json!({}),
        )
        .await;
        let checked = &got["session"]["factors"]["webAuthN"];
        assert!(checked["verifiedAt"].is_string(), "{got}");
        assert_eq!(checked["userVerified"], true, "{got}");
    }

    // Without the requirement the challenge is for security keys, which this user has none of.
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            "/v2/sessions",
            json!({"checks": {"user": {"userId": user}},
               "challenges": {"webAuthN": {"domain": "localhost"}}}),
        ),
        (500, 13, "WebAuthN begin login failed", "WEBAU-4G8sw"),
    )
    .await;

    let removed = call_ok(
        &app,
        Method::DELETE,
        &format!("/v2/users/{user}/passkeys/{pending}"),
        json!({}),
    )
    .await;
    assert!(removed["details"]["changeDate"].is_string(), "{removed}");
    assert_eq!(listed(&app, &user).await.get("result"), None);
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::DELETE,
            &format!("/v2/users/{user}/passkeys/{pending}"),
            json!({}),
        ),
        (404, 5, "WebAuthN Token could not be found", "COMMAND-2M9ds"),
    )
    .await;
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM events WHERE user_id = $1 AND detail = 'passkey' ORDER BY id",
    )
    .bind(&user)
    .fetch_all(&app.db().await)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            "factor.enrolment_started",
            "factor.enrolled",
            "factor.removed"
        ]
    );
}

/// A ZITADEL error: HTTP status, gRPC code, message, id.
type Refusal = (u16, i64, &'static str, &'static str);

/// Every refused registration step, with ZITADEL's answer, and nothing changed by it.
#[tokio::test]
async fn refused_registrations_change_nothing() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "no@example.com").await;
    let started = start(&app, &user, json!({})).await;
    let id = str_of(&started, "passkeyId").to_owned();
    // An authenticator that cannot verify its user makes no passkey. (This one is told
    // verification is not needed, or it would refuse to answer at all.)
    let (mut presence_only, _) = SoftToken::new(false).unwrap();
    let mut lenient = started.clone();
    lenient["publicKeyCredentialCreationOptions"]["publicKey"]["authenticatorSelection"]["userVerification"] =
        json!("discouraged");
    let unverified = presence_only
        .do_registration(origin(), creation_options(&lenient))
        .unwrap();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let other = start(&app, &user, json!({})).await;
    let for_other = token
        .do_registration(origin(), creation_options(&other))
        .unwrap();
    let unknown_user = "u".repeat(28);

    let cases: Vec<(String, Value, Refusal)> = vec![
        (
            format!("/v2/users/{user}/passkeys/{id}"),
            json!({"publicKeyCredential": {"id": "nope"}, "passkeyName": "x"}),
            (400, 3, "Error on parse credential data", "WEBAU-sl9dr"),
        ),
        (
            format!("/v2/users/{user}/passkeys/{id}"),
            json!({"publicKeyCredential": unverified, "passkeyName": "x"}),
            (
                400,
                3,
                "The security key did not verify the user",
                "TESSERA-WAN02",
            ),
        ),
        // The other registration's answer does not finish this one.
        (
            format!("/v2/users/{user}/passkeys/{id}"),
            json!({"publicKeyCredential": for_other, "passkeyName": "x"}),
            (400, 3, "Error on parse credential data", "WEBAU-sl9dr"),
        ),
        // ZITADEL's request validation: a passkey has a name of 1 to 200 characters.
        (
            format!("/v2/users/{user}/passkeys/{id}"),
            json!({"publicKeyCredential": for_other, "passkeyName": ""}),
            (
                400,
                3,
                "invalid VerifyPasskeyRegistrationRequest.PasskeyName: value length must be between 1 and 200 runes, inclusive",
                "TESSERA-PKY01",
            ),
        ),
        (
            format!("/v2/users/{user}/passkeys/{}", "p".repeat(20)),
            json!({"publicKeyCredential": for_other, "passkeyName": "x"}),
            (404, 5, "WebAuthN Token could not be found", "COMMAND-2M9ds"),
        ),
        (
            format!("/v2/users/{unknown_user}/passkeys"),
            json!({}),
            (404, 5, "User could not be found", "COMMAND-SqyJz"),
        ),
    ];
    for (path, body, (http, code, message, error_id)) in cases {
        let before = app.fingerprint().await;
        let reply = call(&app, Method::POST, &path, body).await;
        assert_zitadel_error(&reply, http, code, message, error_id);
        assert_eq!(app.fingerprint().await, before, "{path}");
    }

    // A finished registration is not finished twice.
    let other_id = str_of(&other, "passkeyId");
    let (status, body) = finish(&app, &user, other_id, json!(for_other), "Phone").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_refused_unchanged(
        &app,
        finish(&app, &user, other_id, json!(for_other), "Phone"),
        (404, 5, "WebAuthN Token could not be found", "COMMAND-2M9ds"),
    )
    .await;
    // The registered passkey is excluded from the next registration.
    let next = start(&app, &user, json!({})).await;
    assert_eq!(
        creation_options(&next)
            .public_key
            .exclude_credentials
            .map(|c| c.len()),
        Some(1)
    );
}

/// An assertion that names another user is refused. One made before a later one was accepted
/// moves the sign counter back: the passkey may be cloned, and the check fails.
#[tokio::test]
async fn a_sign_counter_that_goes_back_means_a_cloned_passkey() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "clone@example.com").await;
    let (mut token, _) = SoftToken::new(true).unwrap();
    register(&app, &mut token, &user, "Laptop").await;
    // An assertion that names another user (WebAuthn §7.2 step 6) is refused.
    let (session, options) = challenge(&app, &user).await;
    let mut foreign = json!(token.do_authentication(origin(), options).unwrap());
    foreign["response"]["userHandle"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let reply = webauthn_check(&app, &session, &foreign).await;
    assert_zitadel_error(
        &reply,
        400,
        3,
        "Error on parse credential data",
        "WEBAU-sl9dr",
    );

    let (first, options) = challenge(&app, &user).await;
    let earlier = token.do_authentication(origin(), options).unwrap();
    let (second, options) = challenge(&app, &user).await;
    let later = token.do_authentication(origin(), options).unwrap();
    let (status, body) = webauthn_check(&app, &second, &later).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reply = webauthn_check(&app, &first, &earlier).await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "The security key's sign counter did not advance: it may be cloned",
        "TESSERA-WAN01",
    );
    let got = call_ok(
        &app,
        Method::GET,
        &format!("/v2/sessions/{first}"),
        json!({}),
    )
    .await;
    assert_eq!(got["session"]["factors"].get("webAuthN"), None, "{got}");
    let suspected = count(
        &app,
        "SELECT COUNT(*) FROM events WHERE user_id = $1 AND detail = 'passkey' \
         AND kind IN ('factor.clone_suspected', 'factor.verification_failed')",
        &user,
    )
    .await;
    assert_eq!(suspected, 3);
}

/// A registration never finished is deleted by the sweep a day after it began; passkeys, and
/// registrations begun since, stay. Deleting the user deletes their passkeys.
#[tokio::test]
async fn unfinished_registrations_are_swept_and_passkeys_go_with_their_user() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "sweep@example.com").await;
    let (mut token, _) = SoftToken::new(true).unwrap();
    let abandoned = str_of(&start(&app, &user, json!({})).await, "passkeyId").to_owned();
    let passkey = register(&app, &mut token, &user, "Laptop").await;
    app.advance(EXPIRED_RETENTION.whole_seconds());
    let fresh = str_of(&start(&app, &user, json!({})).await, "passkeyId").to_owned();
    // Read from the database: the listings show ready passkeys only.
    let pool = app.db().await;
    let ids = async || {
        let sql = "SELECT id FROM passkeys WHERE user_id = $1 ORDER BY id";
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .bind(&user)
            .fetch_all(&pool)
            .await
            .unwrap();
        ids
    };
    let mut all = vec![abandoned.clone(), passkey.clone(), fresh.clone()];
    all.sort();
    assert_eq!(ids().await, all);

    // The sweep runs every ten minutes.
    app.advance(11 * 60);
    let mut kept = vec![passkey, fresh];
    kept.sort();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while ids().await != kept {
        assert!(tokio::time::Instant::now() < deadline, "never swept");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    call_ok(
        &app,
        Method::DELETE,
        &format!("/v2/users/{user}"),
        json!({}),
    )
    .await;
    let left = count(
        &app,
        "SELECT COUNT(*) FROM passkeys WHERE user_id = $1",
        &user,
    )
    .await;
    assert_eq!(left, 0);
}

/// The RPCs answer over Connect (JSON) as over REST.
#[tokio::test]
async fn passkeys_are_listed_over_connect() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "connect@example.com").await;
    let (mut token, _) = SoftToken::new(true).unwrap();
    let id = register(&app, &mut token, &user, "Key").await;
    let response = app
        .client
        .post(app.url("/zitadel.user.v2.UserService/ListPasskeys"))
        .bearer_auth(app.pat())
        .header("content-type", "application/json")
        .body(json!({"userId": user}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["result"],
        json!([{"id": id, "state": "AUTH_FACTOR_STATE_READY", "name": "Key"}])
    );
}

/// ZITADEL's login UI registers a passkey for a user who is not signed in with a code from
/// `CreatePasskeyRegistrationLink`: any caller holding the code may start that registration,
/// once, within the hour; without a code, such a caller may not.
#[tokio::test]
async fn a_returned_registration_code_lets_any_caller_start_one_registration() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "code@example.com").await;
    let viewer = app
        .machine_pat(None, "login-ui", tessera_core::Role::OrgOwnerViewer)
        .await;
    let link = format!("/v2/users/{user}/passkeys/registration_link");
    let created = call_ok(&app, Method::POST, &link, json!({"returnCode": {}})).await;
    let code = created["code"].clone();
    assert_eq!(str_of(&code, "code").len(), 12, "{created}");
    assert!(created["details"]["changeDate"].is_string(), "{created}");
    let passkeys = format!("/v2/users/{user}/passkeys");
    let register = |body: Value| app.zitadel(Method::POST, &passkeys, &viewer, None, Some(body));

    // Without the code, or with a wrong one, the viewer may not; nothing changes.
    let wrong = json!({"id": code["id"], "code": "x".repeat(12)});
    let unknown = json!({"id": "nope", "code": code["code"]});
    for (body, refusal) in [
        (
            json!({}),
            (403, 7, "No matching permissions found", "AUTH-5mWD2"),
        ),
        (
            json!({"code": wrong}),
            (400, 3, "Code is invalid", "COMMAND-Eeb2a"),
        ),
        (
            json!({"code": unknown}),
            (400, 3, "Code is invalid", "COMMAND-Eeb2a"),
        ),
    ] {
        assert_refused_unchanged(&app, register(body), refusal).await;
    }

    // With it, the viewer starts the registration (the user's browser finishes it).
    let (status, started) = register(json!({"code": code, "domain": "localhost"})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token
        .do_registration(origin(), creation_options(&started))
        .unwrap();
    // The viewer finishes it too: only the browser given the options can answer them.
    let id = str_of(&started, "passkeyId");
    let (status, body) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/passkeys/{id}"),
            &viewer,
            None,
            Some(json!({"publicKeyCredential": credential, "passkeyName": "Phone"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        listed(&app, &user).await["result"][0]["state"],
        "AUTH_FACTOR_STATE_READY"
    );

    // A code starts one registration.
    assert_refused_unchanged(
        &app,
        register(json!({"code": code})),
        (400, 3, "Code is invalid", "COMMAND-Eeb2a"),
    )
    .await;

    // And works for an hour.
    let late = call_ok(&app, Method::POST, &link, json!({"returnCode": {}})).await["code"].clone();
    app.advance(3601);
    assert_refused_unchanged(
        &app,
        register(json!({"code": late})),
        (400, 3, "Code is invalid", "COMMAND-Eeb2a"),
    )
    .await;

    // Only a caller who may manage the user's credentials makes codes.
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            &link,
            &viewer,
            None,
            Some(json!({"returnCode": {}})),
        ),
        (403, 7, "No matching permissions found", "AUTH-5mWD2"),
    )
    .await;
}

/// The path of an emailed link to Tessera's registration page, and its query, read off the
/// next message `smtp` receives.
async fn mailed_page_link(app: &TestApp, smtp: &SmtpSink, to: &str) -> (String, Value) {
    let mail = smtp.next_message(std::time::Duration::from_secs(20)).await;
    assert_eq!(mail.rcpt_to, [to]);
    let prefix = format!("{}/ui/login/login/passwordless/init?", app.base);
    let at = mail.text.find(&prefix).expect("the page's link") + prefix.len();
    let query = mail.text[at..].split_whitespace().next().unwrap();
    let pairs: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), json!(v)))
        .collect();
    (
        format!("/ui/login/login/passwordless/init?{query}"),
        Value::Object(pairs),
    )
}

/// An emailed registration link is the caller's `urlTemplate` filled in, else (no template,
/// or no medium at all, as in ZITADEL) a link to Tessera's registration page; either code
/// starts a registration.
#[tokio::test]
async fn a_registration_link_is_emailed_as_the_callers_template_or_to_the_page() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let user = user_id(&app, "mail@example.com").await;
    let link = format!("/v2/users/{user}/passkeys/registration_link");
    let template = "https://app.example.com/passkey?userID={{.UserID}}&orgID={{.OrgID}}&codeID={{.CodeID}}&code={{.Code}}";
    let sent = call_ok(
        &app,
        Method::POST,
        &link,
        json!({"sendLink": {"urlTemplate": template}}),
    )
    .await;
    assert_eq!(sent.get("code"), None, "{sent}");
    let mail = smtp.next_message(std::time::Duration::from_secs(20)).await;
    assert_eq!(mail.rcpt_to, ["mail@example.com"]);
    assert!(mail.subject.contains("passkey"), "{}", mail.subject);
    let prefix = format!("https://app.example.com/passkey?userID={user}&orgID=");
    let at = mail.text.find(&prefix).expect("the link") + prefix.len();
    let query: std::collections::HashMap<String, String> = url::form_urlencoded::parse(
        format!(
            "orgID={}",
            mail.text[at..].split_whitespace().next().unwrap()
        )
        .as_bytes(),
    )
    .into_owned()
    .collect();
    let code = json!({"id": query["codeID"], "code": query["code"]});
    let started = start(&app, &user, json!({"code": code})).await;
    assert!(started["passkeyId"].is_string(), "{started}");

    for body in [json!({}), json!({"sendLink": {}})] {
        let sent = call_ok(&app, Method::POST, &link, body).await;
        assert_eq!(sent.get("code"), None, "{sent}");
        let (page, query) = mailed_page_link(&app, &smtp, "mail@example.com").await;
        assert_eq!(query["userID"], user, "{query}");
        let (status, html) = app.get(&page).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let code = json!({"id": query["codeID"], "code": query["code"]});
        let started = start(&app, &user, json!({"code": code})).await;
        assert!(started["passkeyId"].is_string(), "{started}");
    }
}

/// v1's links: management's `AddPasswordlessRegistration` (`user.credential.write`) returns
/// one, `SendPasswordlessRegistration` (`user.write`) emails one, auth's
/// `AddMyPasswordlessLink` and `SendMyPasswordlessLink` do the same for the signed-in user,
/// and `ImportHumanUser` returns one with `requestPasswordlessRegistration`. Each leads to
/// Tessera's registration page and its code starts a registration.
#[tokio::test]
async fn v1_registration_links_lead_to_the_page() {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| c.email.smtp_url = Some(Secret::new(url))).await;
    let session = app.sign_up("v1link@example.com", "secret12").await;
    let user = str_of(&session, "localId").to_owned();
    let id_token = str_of(&session, "idToken").to_owned();
    let code_of = |link: &str| {
        let link = url::Url::parse(link).unwrap();
        assert_eq!(link.path(), "/ui/login/login/passwordless/init", "{link}");
        let query: std::collections::HashMap<String, String> =
            link.query_pairs().into_owned().collect();
        (
            query["userID"].clone(),
            json!({"id": query["codeID"], "code": query["code"]}),
        )
    };

    let added = call_ok(
        &app,
        Method::POST,
        &format!("/management/v1/users/{user}/passwordless/_link"),
        json!({}),
    )
    .await;
    assert_eq!(added["expiration"], "3600s", "{added}");
    assert!(added["details"]["creationDate"].is_string(), "{added}");
    let (owner, code) = code_of(str_of(&added, "link"));
    assert_eq!(owner, user);
    assert!(start(&app, &user, json!({"code": code})).await["passkeyId"].is_string());

    let sent = call_ok(
        &app,
        Method::POST,
        &format!("/management/v1/users/{user}/passwordless/_send_link"),
        json!({}),
    )
    .await;
    assert!(sent["details"]["resourceOwner"].is_string(), "{sent}");
    let (page, _) = mailed_page_link(&app, &smtp, "v1link@example.com").await;
    assert_eq!(app.get(&page).await.0, StatusCode::OK);

    let (status, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/passwordless/_link",
            &id_token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["expiration"], "3600s", "{mine}");
    let (owner, code) = code_of(str_of(&mine, "link"));
    assert_eq!(owner, user);
    assert!(start(&app, &user, json!({"code": code})).await["passkeyId"].is_string());
    let (status, sent) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/passwordless/_send_link",
            &id_token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let (page, _) = mailed_page_link(&app, &smtp, "v1link@example.com").await;
    assert_eq!(app.get(&page).await.0, StatusCode::OK);

    let imported = call_ok(
        &app,
        Method::POST,
        "/management/v1/users/human/_import",
        json!({"userName": "imported", "profile": {"firstName": "Ada", "lastName": "Lovelace"},
               "email": {"email": "imported@example.com", "isEmailVerified": true},
               "requestPasswordlessRegistration": true}),
    )
    .await;
    let registration = &imported["passwordlessRegistration"];
    assert_eq!(registration["lifetime"], "3600s", "{imported}");
    assert_eq!(registration["expiration"], "3600s", "{imported}");
    let (owner, code) = code_of(str_of(registration, "link"));
    assert_eq!(owner, str_of(&imported, "userId"));
    assert!(start(&app, &owner, json!({"code": code})).await["passkeyId"].is_string());
    let plain = call_ok(
        &app,
        Method::POST,
        "/management/v1/users/human/_import",
        json!({"userName": "plain", "profile": {"firstName": "Ada", "lastName": "Lovelace"},
               "email": {"email": "plain@example.com", "isEmailVerified": true}}),
    )
    .await;
    assert_eq!(plain.get("passwordlessRegistration"), None, "{plain}");
}

/// v1's link calls refused: an unknown user, a caller without the permission, a machine
/// user on the auth API. Nothing changes.
#[tokio::test]
async fn v1_registration_links_refused_change_nothing() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "refused@example.com").await;
    let viewer = app
        .machine_pat(None, "viewer", tessera_core::Role::OrgOwnerViewer)
        .await;
    let denied = (403, 7, "No matching permissions found", "AUTH-5mWD2");
    let link = format!("/management/v1/users/{user}/passwordless/_link");
    let send = format!("/management/v1/users/{user}/passwordless/_send_link");
    let pat = app.pat();
    for (path, token, refusal) in [
        (
            "/management/v1/users/123456789/passwordless/_link".to_owned(),
            pat.as_str(),
            (404, 5, "User could not be found", "COMMAND-SqyJz"),
        ),
        (link, viewer.as_str(), denied),
        (send, viewer.as_str(), denied),
        (
            "/auth/v1/users/me/passwordless/_link".to_owned(),
            pat.as_str(),
            denied,
        ),
        (
            "/auth/v1/users/me/passwordless/_send_link".to_owned(),
            pat.as_str(),
            denied,
        ),
    ] {
        let before = app.fingerprint().await;
        let reply = app
            .zitadel(Method::POST, &path, token, None, Some(json!({})))
            .await;
        let (http, grpc, message, id) = refusal;
        assert_zitadel_error(&reply, http, grpc, message, id);
        assert_eq!(app.fingerprint().await, before, "{path}");
    }
}

/// v1's "passwordless" calls are the same passkeys: users register, list and remove their
/// own through the auth API; administrators list and remove them through management.
#[tokio::test]
async fn v1_passwordless_calls_reach_the_same_passkeys() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("v1@example.com", "secret12").await;
    let user = str_of(&session, "localId").to_owned();
    let id_token = str_of(&session, "idToken").to_owned();
    let me = |method: Method, path: &'static str, body: Value| {
        let id_token = id_token.clone();
        let app = &app;
        async move { app.zitadel(method, path, &id_token, None, Some(body)).await }
    };
    let (status, added) = me(Method::POST, "/auth/v1/users/me/passwordless", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    // WebAuthNKey.public_key: the creation options' JSON, as protojson bytes (base64).
    let bytes = data_encoding::BASE64
        .decode(str_of(&added["key"], "publicKey").as_bytes())
        .unwrap();
    let options: CreationChallengeResponse = serde_json::from_slice(&bytes).unwrap();
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token.do_registration(origin(), options).unwrap();
    let encoded = data_encoding::BASE64.encode(&serde_json::to_vec(&credential).unwrap());
    assert_refused_unchanged(&app, me(
        Method::POST,
        "/auth/v1/users/me/passwordless/_verify",
        json!({"verification": {"publicKeyCredential": encoded, "tokenName": ""}}),
    ), (400, 3, "invalid WebAuthNVerification.TokenName: value length must be between 1 and 200 runes, inclusive", "TESSERA-PKY01")).await;
    let (status, body) = me(
        Method::POST,
        "/auth/v1/users/me/passwordless/_verify",
        json!({"verification": {"publicKeyCredential": encoded, "tokenName": "my phone"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, mine) = me(
        Method::POST,
        "/auth/v1/users/me/passwordless/_search",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let id = str_of(&mine["result"][0], "id").to_owned();
    assert_eq!(
        mine,
        json!({"result": [{"id": id, "state": "AUTH_FACTOR_STATE_READY", "name": "my phone"}]})
    );
    let theirs = call_ok(
        &app,
        Method::POST,
        &format!("/management/v1/users/{user}/passwordless/_search"),
        json!({}),
    )
    .await;
    assert_eq!(theirs, mine);
    assert_eq!(listed(&app, &user).await["result"][0]["id"], id);

    // The user removes it; the administrator then finds nothing to remove.
    let (status, removed) = app
        .zitadel(
            Method::DELETE,
            &format!("/auth/v1/users/me/passwordless/{id}"),
            &id_token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::DELETE,
            &format!("/management/v1/users/{user}/passwordless/{id}"),
            json!({}),
        ),
        (404, 5, "WebAuthN Token could not be found", "COMMAND-2M9ds"),
    )
    .await;
    let (_, mine) = me(
        Method::POST,
        "/auth/v1/users/me/passwordless/_search",
        json!({}),
    )
    .await;
    assert_eq!(mine, json!({}));
}

/// Of one registration code used eight times at once, one use starts a registration; of one
/// registration finished eight times at once, one finish makes the passkey. The others hear
/// what a second try hears, and nothing is doubled.
#[tokio::test]
async fn a_code_and_a_registration_are_each_used_once_under_concurrency() {
    let app = TestApp::spawn().await;
    let user = user_id(&app, "race@example.com").await;
    let link = format!("/v2/users/{user}/passkeys/registration_link");
    let code = call_ok(&app, Method::POST, &link, json!({"returnCode": {}})).await["code"].clone();
    let post = |path: String, body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(app.pat())
            .json(&body)
    };
    let starts = (0..8)
        .map(|_| post(format!("/v2/users/{user}/passkeys"), json!({"code": code})))
        .collect();
    let (started, refused): (Vec<Reply>, Vec<Reply>) = TestApp::all_at_once(starts)
        .await
        .into_iter()
        .partition(|(status, _)| *status == StatusCode::OK);
    assert_eq!(started.len(), 1, "{refused:?}");
    for reply in &refused {
        assert_zitadel_error(reply, 400, 3, "Code is invalid", "COMMAND-Eeb2a");
    }
    let open = count(
        &app,
        "SELECT COUNT(*) FROM passkeys WHERE user_id = $1",
        &user,
    )
    .await;
    assert_eq!(open, 1);

    let started = &started[0].1;
    let (mut token, _) = SoftToken::new(true).unwrap();
    let credential = token
        .do_registration(origin(), creation_options(started))
        .unwrap();
    let id = str_of(started, "passkeyId");
    let finishes = (0..8)
        .map(|_| {
            post(
                format!("/v2/users/{user}/passkeys/{id}"),
                json!({"publicKeyCredential": credential, "passkeyName": "Laptop"}),
            )
        })
        .collect();
    let (finished, refused): (Vec<Reply>, Vec<Reply>) = TestApp::all_at_once(finishes)
        .await
        .into_iter()
        .partition(|(status, _)| *status == StatusCode::OK);
    assert_eq!(finished.len(), 1, "{refused:?}");
    for reply in &refused {
        assert_zitadel_error(
            reply,
            404,
            5,
            "WebAuthN Token could not be found",
            "COMMAND-2M9ds",
        );
    }
    assert_eq!(
        listed(&app, &user).await["result"],
        json!([{"id": id, "state": "AUTH_FACTOR_STATE_READY", "name": "Laptop"}])
    );
    let enrolled = count(
        &app,
        "SELECT COUNT(*) FROM events WHERE user_id = $1 AND kind = 'factor.enrolled'",
        &user,
    )
    .await;
    assert_eq!(enrolled, 1);
}
