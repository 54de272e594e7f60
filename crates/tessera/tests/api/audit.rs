//! `tessera audit` (README "Security"): factor state changes and failed verifications from
//! both dialects, read back by the binary from the app's database with filters by user,
//! realm and time, as a table or as JSON lines.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

/// `tessera audit ARGS…` against the app's database; stdout.
async fn audit(app: &TestApp, args: &[&str]) -> String {
    app.run_tessera_ok(["audit"].iter().chain(args)).await
}

/// `--json` output: (kind, user) per line, newest first.
async fn kinds(app: &TestApp, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    audit(app, &all)
        .await
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(v["at"].as_str().unwrap().ends_with('Z'), "{v}");
            assert!(v["id"].is_i64(), "{v}");
            (
                v["kind"].as_str().unwrap().to_owned(),
                v["user"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn at(app: &TestApp) -> String {
    tessera_core::Clock::now(app.clock.as_ref())
        .format(&Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn audit_lists_events_of_both_dialects_by_user_realm_and_time() {
    let app = TestApp::spawn().await;
    let pat = app.pat();

    // Identity Toolkit, default project: TOTP enrolled, a wrong code at sign-in, withdrawn.
    let session = app.verified_user("it@example.com").await;
    let it_user = str_of(&session, "localId").to_owned();
    let (secret, enrolled) = app.enrol_totp(&session).await;
    let (_, looked) = app.lookup(str_of(&enrolled, "idToken")).await;
    let factor = str_of(&looked["users"][0]["mfaInfo"][0], "mfaEnrollmentId").to_owned();
    app.advance(60);
    let (_, pending) = app.sign_in("it@example.com", "secret12").await;
    let wrong = if totp(&secret, app.now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let reply = app
        .post(
            "/identitytoolkit.googleapis.com/v2/accounts/mfaSignIn:finalize",
            json!({"mfaPendingCredential": pending["mfaPendingCredential"], "mfaEnrollmentId": factor,
                   "totpVerificationInfo": {"verificationCode": wrong}}),
        )
        .await;
    assert_it_error(&reply, "INVALID_CODE");
    let (status, _) = app
        .post(
            "/v2/accounts/mfaEnrollment:withdraw",
            json!({"idToken": enrolled["idToken"], "mfaEnrollmentId": factor}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // ZITADEL, in an organization of its own: registered, a wrong code, verified, removed.
    app.advance(600);
    let middle = at(&app);
    let tenant = app
        .service
        .create_tenant(PROJECT, "audit-tenant")
        .await
        .unwrap();
    let org = app
        .service
        .ensure_org(tenant)
        .await
        .unwrap()
        .org_id
        .unwrap();
    let (status, created) = app
        .zitadel(
            Method::POST,
            "/v2/users/human",
            &pat,
            Some(&org),
            Some(json!({"profile": {"givenName": "Zed", "familyName": "Z"},
                        "email": {"email": "z@example.com", "isVerified": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let z_user = str_of(&created, "userId").to_owned();
    let totp_path = format!("/v2/users/{z_user}/totp");
    let (_, registered) = app
        .zitadel(Method::POST, &totp_path, &pat, None, Some(json!({})))
        .await;
    let z_secret = str_of(&registered, "secret").to_owned();
    let verify = format!("{totp_path}/verify");
    let z_wrong = if totp(&z_secret, app.now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, _) = app
        .zitadel(
            Method::POST,
            &verify,
            &pat,
            None,
            Some(json!({"code": z_wrong})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .zitadel(
            Method::POST,
            &verify,
            &pat,
            None,
            Some(json!({"code": totp(&z_secret, app.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .zitadel(Method::DELETE, &totp_path, &pat, None, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let z_events = [
        "factor.removed",
        "factor.enrolled",
        "factor.verification_failed",
        "factor.enrolment_started",
    ];
    let it_events = [
        "factor.removed",
        "factor.verification_failed",
        "factor.enrolled",
        "factor.enrolment_started",
    ];
    let only = |events: &[(String, String)]| -> Vec<String> {
        events.iter().map(|(k, _)| k.clone()).collect()
    };

    let everything = kinds(&app, &[]).await;
    assert_eq!(everything.len(), 8, "{everything:?}");
    assert_eq!(only(&everything[..4]), z_events);
    assert_eq!(only(&everything[4..]), it_events);

    let by_user = kinds(&app, &["--user", &it_user]).await;
    assert_eq!(only(&by_user), it_events);
    assert!(by_user.iter().all(|(_, u)| u == &it_user));

    // A realm by organization id, by PROJECT/TENANT, or by project.
    let z_only = kinds(&app, &["--realm", &org]).await;
    assert_eq!(only(&z_only), z_events);
    assert!(z_only.iter().all(|(_, u)| u == &z_user));
    assert_eq!(
        kinds(&app, &["--realm", &format!("{PROJECT}/audit-tenant")]).await,
        z_only
    );
    assert_eq!(only(&kinds(&app, &["--realm", PROJECT]).await), it_events);

    // Time: since is inclusive, until exclusive; filters combine; limit keeps the newest.
    assert_eq!(only(&kinds(&app, &["--since", &middle]).await), z_events);
    assert_eq!(only(&kinds(&app, &["--until", &middle]).await), it_events);
    assert!(
        kinds(&app, &["--since", &middle, "--user", &it_user])
            .await
            .is_empty()
    );
    assert_eq!(
        only(&kinds(&app, &["--limit", "2"]).await),
        ["factor.removed", "factor.enrolled"]
    );

    // The table: a header, then one tab-separated line per event.
    let table = audit(&app, &["--user", &z_user]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "AT\tREALM\tUSER\tFACTOR\tKIND\tDETAIL");
    assert_eq!(lines.len(), 5, "{table}");
    let first: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(first[1], format!("{PROJECT}/audit-tenant"));
    assert_eq!(first[2], z_user);
    assert_eq!(first[4], "factor.removed");

    // Bad input is refused with a message.
    let out = app.run_tessera(&["audit", "--since", "yesterday"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}
