//! ZITADEL's user and organization calls: users created through v1 and v2 (with an imported
//! TOTP secret), email and phone verification codes gating OTP Email and OTP SMS, and new
//! organizations, which are tenants of the project.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Role;

use crate::helpers::*;

async fn ready_factors(app: &TestApp, user: &str) -> Value {
    let path = format!("/management/v1/users/{user}/auth_factors/_search");
    call_ok(app, Method::POST, &path, json!({})).await
}

#[tokio::test]
async fn v2_human_with_imported_totp_and_a_phone_proven_by_code() {
    let app = TestApp::spawn().await;
    // A secret an authenticator app already holds (RFC 6238's test key).
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({
            "profile": {"givenName": "Ada", "familyName": "Lovelace"},
            "email": {"email": "ada@example.com", "isVerified": true},
            "phone": {"phone": "+15550100001", "returnCode": {}},
            "password": {"password": "correct horse"},
            "totpSecret": secret,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    let code = str_of(&created, "phoneCode").to_owned();
    assert_eq!(code.len(), 6);
    assert!(created["details"]["creationDate"].is_string());
    assert_eq!(
        ready_factors(&app, &user).await,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "otp": {}}]})
    );

    // The imported secret signs in through Identity Toolkit with an independent code.
    let (status, pending) = app.sign_in("ada@example.com", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    let factor = pending["mfaInfo"][0]["mfaEnrollmentId"].clone();
    let (status, signed_in) = app
        .post(
            "/v2/accounts/mfaSignIn:finalize",
            json!({
                "mfaPendingCredential": pending["mfaPendingCredential"],
                "mfaEnrollmentId": factor,
                "totpVerificationInfo": {"verificationCode": totp(secret, app.now())},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");

    // The phone is not the user's until proven: OTP SMS is refused, a wrong code changes nothing.
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/otp_sms"),
        json!({}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-Q54j2",
    );
    let before = app.fingerprint().await;
    let wrong = if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" };
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone/verify"),
        json!({"verificationCode": wrong}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    assert_eq!(app.fingerprint().await, before);
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone/verify"),
        json!({"verificationCode": code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Single use.
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone/verify"),
        json!({"verificationCode": code}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/otp_sms"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Removing the phone takes the OTP SMS factor with it.
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/v2/users/{user}/phone"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ready_factors(&app, &user).await,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "otp": {}}]})
    );
    let reply = call(
        &app,
        Method::DELETE,
        &format!("/v2/users/{user}/phone"),
        json!({}),
    )
    .await;
    assert_zitadel_error(&reply, 404, 5, "Phone not found", "COMMAND-ieJ2e");
}

#[tokio::test]
async fn set_email_with_a_returned_code_gates_otp_email() {
    let app = TestApp::spawn().await;
    let session = app.sign_up("plain@example.com", "secret12").await;
    let user = str_of(&session, "localId").to_owned();
    let (status, set) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/email"),
        json!({"email": "new@example.com", "returnCode": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let code = str_of(&set, "verificationCode").to_owned();
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/otp_email"),
        json!({}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-KLJ2d",
    );
    // Codes are case-insensitive, as ZITADEL's upper-case alphabet allows.
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/email/verify"),
        json!({"verificationCode": code.to_ascii_lowercase()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/otp_email"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let account = app.admin_user(&user).await.unwrap();
    assert_eq!(
        (
            account["email"].as_str(),
            account["emailVerified"].as_bool()
        ),
        (Some("new@example.com"), Some(true))
    );

    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/email"),
        json!({"email": "not an address", "isVerified": true}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Email is invalid", "EMAIL-599BI");
}

#[tokio::test]
async fn v1_users_organizations_and_their_permissions() {
    let app = TestApp::spawn().await;
    let (status, org) = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        json!({"name": "Acme"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    let org_id = str_of(&org, "id").to_owned();
    assert_eq!(org["details"]["resourceOwner"], org_id.as_str());

    // The new organization is a tenant of the project, with its name.
    let realm = app.service.org_realm(&org_id).await.unwrap();
    assert_eq!(realm.display_name.as_deref(), Some("Acme"));
    assert_eq!(realm.project_id, PROJECT);

    let (status, imported) = app
        .zitadel(
            Method::POST,
            "/management/v1/users/human/_import",
            &app.pat(),
            Some(&org_id),
            Some(json!({
                "userName": "grace",
                "profile": {"firstName": "Grace", "lastName": "Hopper"},
                "email": {"email": "grace@example.com", "isEmailVerified": true},
                "otpCode": "JBSWY3DPEHPK3PXP",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    let grace = str_of(&imported, "userId").to_owned();
    let (status, listed) = app
        .zitadel(
            Method::POST,
            &format!("/management/v1/users/{grace}/auth_factors/_search"),
            &app.pat(),
            Some(&org_id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "otp": {}}]})
    );

    let (status, added) = call(
        &app,
        Method::POST,
        "/management/v1/users/human",
        json!({"userName": "alan", "profile": {"firstName": "Alan", "lastName": "Turing"},
               "email": {"email": "alan@example.com"}, "initialPassword": "enigma-42"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let before = app.fingerprint().await;
    let reply = call(
        &app,
        Method::POST,
        "/management/v1/users/human",
        json!({"userName": "alan2", "profile": {"firstName": "A", "lastName": "T"},
               "email": {"email": "alan@example.com"}}),
    )
    .await;
    assert_zitadel_error(&reply, 409, 6, "User already exists", "COMMAND-k2unb");
    // A new human needs a given and a family name, checked before the phone number and
    // before whether the user exists; an import checks them in the profile's own command.
    let bad_phone = json!({"phone": "not a number"});
    let email = json!({"email": "alan@example.com"});
    for (path, body, message, id) in [
        (
            "/v2/users/human",
            json!({"profile": {"familyName": "T"}, "email": email, "phone": bad_phone}),
            "Given name in profile is empty",
            "USER-UCej2",
        ),
        (
            "/v2/users/human",
            json!({"profile": {"givenName": "A", "familyName": " "}, "email": email}),
            "Family name in profile is empty",
            "USER-4hB7d",
        ),
        (
            "/management/v1/users/human",
            json!({"userName": "alan", "email": email, "phone": {"phone": "not a number"}}),
            "Given name in profile is empty",
            "USER-UCej2",
        ),
        (
            "/management/v1/users/human/_import",
            json!({"userName": "alan3", "profile": {"firstName": "A"}, "email": email}),
            "Family name in profile is empty",
            "PROFILE-DSUkN",
        ),
    ] {
        let reply = call(&app, Method::POST, path, body).await;
        assert_zitadel_error(&reply, 400, 3, message, id);
    }
    let reply = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        json!({"name": " "}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Organisation is invalid", "ORG-deLle");
    assert_eq!(app.fingerprint().await, before);

    // An organization's own managers create users there, but no organizations.
    let manager_pat = app.machine_pat(None, "manager", Role::OrgUserManager).await;
    let before = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::POST,
            "/management/v1/orgs",
            &manager_pat,
            None,
            Some(json!({"name": "Nope"})),
        )
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    let reply = app
        .zitadel(
            Method::POST,
            "/v2/users/human",
            &manager_pat,
            None,
            Some(json!({"organization": {"orgId": org_id}, "email": {"email": "x@example.com"}})),
        )
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    assert_eq!(app.fingerprint().await, before);

    // v2 AddOrganization with a human admin.
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Globex", "admins": [{"human": {
            "profile": {"givenName": "Hank", "familyName": "Scorpio"},
            "email": {"email": "hank@example.com", "returnCode": {}},
        }}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["createdAdmins"][0]["emailCode"]
            .as_str()
            .map(str::len),
        Some(6)
    );
    let globex = app
        .service
        .org_realm(str_of(&created, "organizationId"))
        .await
        .unwrap();
    assert_eq!(globex.display_name.as_deref(), Some("Globex"));

    // v2 addresses users across organizations: no x-zitadel-orgid needed.
    let hank = str_of(&created["createdAdmins"][0], "userId").to_owned();
    let code = str_of(&created["createdAdmins"][0], "emailCode").to_owned();
    let (status, verified) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{hank}/email/verify"),
        json!({"verificationCode": code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(
        verified["details"]["resourceOwner"],
        globex.org_id.as_deref().unwrap()
    );
    let (status, session) = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"loginName": "hank@example.com"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/v2/sessions/{}", str_of(&session, "sessionId")),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["session"]["factors"]["user"]["id"], hank.as_str());
    assert_eq!(
        got["session"]["factors"]["user"]["organizationId"],
        globex.org_id.as_deref().unwrap()
    );
    // An organization's own manager cannot reach into another one.
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{hank}/otp_email"),
            &manager_pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
}

/// v2 AddOrganization with the id the caller chose (`organizationId` over the deprecated
/// `orgId`); a taken id, an existing user as admin and
/// a bad admin each refuse the whole call, leaving no organization and no user behind.
#[tokio::test]
async fn add_organization_with_a_chosen_id_and_its_refusals() {
    let app = TestApp::spawn().await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Initech", "organizationId": "initech-1", "orgId": "ignored", "admins": [{"human": {
            "profile": {"givenName": "Bill", "familyName": "Lumbergh"},
            "email": {"email": "bill@example.com", "isVerified": true},
        }}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["organizationId"], "initech-1");
    assert_eq!(created["details"]["resourceOwner"], "initech-1");
    let initech = app.service.org_realm("initech-1").await.unwrap();
    assert_eq!(initech.display_name.as_deref(), Some("Initech"));
    let tenant = initech.tenant_id.as_deref().unwrap();
    let (status, found) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/tenants/{tenant}/accounts:lookup"),
            json!({"localId": [str_of(&created["createdAdmins"][0], "userId")]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["users"][0]["email"], "bill@example.com", "{found}");

    let before = app.fingerprint().await;
    let reply = call(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Initrode", "orgId": "initech-1"}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        409,
        6,
        "Organisation's name or id already taken",
        "ORG-laho2n",
    );
    let reply = call(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Initrode", "admins": [
            {"human": {"profile": {"givenName": "Peter", "familyName": "Gibbons"},
                       "email": {"email": "peter@example.com"}}},
            {"userId": str_of(&created["createdAdmins"][0], "userId")},
        ]}),
    )
    .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Organization members are not supported: name each admin as a new human user",
        "TESSERA-ORG01",
    );
    let reply = call(
        &app,
        Method::POST,
        "/v2/organizations",
        json!({"name": "Initrode", "admins": [
            {"human": {"profile": {"givenName": "Peter", "familyName": "Gibbons"},
                       "email": {"email": "peter@example.com"}}},
            {"human": {"profile": {"givenName": "Milton", "familyName": "Waddams"},
                       "email": {"email": "not an address"}}},
        ]}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Email is invalid", "EMAIL-599BI");
    assert_eq!(app.fingerprint().await, before);
}

/// A v2 human user with the email address `email` (AddHumanUser's `email` object); the reply.
async fn ada(app: &TestApp, email: Value) -> Value {
    let (status, created) = call(
        app,
        Method::POST,
        "/v2/users/human",
        json!({"profile": {"givenName": "Ada", "familyName": "Lovelace"}, "email": email}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test]
async fn a_contact_code_used_up_by_wrong_ones_refuses_the_right_one_until_resent() {
    let app = TestApp::spawn().await;
    let created = ada(&app, json!({"email": "ada@example.com", "returnCode": {}})).await;
    let user = str_of(&created, "userId").to_owned();
    let code = str_of(&created, "emailCode").to_owned();
    let wrong = if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" };
    let verify = format!("/v2/users/{user}/email/verify");
    for _ in 0..5 {
        let reply = call(
            &app,
            Method::POST,
            &verify,
            json!({"verificationCode": wrong}),
        )
        .await;
        assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    }
    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::POST,
            &verify,
            json!({"verificationCode": code}),
        ),
        (400, 3, "Code is invalid", "COMMAND-eis9R"),
    )
    .await;
    let verified = app.admin_user(&user).await.expect("user");
    assert_eq!(verified["emailVerified"], false, "{verified}");

    // A resent code starts afresh; the one before it is no good any more.
    let resend = format!("/v2/users/{user}/email/resend");
    let (status, resent) = call(&app, Method::POST, &resend, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let fresh = str_of(&resent, "verificationCode").to_owned();
    let (status, sent) = call(&app, Method::POST, &resend, json!({"sendCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent.get("verificationCode"), None, "{sent}");
    let reply = call(
        &app,
        Method::POST,
        &verify,
        json!({"verificationCode": fresh}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 3, "Code is invalid", "COMMAND-eis9R");
    let (status, resent) = call(&app, Method::POST, &resend, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let (status, proven) = call(
        &app,
        Method::POST,
        &verify,
        json!({"verificationCode": str_of(&resent, "verificationCode")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{proven}");
    assert_eq!(
        app.admin_user(&user).await.expect("user")["emailVerified"],
        true
    );

    // Nothing pending: no code to resend, for the address or for a number.
    let before = app.fingerprint().await;
    let reply = call(&app, Method::POST, &resend, json!({"returnCode": {}})).await;
    assert_zitadel_error(&reply, 400, 9, "Code is empty", "EMAIL-5w5ilin4yt");
    let phone_resend = format!("/v2/users/{user}/phone/resend");
    let reply = call(&app, Method::POST, &phone_resend, json!({})).await;
    assert_zitadel_error(&reply, 400, 9, "Code is empty", "PHONE-5xrra88eq8");
    assert_eq!(app.fingerprint().await, before);

    // A number awaiting its code gets a new one the same way.
    let (status, set) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone"),
        json!({"phone": "+15550100077", "returnCode": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, resent) = call(&app, Method::POST, &phone_resend, json!({"returnCode": {}})).await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_ne!(resent["verificationCode"], set["verificationCode"]);
    // GetUserByID shows the number awaiting its code, unverified (v2 and v1).
    let (status, got) = call(&app, Method::GET, &format!("/v2/users/{user}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        got["user"]["human"]["phone"],
        json!({"phone": "+15550100077"})
    );
    let v1 = format!("/management/v1/users/{user}");
    let (status, got) = call(&app, Method::GET, &v1, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        got["user"]["human"]["phone"],
        json!({"phone": "+15550100077"})
    );

    // Setting what the user has, or awaits a code for, changes nothing: ZITADEL asks for a
    // resend instead.
    let before = app.fingerprint().await;
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/email"),
        json!({"email": "ada@example.com", "returnCode": {}}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 9, "Email not changed", "COMMAND-Uch5e");
    let reply = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone"),
        json!({"phone": "+15550100077", "isVerified": true}),
    )
    .await;
    assert_zitadel_error(&reply, 400, 9, "Phone not changed", "COMMAND-Uch5e");
    assert_eq!(app.fingerprint().await, before);
    let (status, proven) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{user}/phone/verify"),
        json!({"verificationCode": str_of(&resent, "verificationCode")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{proven}");
    assert_eq!(
        app.admin_user(&user).await.expect("user")["phoneNumber"],
        "+15550100077"
    );
    let (status, got) = call(&app, Method::GET, &v1, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        got["user"]["human"]["phone"],
        json!({"phone": "+15550100077", "isPhoneVerified": true})
    );
}

/// One OTP Email factor per user, also when sixteen adds arrive at once (on PostgreSQL each
/// add's check could find none, and every such one was added): the others hear what a
/// second add hears.
#[tokio::test]
async fn sixteen_otp_email_adds_at_once_add_one() {
    let app = TestApp::spawn().await;
    let created = ada(
        &app,
        json!({"email": "ada@example.com", "isVerified": true}),
    )
    .await;
    let user = str_of(&created, "userId").to_owned();
    let add = || {
        app.client
            .post(app.url(&format!("/v2/users/{user}/otp_email")))
            .bearer_auth(app.pat())
            .json(&json!({}))
    };
    let mut added = 0;
    for reply in TestApp::all_at_once((0..16).map(|_| add()).collect()).await {
        if reply.0 == StatusCode::OK {
            added += 1;
        } else {
            let exists = "Multifactor OTP (OneTimePassword) is already set up";
            assert_zitadel_error(&reply, 409, 6, exists, "COMMAND-MKL2s");
        }
    }
    assert_eq!(added, 1);
    assert_eq!(
        ready_factors(&app, &user).await,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_READY", "otpEmail": {}}]})
    );
}

/// Of sixteen organizations asked for at once with one id, one is created; the others hear
/// that it exists, and leave no tenant behind (each made one before the id was taken).
#[tokio::test]
async fn sixteen_organizations_with_one_id_at_once_create_one() {
    let app = TestApp::spawn().await;
    let realms = async || {
        let pool = app.db().await;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM realms")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        count
    };
    let before = realms().await;
    let add = |i: usize| {
        app.client
            .post(app.url("/v2/organizations"))
            .bearer_auth(app.pat())
            .json(&json!({"name": format!("Racer {i}"), "organizationId": "racers"}))
    };
    let mut created = 0;
    for reply in TestApp::all_at_once((0..16).map(add).collect()).await {
        if reply.0 == StatusCode::CREATED {
            created += 1;
        } else {
            assert_zitadel_error(
                &reply,
                409,
                6,
                "Organisation's name or id already taken",
                "ORG-laho2n",
            );
        }
    }
    assert_eq!(created, 1);
    assert_eq!(realms().await, before + 1);
}

/// v2 DeleteUser and management v1 RemoveUser take the user with its factors and its
/// sessions; a user already gone, a viewer's call and another organization's user through v1
/// are refused and change nothing.
#[tokio::test]
async fn deleted_users_take_their_factors_and_sessions_with_them() {
    let app = TestApp::spawn().await;
    let verified = json!({"email": "ada@example.com", "isVerified": true});
    let ada_id = str_of(&ada(&app, verified).await, "userId").to_owned();
    let (status, registered) = call(
        &app,
        Method::POST,
        &format!("/v2/users/{ada_id}/otp_email"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let (status, session) = call(
        &app,
        Method::POST,
        "/v2/sessions",
        json!({"checks": {"user": {"userId": ada_id}}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let session_path = format!("/v2/sessions/{}", str_of(&session, "sessionId"));

    let viewer_pat = app.machine_pat(None, "viewer", Role::OrgOwnerViewer).await;
    let before = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::DELETE,
            &format!("/v2/users/{ada_id}"),
            &viewer_pat,
            None,
            None,
        )
        .await;
    let denied = "No matching permissions found";
    assert_zitadel_error(&reply, 403, 7, denied, "AUTH-5mWD2");
    assert_eq!(app.fingerprint().await, before);
    let (status, other) = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        json!({"name": "Elsewhere"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let before_other = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::DELETE,
            &format!("/management/v1/users/{ada_id}"),
            &app.pat(),
            Some(str_of(&other, "id")),
            None,
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    assert_eq!(app.fingerprint().await, before_other);

    let (status, deleted) = call(
        &app,
        Method::DELETE,
        &format!("/v2/users/{ada_id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted["details"]["changeDate"].is_string(), "{deleted}");
    assert_eq!(app.admin_user(&ada_id).await, None);
    let reply = call(&app, Method::GET, &session_path, json!({})).await;
    assert_zitadel_error(&reply, 404, 5, "Session not found", "QUERY-SJ84j");
    let pool = app.db().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM factors WHERE user_id = $1")
        .bind(&ada_id)
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    assert_eq!(left, 0);

    assert_refused_unchanged(
        &app,
        call(
            &app,
            Method::DELETE,
            &format!("/v2/users/{ada_id}"),
            json!({}),
        ),
        (404, 5, "User could not be found", "COMMAND-SqyJz"),
    )
    .await;

    // v1 in the user's own organization.
    let grace = json!({"email": "grace@example.com", "isVerified": true});
    let grace_id = str_of(&ada(&app, grace).await, "userId").to_owned();
    let (status, removed) = call(
        &app,
        Method::DELETE,
        &format!("/management/v1/users/{grace_id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert!(removed["details"]["changeDate"].is_string(), "{removed}");
    assert_eq!(app.admin_user(&grace_id).await, None);
}

/// GetUserByID answers a user's state, login name and profile: what a v2 or v1 add gave it, and for a user made through the Identity Toolkit its display name alone.
#[tokio::test]
async fn get_user_by_id_answers_the_profile_of_either_dialect() {
    let app = TestApp::spawn().await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2/users/human",
        json!({
            "username": "minnie",
            "profile": {"givenName": " Minnie ", "familyName": "Mouse", "displayName": "Min",
                        "nickName": "Minn", "preferredLanguage": "de-CH", "gender": "GENDER_FEMALE"},
            "email": {"email": "minnie@example.com", "isVerified": true},
            "phone": {"phone": "+41710000000", "isVerified": true},
            "password": {"password": "correct horse battery staple"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let minnie = str_of(&created, "userId").to_owned();
    let (status, got) = call(&app, Method::GET, &format!("/v2/users/{minnie}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let user = &got["user"];
    assert_eq!(user["userId"], minnie.as_str());
    assert_eq!(user["state"], "USER_STATE_ACTIVE");
    assert_eq!(user["username"], "minnie");
    assert_eq!(user["loginNames"], json!(["minnie"]));
    assert_eq!(user["preferredLoginName"], "minnie");
    assert_eq!(
        user["human"]["profile"],
        json!({"givenName": "Minnie", "familyName": "Mouse", "displayName": "Min",
               "nickName": "Minn", "preferredLanguage": "de-CH", "gender": "GENDER_FEMALE"})
    );
    assert_eq!(
        user["human"]["email"],
        json!({"email": "minnie@example.com", "isVerified": true})
    );
    assert_eq!(
        user["human"]["phone"],
        json!({"phone": "+41710000000", "isVerified": true})
    );
    assert!(user["human"]["passwordChanged"].is_string(), "{got}");
    assert!(user["details"]["creationDate"].is_string(), "{got}");
    assert_eq!(
        got["details"]["resourceOwner"],
        user["details"]["resourceOwner"]
    );

    // v1: first and last name, the display name made of them.
    let (status, added) = call(
        &app,
        Method::POST,
        "/management/v1/users/human",
        json!({
            "userName": "goofy",
            "profile": {"firstName": "Goofy", "lastName": "Goof", "gender": "GENDER_MALE"},
            "email": {"email": "goofy@example.com"},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let goofy = str_of(&added, "userId").to_owned();
    let (status, got) = call(&app, Method::GET, &format!("/v2/users/{goofy}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        got["user"]["human"]["profile"],
        json!({"givenName": "Goofy", "familyName": "Goof", "displayName": "Goofy Goof",
               "gender": "GENDER_MALE"})
    );
    let v1_path = format!("/management/v1/users/{goofy}");
    let (status, got) = call(&app, Method::GET, &v1_path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    let user = &got["user"];
    assert_eq!(user["id"], goofy.as_str());
    assert_eq!(user["state"], "USER_STATE_ACTIVE");
    assert_eq!(user["userName"], "goofy");
    assert_eq!(user["loginNames"], json!(["goofy"]));
    assert_eq!(
        user["human"]["profile"],
        json!({"firstName": "Goofy", "lastName": "Goof", "displayName": "Goofy Goof",
               "gender": "GENDER_MALE"})
    );
    assert!(user["details"]["creationDate"].is_string(), "{got}");
    // v1 reads in the call's organization only.
    let (status, other) = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        json!({"name": "Elsewhere"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    let reply = app
        .zitadel(
            Method::GET,
            &v1_path,
            &app.pat(),
            Some(str_of(&other, "id")),
            None,
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");

    // A Firebase user: its email is its login name, it has no given or family name, and a
    // disabled one is inactive.
    let (status, signed_up) = app
        .post(
            "/v1/accounts:signUp",
            json!({"email": "pluto@example.com", "password": "secret123", "displayName": "Pluto"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_up}");
    let pluto = str_of(&signed_up, "localId").to_owned();
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts:update"),
            json!({"localId": pluto, "disableUser": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, got) = call(&app, Method::GET, &format!("/v2/users/{pluto}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["user"]["state"], "USER_STATE_INACTIVE");
    assert_eq!(got["user"]["preferredLoginName"], "pluto@example.com");
    assert_eq!(
        got["user"]["human"]["profile"],
        json!({"displayName": "Pluto"})
    );

    assert_refused_unchanged(
        &app,
        call(&app, Method::GET, "/v2/users/nobody", json!({})),
        (404, 5, "User could not be found", "COMMAND-SqyJz"),
    )
    .await;
}

/// v2's ListOrganizations: the project's own organization (the default) and those added, each
/// query kind AND-ed, sorted by name or id, paged; the instance owner sees all, another
/// organization's machine user its own, a user through its ID token none.
#[tokio::test]
async fn organizations_are_listed_as_the_caller_may_see_them() {
    let app = TestApp::spawn().await;
    let search = |body: Value| call_ok(&app, Method::POST, "/v2/organizations/_search", body);
    let all = search(json!({})).await;
    assert_eq!(all["details"]["totalResult"], "1", "{all}");
    let default = str_of(&all["result"][0], "id").to_owned();
    assert_eq!(
        all["result"][0]["state"], "ORGANIZATION_STATE_ACTIVE",
        "{all}"
    );
    app.advance(1);
    for name in ["Globex", "Initech", "globe trotters"] {
        call_ok(
            &app,
            Method::POST,
            "/v2/organizations",
            json!({"name": name}),
        )
        .await;
    }
    let names = |listed: &Value| -> Vec<String> {
        listed["result"]
            .as_array()
            .map(|r| r.iter().map(|o| str_of(o, "name").to_owned()).collect())
            .unwrap_or_default()
    };
    let by_name = json!({"sortingColumn": "ORGANIZATION_FIELD_NAME_NAME", "query": {"asc": true}});
    let sorted = search(by_name.clone()).await;
    assert_eq!(sorted["details"]["totalResult"], "4", "{sorted}");
    assert_eq!(
        names(&sorted)[..3],
        ["Globex", "Initech", "demo-project"],
        "{sorted}"
    );
    let starts = json!({"queries": [{"nameQuery": {"name": "GLOBE", "method": "TEXT_QUERY_METHOD_STARTS_WITH_IGNORE_CASE"}}],
                        "sortingColumn": "ORGANIZATION_FIELD_NAME_NAME", "query": {"asc": true}});
    assert_eq!(names(&search(starts).await), ["Globex", "globe trotters"]);
    let exact = json!({"queries": [{"nameQuery": {"name": "Globex"}}]});
    let globex = search(exact).await;
    assert_eq!(names(&globex), ["Globex"]);
    let globex_id = str_of(&globex["result"][0], "id").to_owned();
    let (default_made, globex_made) = (
        str_of(&all["result"][0]["details"], "creationDate").to_owned(),
        str_of(&globex["result"][0]["details"], "creationDate").to_owned(),
    );
    assert!(default_made < globex_made, "{all} {globex}");
    assert_eq!(globex["result"][0]["details"]["resourceOwner"], globex_id);
    let both = json!({"queries": [{"idQuery": {"id": globex_id}}, {"stateQuery": {"state": "ORGANIZATION_STATE_ACTIVE"}}]});
    assert_eq!(names(&search(both).await), ["Globex"]);
    let default_only = search(json!({"queries": [{"defaultQuery": {}}]})).await;
    assert_eq!(default_only["result"][0]["id"], default, "{default_only}");
    for none in [
        json!({"queries": [{"domainQuery": {"domain": "globex.com"}}]}),
        json!({"queries": [{"stateQuery": {"state": "ORGANIZATION_STATE_INACTIVE"}}]}),
        json!({"queries": [{"idQuery": {"id": globex_id}}, {"defaultQuery": {}}]}),
    ] {
        let found = search(none.clone()).await;
        assert_eq!(found["details"].get("totalResult"), None, "{none}: {found}");
    }
    let page = search(json!({"sortingColumn": "ORGANIZATION_FIELD_NAME_NAME",
                             "query": {"asc": true, "offset": 1, "limit": 2}}))
    .await;
    assert_eq!(page["details"]["totalResult"], "4", "{page}");
    assert_eq!(names(&page), ["Initech", "demo-project"]);

    let viewer = app
        .machine_pat(Some(&globex_id), "viewer", Role::OrgOwnerViewer)
        .await;
    let (status, own) = app
        .zitadel(
            Method::POST,
            "/v2/organizations/_search",
            &viewer,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(names(&own), ["Globex"], "{own}");
    let signed_up = app.sign_up("ada@example.com", "secret12").await;
    let (status, theirs) = app
        .zitadel(
            Method::POST,
            "/v2/organizations/_search",
            str_of(&signed_up, "idToken"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(theirs.get("result"), None, "{theirs}");
}
