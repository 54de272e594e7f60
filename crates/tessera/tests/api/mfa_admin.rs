//! MFA administration: factors set by Admin SDK calls, the project and tenant MFA
//! configuration, and test phone numbers.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn path(op: &str) -> String {
    format!("/v1/projects/{PROJECT}/accounts{op}")
}

#[tokio::test]
async fn admin_create_and_replace_factors() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .admin_post(
            &path(""),
            json!({"localId": "mfa-admin", "email": "ma@example.com", "password": "secret12", "emailVerified": true,
                   "mfaInfo": [{"phoneInfo": "+16505550301", "displayName": "Home"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = app.admin_user("mfa-admin").await.unwrap();
    let factor = &user["mfaInfo"][0];
    assert_eq!(factor["phoneInfo"], "+16505550301");
    assert_eq!(factor["displayName"], "Home");
    assert!(factor["enrolledAt"].is_string());
    let first_id = factor["mfaEnrollmentId"].clone();

    // An enrolled user's sign-in now needs the factor.
    let (_, signed_in) = app.sign_in("ma@example.com", "secret12").await;
    assert!(signed_in["mfaPendingCredential"].is_string(), "{signed_in}");

    // Replace semantics: the list given is the list kept.
    let (status, body) = app
        .admin_post(
            &path(":update"),
            json!({"localId": "mfa-admin", "mfa": {"enrollments": [
                {"mfaEnrollmentId": first_id, "phoneInfo": "+16505550301", "displayName": "Home"},
                {"mfaEnrollmentId": "second", "phoneInfo": "+16505550302", "enrolledAt": "2024-01-02T03:04:05.678Z"}
            ]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = app.admin_user("mfa-admin").await.unwrap();
    assert_eq!(user["mfaInfo"].as_array().unwrap().len(), 2);
    assert_eq!(user["mfaInfo"][1]["mfaEnrollmentId"], "second");
    assert_eq!(user["mfaInfo"][1]["enrolledAt"], "2024-01-02T03:04:05.678Z");

    let before = app.fingerprint().await;
    let errors = [
        (
            json!({"localId": "mfa-admin", "mfa": {"enrollments": [{"mfaEnrollmentId": "x", "phoneInfo": "555"}]}}),
            "INVALID_MFA_PHONE_NUMBER : Invalid format.",
        ),
        (
            json!({"localId": "mfa-admin", "mfa": {"enrollments": [
            {"mfaEnrollmentId": "d", "phoneInfo": "+16505550303"}, {"mfaEnrollmentId": "d", "phoneInfo": "+16505550304"}]}}),
            "DUPLICATE_MFA_ENROLLMENT_ID",
        ),
        (
            // A refused factor leaves the rest of the change unwritten too.
            json!({"localId": "mfa-admin", "displayName": "Changed",
                   "mfa": {"enrollments": [{"mfaEnrollmentId": "t", "totpInfo": {}}]}}),
            "INVALID_ARGUMENT : MFA provider not supported!",
        ),
    ];
    for (body, message) in errors {
        assert_it_error(&app.admin_post(&path(":update"), body).await, message);
    }
    assert_eq!(app.fingerprint().await, before);

    // `mfa: {}` clears every factor (what the Admin SDK sends for `enrolledFactors: null`).
    let (status, _) = app
        .admin_post(&path(":update"), json!({"localId": "mfa-admin", "mfa": {}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        app.admin_user("mfa-admin")
            .await
            .unwrap()
            .get("mfaInfo")
            .is_none()
    );
    let (_, signed_in) = app.sign_in("ma@example.com", "secret12").await;
    assert!(signed_in["idToken"].is_string());
}

#[tokio::test]
async fn admin_update_keeps_a_totp_factor_by_id() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("keep@example.com").await;
    let (_, done) = app.enrol_totp(&session).await;
    let c = claims(str_of(&done, "idToken"));
    let totp_id = c["firebase"]["second_factor_identifier"].clone();
    app.advance(1); // factors list oldest first; the kept TOTP factor keeps its age
    let (status, body) = app
        .admin_post(
            &path(":update"),
            json!({"localId": session["localId"], "mfa": {"enrollments": [
                {"mfaEnrollmentId": totp_id, "totpInfo": {}, "displayName": "Renamed"},
                {"phoneInfo": "+16505550311"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = app.admin_user(str_of(&session, "localId")).await.unwrap();
    assert_eq!(user["mfaInfo"][0]["mfaEnrollmentId"], totp_id);
    assert_eq!(user["mfaInfo"][0]["totpInfo"], json!({}));
    assert_eq!(user["mfaInfo"][0]["displayName"], "Renamed");
    assert_eq!(user["mfaInfo"][1]["phoneInfo"], "+16505550311");
}

#[tokio::test]
async fn import_users_with_phone_factors() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .admin_post(
            &path(":batchCreate"),
            json!({"users": [
                {"localId": "imp-mfa", "email": "im@example.com", "mfaInfo": [{"phoneInfo": "+16505550321", "mfaEnrollmentId": "f1"}]},
                {"localId": "imp-bad", "mfaInfo": [{"phoneInfo": "nope"}]}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["error"],
        json!([{"index": 1, "message": "INVALID_MFA_PHONE_NUMBER : Invalid format."}])
    );
    assert_eq!(
        app.admin_user("imp-mfa").await.unwrap()["mfaInfo"][0]["mfaEnrollmentId"],
        "f1"
    );
    assert!(app.admin_user("imp-bad").await.is_none());
}

#[tokio::test]
async fn project_config_read_and_patch_with_masks() {
    let app = TestApp::spawn().await;
    let config_path = format!("/v2/projects/{PROJECT}/config");
    let (status, config) = app.admin_get(&config_path).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["name"], format!("projects/{PROJECT}/config"));
    assert_eq!(config["mfa"]["state"], "ENABLED");
    assert_eq!(config["mfa"]["enabledProviders"], json!(["PHONE_SMS"]));
    assert_eq!(
        config["mfa"]["providerConfigs"][0]["totpProviderConfig"]["adjacentIntervals"],
        5
    );

    // What the Node Admin SDK's updateProjectConfig sends.
    let patch = app
        .client
        .patch(app.url(&format!("{config_path}?updateMask=mfa.state,mfa.enabledProviders,mfa.providerConfigs")))
        .bearer_auth("owner")
        .json(&json!({"mfa": {"state": "ENABLED", "enabledProviders": [],
                              "providerConfigs": [{"state": "ENABLED", "totpProviderConfig": {"adjacentIntervals": 0}}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK);
    let patched: serde_json::Value = patch.json().await.unwrap();
    assert_eq!(patched["name"], format!("projects/{PROJECT}/config"));
    assert_eq!(patched["mfa"]["enabledProviders"], json!([]));
    assert_eq!(
        patched["mfa"]["providerConfigs"][0]["totpProviderConfig"]["adjacentIntervals"],
        0
    );

    // SMS is now off; TOTP allows no skew.
    let session = app.verified_user("cfg@example.com").await;
    assert_it_error(
        &app.post("/v2/accounts/mfaEnrollment:start", json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+16505550331"}})).await,
        "OPERATION_NOT_ALLOWED : SMS based MFA not enabled.",
    );
    let (status, started) = app
        .post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = str_of(&started["totpSessionInfo"], "sharedSecretKey");
    let previous_step = totp(secret, app.now() - 30);
    assert_it_error(
        &app.post("/v2/accounts/mfaEnrollment:finalize", json!({"idToken": session["idToken"],
            "totpVerificationInfo": {"sessionInfo": started["totpSessionInfo"]["sessionInfo"], "verificationCode": previous_step}})).await,
        "INVALID_CODE",
    );

    // A mask names only what changes; MFA off refuses TOTP too.
    let patch = app
        .client
        .patch(app.url(&format!("{config_path}?updateMask=mfa.state")))
        .bearer_auth("owner")
        .json(&json!({"mfa": {"state": "DISABLED", "enabledProviders": ["PHONE_SMS"]}}))
        .send()
        .await
        .unwrap();
    let patched: serde_json::Value = patch.json().await.unwrap();
    assert_eq!(patched["mfa"]["state"], "DISABLED");
    assert_eq!(
        patched["mfa"]["enabledProviders"],
        json!([]),
        "not in the mask, so unchanged"
    );
    assert_it_error(
        &app.post(
            "/v2/accounts/mfaEnrollment:start",
            json!({"idToken": session["idToken"], "totpEnrollmentInfo": {}}),
        )
        .await,
        "OPERATION_NOT_ALLOWED : TOTP based MFA not enabled.",
    );

    let bad = app
        .client
        .patch(app.url(&format!("{config_path}?updateMask=mfa.providerConfigs")))
        .bearer_auth("owner")
        .json(&json!({"mfa": {"providerConfigs": [{"state": "ENABLED", "totpProviderConfig": {"adjacentIntervals": 11}}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "INVALID_CONFIG : adjacentIntervals must be between 0 and 10."
    );
}

#[tokio::test]
async fn test_phone_numbers_get_fixed_codes_and_no_sms() {
    let app = TestApp::spawn().await;
    let path =
        format!("/v2/projects/{PROJECT}/config?updateMask=signIn.phoneNumber.testPhoneNumbers");
    let numbers =
        json!({"signIn": {"phoneNumber": {"testPhoneNumbers": {"+15555550100": "123456"}}}});
    let (status, body) = app.bearer_patch(&path, "owner", numbers).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = app.verified_user("testnum@example.com").await;
    let (_, started) = app
        .post("/v2/accounts/mfaEnrollment:start", json!({"idToken": session["idToken"], "phoneEnrollmentInfo": {"phoneNumber": "+15555550100"}}))
        .await;
    let (_, codes) = app
        .get(&format!(
            "/emulator/v1/projects/{PROJECT}/verificationCodes"
        ))
        .await;
    assert_eq!(
        codes,
        json!({"verificationCodes": []}),
        "no SMS for a test number"
    );
    let (status, body) = app
        .post("/v2/accounts/mfaEnrollment:finalize", json!({"idToken": session["idToken"],
            "phoneVerificationInfo": {"sessionInfo": started["phoneSessionInfo"]["sessionInfo"], "code": "123456"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn tenants_crud_with_mfa_config() {
    let app = TestApp::spawn().await;
    let tenants = format!("/v2/projects/{PROJECT}/tenants");
    let (status, created) = app
        .admin_post(&tenants, json!({"displayName": "Acme", "mfaConfig": {"state": "ENABLED", "enabledProviders": ["PHONE_SMS"]},
                                     "allowPasswordSignup": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let name = str_of(&created, "name").to_owned();
    assert!(
        name.starts_with(&format!("projects/{PROJECT}/tenants/acme-")),
        "{name}"
    );
    let tenant_id = name.rsplit('/').next().unwrap().to_owned();
    assert_eq!(created["displayName"], "Acme");
    assert_eq!(created["mfaConfig"]["state"], "ENABLED");

    let (_, listed) = app.admin_get(&tenants).await;
    assert_eq!(listed["tenants"][0]["name"], name.as_str());

    let patched = app
        .client
        .patch(app.url(&format!(
            "{tenants}/{tenant_id}?updateMask=displayName,mfaConfig.state"
        )))
        .bearer_auth("owner")
        .json(&json!({"displayName": "Acme Corp", "mfaConfig": {"state": "DISABLED"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let (_, fetched) = app.admin_get(&format!("{tenants}/{tenant_id}")).await;
    assert_eq!(fetched["displayName"], "Acme Corp");
    assert_eq!(fetched["mfaConfig"]["state"], "DISABLED");
    assert_eq!(
        fetched["mfaConfig"]["enabledProviders"],
        json!(["PHONE_SMS"])
    );

    // Users of the tenant live and die with it.
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/tenants/{tenant_id}/accounts"),
            json!({"localId": "tu"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deleted = app
        .client
        .delete(app.url(&format!("{tenants}/{tenant_id}")))
        .bearer_auth("owner")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_it_error(
        &app.admin_get(&format!("{tenants}/{tenant_id}")).await,
        "TENANT_NOT_FOUND",
    );
    assert_it_error(
        &app.admin_get("/v2/projects/nope/config").await,
        "PROJECT_NOT_FOUND",
    );
}

/// A tenant's id is its name's letters and five random digits. A thousand tenants of one name
/// draw some id twice (about five times in a thousand tenants); the second draw used to
/// return the first tenant as if it were new, so two creations shared one tenant. The
/// thousand are then listed in pages, as Google lists them.
#[tokio::test]
async fn tenants_of_one_name_each_get_their_own_id_and_are_listed_in_pages() {
    let app = TestApp::spawn().await;
    let tenants = format!("/v2/projects/{PROJECT}/tenants");
    let mut names = HashSet::new();
    for _ in 0..50 {
        let requests = (0..20).map(|_| {
            app.client
                .post(app.url(&tenants))
                .bearer_auth("owner")
                .json(&json!({"displayName": "Acme"}))
        });
        for (status, created) in TestApp::all_at_once(requests.collect()).await {
            assert_eq!(status, StatusCode::OK, "{created}");
            let name = str_of(&created, "name").to_owned();
            assert!(names.insert(name.clone()), "{name} created twice");
        }
    }
    let page = async |query: &str| {
        let (status, page) = app.admin_get(&format!("{tenants}?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let listed: Vec<String> = page["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .map(|t| str_of(t, "name").to_owned())
            .collect();
        (listed, page["nextPageToken"].as_str().map(str::to_owned))
    };
    let (all, next) = page("pageSize=1000").await;
    assert_eq!(next, None);
    assert_eq!(all.iter().cloned().collect::<HashSet<_>>(), names);
    assert!(all.is_sorted(), "in the order of their ids");
    assert_eq!(
        page("pageSize=5000").await,
        (all.clone(), None),
        "1,000 at most"
    );

    // Google's default page is 20; a page's token leads to the next one, to the end.
    let (first, next) = page("").await;
    assert_eq!((first.as_slice(), next.is_some()), (&all[..20], true));
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let (listed, next) = page(&format!("pageSize=300&pageToken={token}")).await;
        paged.extend(listed);
        match next {
            Some(next) => token = next,
            None => break,
        }
    }
    assert_eq!(paged, all);
    for (size, shown) in [("many", "\"many\""), ("2147483648", "2147483648")] {
        assert_google_error(
            &app.admin_get(&format!("{tenants}?pageSize={size}")).await,
            400,
            "INVALID_ARGUMENT",
            &format!("Invalid value at 'page_size' (TYPE_INT32), {shown}"),
        );
    }
}

/// Eight replacements of one user's factors at once leave one of the eight lists, whole: on
/// PostgreSQL each replacement's delete missed the others' inserts, and the user kept the
/// union (eight factors of the limit of five), or heard that a number it never had was taken.
#[tokio::test]
async fn concurrent_replacements_leave_one_list() {
    let app = TestApp::spawn().await;
    let session = app.verified_user("lists@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let list = |i: usize| {
        json!({"localId": user, "mfa": {"enrollments": [
            {"mfaEnrollmentId": format!("a{i}"), "phoneInfo": format!("+165055504{i}1")},
            {"mfaEnrollmentId": format!("b{i}"), "phoneInfo": format!("+165055504{i}2")}]}})
    };
    let requests = (0..8).map(|i| {
        app.client
            .post(app.url(&path(":update")))
            .bearer_auth("owner")
            .json(&list(i))
    });
    let replies = TestApp::all_at_once(requests.collect()).await;
    assert!(
        replies.iter().all(|(status, _)| *status == StatusCode::OK),
        "{replies:?}"
    );
    let listed = app.admin_user(&user).await.expect("user")["mfaInfo"].clone();
    let ids: Vec<&str> = listed
        .as_array()
        .expect("mfaInfo")
        .iter()
        .map(|f| str_of(f, "mfaEnrollmentId"))
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert_eq!(ids[0][1..], ids[1][1..], "one list: {listed}");
}

/// An administrator chooses factor ids, and an id is its user's own, as Firebase's are: two
/// users (and an imported third) may hold one, each signs in with their own, and withdrawing
/// one leaves the other.
#[tokio::test]
async fn two_users_may_hold_one_factor_id() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for (email, phone) in [
        ("one@example.com", "+16505550451"),
        ("two@example.com", "+16505550452"),
    ] {
        let session = app.verified_user(email).await;
        let user = str_of(&session, "localId").to_owned();
        let given = json!({"localId": user, "mfa": {"enrollments": [
            {"mfaEnrollmentId": "shared", "phoneInfo": phone}]}});
        let (status, body) = app.admin_post(&path(":update"), given).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        users.push((email, phone, user));
    }
    // An import may give a third user the id too.
    let imported = json!({"users": [{"localId": "imported", "email": "three@example.com",
        "emailVerified": true,
        "mfaInfo": [{"phoneInfo": "+16505550453", "mfaEnrollmentId": "shared"}]}]});
    let (status, body) = app.admin_post(&path(":batchCreate"), imported).await;
    assert_eq!(
        (status, body.get("error")),
        (StatusCode::OK, None),
        "{body}"
    );
    let third = app.admin_user("imported").await.expect("imported");
    assert_eq!(third["mfaInfo"][0]["mfaEnrollmentId"], "shared", "{third}");
    let mut tokens = Vec::new();
    for (email, phone, user) in &users {
        let (_, pending) = app.sign_in(email, "secret12").await;
        let credential = str_of(&pending, "mfaPendingCredential");
        let (status, started) = app
            .post(
                "/v2/accounts/mfaSignIn:start",
                json!({"mfaPendingCredential": credential, "mfaEnrollmentId": "shared",
                       "phoneSignInInfo": {"recaptchaToken": "t"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let session_info = str_of(&started["phoneResponseInfo"], "sessionInfo");
        let code = app.sms_code(session_info).await;
        let (status, done) = app
            .post(
                "/v2/accounts/mfaSignIn:finalize",
                json!({"mfaPendingCredential": credential,
                       "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let token = str_of(&done, "idToken").to_owned();
        let signed_in = claims(&token);
        assert_eq!(signed_in["user_id"], user.as_str());
        assert_eq!(signed_in["firebase"]["second_factor_identifier"], "shared");
        let (_, looked) = app.lookup(&token).await;
        assert_eq!(looked["users"][0]["mfaInfo"][0]["phoneInfo"], *phone);
        tokens.push(token);
    }
    let (status, body) = app
        .post(
            "/v2/accounts/mfaEnrollment:withdraw",
            json!({"idToken": tokens[0], "mfaEnrollmentId": "shared"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = app.admin_user(&users[0].2).await.expect("user");
    assert!(first.get("mfaInfo").is_none(), "{first}");
    let second = app.admin_user(&users[1].2).await.expect("user");
    assert_eq!(
        second["mfaInfo"][0]["mfaEnrollmentId"], "shared",
        "{second}"
    );
}
