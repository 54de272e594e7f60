//! The ZITADEL dialect (REST) over the store Identity Toolkit uses: TOTP registration, factor
//! listings and removal, authorisation by PAT or the user's own token, and both directions of
//! cross-dialect visibility.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const READY_OTP: &str = "AUTH_FACTOR_STATE_READY";

async fn list_v1(app: &TestApp, token: &str, user: &str) -> Value {
    let (status, body) = app
        .zitadel(
            Method::POST,
            &format!("/management/v1/users/{user}/auth_factors/_search"),
            token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn totp_registered_through_zitadel_signs_in_through_identity_toolkit() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("zt@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    assert_eq!(
        list_v1(&app, &pat, &user).await,
        json!({}),
        "an empty list is {{}}"
    );

    let (status, registered) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let secret = str_of(&registered, "secret").to_owned();
    assert_eq!(secret.len(), 32, "160 bits, base32 without padding");
    assert_eq!(
        registered["uri"],
        format!(
            "otpauth://totp/Tessera:zt@example.com?algorithm=SHA1&digits=6&issuer=Tessera&period=30&secret={secret}"
        )
    );
    assert!(
        registered["details"]["resourceOwner"]
            .as_str()
            .is_some_and(|o| !o.is_empty())
    );
    assert!(
        registered["details"]["sequence"].is_string(),
        "uint64 as a string"
    );

    // Pending: listed by v2 only when asked for NOT_READY; never by v1.
    let search = format!("/v2/users/{user}/authentication_factors/_search");
    let (_, ready_only) = app.zitadel(Method::POST, &search, &pat, None, None).await;
    assert_eq!(ready_only, json!({}));
    let (_, pending) = app
        .zitadel(
            Method::POST,
            &format!("{search}?states=AUTH_FACTOR_STATE_NOT_READY&authFactors=OTP"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(
        pending,
        json!({"result": [{"state": "AUTH_FACTOR_STATE_NOT_READY", "otp": {}}]})
    );
    assert_eq!(list_v1(&app, &pat, &user).await, json!({}));

    let verify = format!("/v2/users/{user}/totp/verify");
    let wrong = app
        .zitadel(
            Method::POST,
            &verify,
            &pat,
            None,
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_zitadel_error(&wrong, 400, 3, "Invalid code", "EVENT-8isk2");
    let (status, verified) = app
        .zitadel(
            Method::POST,
            &verify,
            &pat,
            None,
            Some(json!({"userId": user, "code": totp(&secret, app.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(
        list_v1(&app, &pat, &user).await,
        json!({"result": [{"state": READY_OTP, "otp": {}}]})
    );

    // The same factor through Identity Toolkit: listed, and required at sign-in.
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    let factor = &looked["users"][0]["mfaInfo"][0];
    assert_eq!(factor["totpInfo"], json!({}));
    let (_, first) = app.sign_in("zt@example.com", "secret12").await;
    assert!(first["mfaPendingCredential"].is_string(), "{first}");
    app.advance(30);
    let (status, signed_in) = app
        .post(
            "/v2/accounts/mfaSignIn:finalize",
            json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": factor["mfaEnrollmentId"],
                   "totpVerificationInfo": {"verificationCode": totp(&secret, app.now())}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(
        claims(str_of(&signed_in, "idToken"))["firebase"]["sign_in_second_factor"],
        "totp"
    );

    let before = app.fingerprint().await;
    let again = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(
        &again,
        409,
        6,
        "Multifactor OTP (OneTimePassword) is already set up",
        "COMMAND-do9se",
    );
    let reverify = app
        .zitadel(
            Method::POST,
            &verify,
            &pat,
            None,
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_zitadel_error(
        &reverify,
        400,
        9,
        "Errors.Users.MFA.OTP.AlreadyReady",
        "COMMAND-qx4ls",
    );
    assert_eq!(app.fingerprint().await, before);

    // Removal through ZITADEL is seen by Identity Toolkit.
    let (status, _) = app
        .zitadel(
            Method::DELETE,
            &format!("/management/v1/users/{user}/auth_factors/otp"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, looked) = app.lookup(str_of(&signed_in, "idToken")).await;
    assert!(looked["users"][0].get("mfaInfo").is_none(), "{looked}");
    let gone = app
        .zitadel(
            Method::DELETE,
            &format!("/v2/users/{user}/totp"),
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &gone,
        404,
        5,
        "Multifactor OTP (OneTimePassword) doesn't exist",
        "COMMAND-Hd9sd",
    );
}

#[tokio::test]
async fn factors_enrolled_through_identity_toolkit_list_in_zitadel() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("itz@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    app.enrol_totp(&session).await;
    app.advance(1); // listings are oldest first
    app.enrol_phone(&session, "+16505550501").await;
    assert_eq!(
        list_v1(&app, &pat, &user).await,
        json!({"result": [{"state": READY_OTP, "otp": {}}, {"state": READY_OTP, "otpSms": {}}]})
    );
    let (status, methods) = app
        .zitadel(
            Method::GET,
            &format!("/v2/users/{user}/authentication_methods"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        methods,
        json!({"details": {"totalResult": "3"}, "authMethodTypes": [
            "AUTHENTICATION_METHOD_TYPE_PASSWORD", "AUTHENTICATION_METHOD_TYPE_TOTP", "AUTHENTICATION_METHOD_TYPE_OTP_SMS"]})
    );
    let (_, only_sms) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/authentication_factors/_search?authFactors=OTP_SMS"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(
        only_sms,
        json!({"result": [{"state": READY_OTP, "otpSms": {}}]})
    );

    let (status, _) = app
        .zitadel(
            Method::DELETE,
            &format!("/management/v1/users/{user}/auth_factors/otp_sms"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, looked) = app.lookup(str_of(&session, "idToken")).await;
    let kinds: Vec<bool> = looked["users"][0]["mfaInfo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.get("totpInfo").is_some())
        .collect();
    assert_eq!(kinds, [true], "only the TOTP factor is left: {looked}");
    let gone = app
        .zitadel(
            Method::DELETE,
            &format!("/management/v1/users/{user}/auth_factors/otp_sms"),
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &gone,
        404,
        5,
        "Multifactor OTP (OneTimePassword) doesn't exist",
        "COMMAND-Sr3h3",
    );
}

#[tokio::test]
async fn users_manage_their_own_factors_with_their_id_token() {
    let app = TestApp::spawn().await;
    let me = app.verified_user("self@example.com").await;
    let other = app.verified_user("other@example.com").await;
    let token = str_of(&me, "idToken");
    let user = str_of(&me, "localId");
    let (status, registered) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let code = totp(str_of(&registered, "secret"), app.now());
    let (status, _) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp/verify"),
            token,
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine, json!({"result": [{"state": READY_OTP, "otp": {}}]}));

    let before = app.fingerprint().await;
    let denied = ("No matching permissions found", "AUTH-5mWD2");
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{}/totp", other["localId"].as_str().unwrap()),
            token,
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 403, 7, denied.0, denied.1);
    let reply = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            &app.pat(),
            None,
            None,
        )
        .await;
    assert_zitadel_error(&reply, 403, 7, denied.0, denied.1);
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn zitadel_errors_change_nothing() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("zerr@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let before = app.fingerprint().await;
    let unauthenticated = ("Errors.Token.Invalid", "AUTH-7fs1e");

    let reply = app
        .raw_post(&format!("/v2/users/{user}/totp"), "application/json", "{}")
        .await;
    assert_zitadel_error(&reply, 401, 16, unauthenticated.0, unauthenticated.1);
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            "not-a-token",
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 401, 16, unauthenticated.0, unauthenticated.1);
    let reply = app
        .zitadel(
            Method::POST,
            "/v2/users/123/totp",
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 400, 9, "User could not be found", "COMMAND-SqyJz");
    let reply = app
        .zitadel(
            Method::POST,
            "/management/v1/users/123/auth_factors/_search",
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp/verify"),
            &pat,
            None,
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_zitadel_error(
        &reply,
        404,
        5,
        "Multifactor OTP (OneTimePassword) doesn't exist",
        "COMMAND-3Mif9s",
    );
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp/verify"),
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 400, 3, "Errors.Request.Invalid", "TESSERA-REQ01");
    // An organization that does not exist, as ZITADEL's authorization answers it.
    assert_refused_unchanged(
        &app,
        app.zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            &pat,
            Some("999"),
            Some(json!({})),
        ),
        (403, 7, "Organisation doesn't exist", "AUTH-Bs7Ds"),
    )
    .await;
    let reply = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/authentication_factors/_search?states=SOMETIMES"),
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(&reply, 400, 3, "Errors.Request.Invalid", "TESSERA-REQ01");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn the_org_header_selects_the_realm() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let tenant = app
        .service
        .create_tenant(PROJECT, "zt-tenant")
        .await
        .unwrap();
    let tenant = app.service.ensure_org(tenant).await.unwrap();
    let org = tenant.org_id.clone().unwrap();
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/tenants/zt-tenant/accounts"),
            json!({"localId": "tenant-user", "email": "tu@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Management v1 acts in the caller's organization unless the header names another.
    let listing = "/management/v1/users/tenant-user/auth_factors/_search";
    let reply = app.zitadel(Method::POST, listing, &pat, None, None).await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    let (status, _) = app
        .zitadel(Method::POST, listing, &pat, Some(&org), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // v2 finds the user's organization itself, and answers with it as resource owner.
    let (status, registered) = app
        .zitadel(
            Method::POST,
            "/v2/users/tenant-user/totp",
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert_eq!(registered["details"]["resourceOwner"], org.as_str());
    // …unless a header pins the call to another organization.
    let default = app.service.realm(PROJECT, None).await.unwrap();
    let default = app.service.ensure_org(default).await.unwrap();
    let reply = app
        .zitadel(
            Method::POST,
            "/v2/users/tenant-user/totp",
            &pat,
            default.org_id.as_deref(),
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(&reply, 400, 9, "User could not be found", "COMMAND-SqyJz");
}

#[tokio::test]
async fn self_service_authenticator_app_through_auth_v1() {
    let app = TestApp::spawn().await;
    let me = app.verified_user("authv1@example.com").await;
    let token = str_of(&me, "idToken");
    let (status, added) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/otp",
            token,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert!(str_of(&added, "url").starts_with("otpauth://totp/Tessera:authv1@example.com?"));
    // An add answers with its creation date, a change with its change date.
    assert!(added["details"]["creationDate"].is_string(), "{added}");
    let secret = str_of(&added, "secret").to_owned();
    let verify = "/auth/v1/users/me/auth_factors/otp/_verify";
    let wrong = app
        .zitadel(
            Method::POST,
            verify,
            token,
            None,
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_zitadel_error(&wrong, 400, 3, "Invalid code", "EVENT-8isk2");
    let (status, verified) = app
        .zitadel(
            Method::POST,
            verify,
            token,
            None,
            Some(json!({"code": totp(&secret, app.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(verified["details"]["changeDate"].is_string(), "{verified}");
    assert!(
        verified["details"].get("creationDate").is_none(),
        "{verified}"
    );
    let (_, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(mine, json!({"result": [{"state": READY_OTP, "otp": {}}]}));

    let (status, _) = app
        .zitadel(
            Method::DELETE,
            "/auth/v1/users/me/auth_factors/otp",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = app
        .zitadel(
            Method::DELETE,
            "/auth/v1/users/me/auth_factors/otp",
            token,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &gone,
        404,
        5,
        "Multifactor OTP (OneTimePassword) doesn't exist",
        "COMMAND-Hd9sd",
    );
    let gone = app
        .zitadel(
            Method::DELETE,
            "/auth/v1/users/me/auth_factors/otp_email",
            token,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &gone,
        404,
        5,
        "Multifactor OTP (OneTimePassword) doesn't exist",
        "COMMAND-b312D",
    );
    let admin = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/otp",
            &app.pat(),
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(
        &admin,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
}

async fn connect(
    app: &TestApp,
    method: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    let response = app
        .client
        .post(app.url(&format!("/zitadel.user.v2.UserService/{method}")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn connect_json_user_service() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let session = app.verified_user("connect@example.com").await;
    let user = str_of(&session, "localId").to_owned();
    let (status, registered) = connect(
        &app,
        "RegisterTOTP",
        &pat,
        "application/json",
        &json!({"userId": user}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let code = totp(str_of(&registered, "secret"), app.now());
    let (status, _) = connect(
        &app,
        "VerifyTOTPRegistration",
        &pat,
        "application/json",
        &json!({"user_id": user, "code": code}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = connect(
        &app,
        "ListAuthenticationFactors",
        &pat,
        "application/json",
        &json!({"userId": user}).to_string(),
    )
    .await;
    assert_eq!(listed, json!({"result": [{"state": READY_OTP, "otp": {}}]}));

    let before = app.fingerprint().await;
    let (status, error) = connect(
        &app,
        "RegisterTOTP",
        &pat,
        "application/json",
        &json!({"userId": user}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["code"], "already_exists");
    assert_eq!(
        error["message"],
        "Multifactor OTP (OneTimePassword) is already set up (COMMAND-do9se)"
    );
    assert_eq!(error["details"][0]["type"], "zitadel.v1.ErrorDetail");
    // The detail is the protobuf `ErrorDetail{id = 1, message = 2}`, base64-encoded.
    let detail = data_encoding::BASE64
        .decode(error["details"][0]["value"].as_str().unwrap().as_bytes())
        .unwrap();
    let id = b"COMMAND-do9se";
    assert_eq!(
        &detail[..2 + id.len()],
        [&[0x0a, id.len() as u8][..], id].concat().as_slice()
    );

    let (status, error) = connect(
        &app,
        "RegisterTOTP",
        "nope",
        "application/json",
        &json!({"userId": user}).to_string(),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (status, error) = connect(&app, "DeleteEverything", &pat, "application/json", "{}").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_IMPLEMENTED, Some("unimplemented"))
    );
    let (status, _) = connect(&app, "RegisterTOTP", &pat, "text/plain", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, error) =
        connect(&app, "RegisterTOTP", &pat, "application/json", "{not json").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_argument"))
    );
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test]
async fn otp_sms_added_through_zitadel_completes_an_identity_toolkit_sign_in() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let (status, _) = app
        .admin_post(
            &format!("/v1/projects/{PROJECT}/accounts"),
            json!({"localId": "sms-user", "email": "sms@example.com", "password": "secret12", "emailVerified": true,
                   "phoneNumber": "+16505550601"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .zitadel(
            Method::POST,
            "/v2/users/sms-user/otp_sms",
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let again = app
        .zitadel(
            Method::POST,
            "/v2/users/sms-user/otp_sms",
            &pat,
            None,
            Some(json!({})),
        )
        .await;
    assert_zitadel_error(
        &again,
        409,
        6,
        "Multifactor OTP (OneTimePassword) is already set up",
        "COMMAND-Ad3g2",
    );
    assert_eq!(
        list_v1(&app, &pat, "sms-user").await,
        json!({"result": [{"state": READY_OTP, "otpSms": {}}]})
    );

    // Identity Toolkit sees a phone factor on the user's number and signs in with it.
    let (_, first) = app.sign_in("sms@example.com", "secret12").await;
    assert_eq!(first["mfaInfo"][0]["phoneInfo"], "+*******0601", "{first}");
    let (status, sent) = app
        .post(
            "/v2/accounts/mfaSignIn:start",
            json!({"mfaPendingCredential": first["mfaPendingCredential"], "mfaEnrollmentId": first["mfaInfo"][0]["mfaEnrollmentId"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let session_info = str_of(&sent["phoneResponseInfo"], "sessionInfo").to_owned();
    let code = app.sms_code(&session_info).await;
    let (status, signed_in) = app
        .post(
            "/v2/accounts/mfaSignIn:finalize",
            json!({"mfaPendingCredential": first["mfaPendingCredential"],
                   "phoneVerificationInfo": {"sessionInfo": session_info, "code": code}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(
        claims(str_of(&signed_in, "idToken"))["firebase"]["sign_in_second_factor"],
        "phone"
    );

    let (status, _) = app
        .zitadel(
            Method::DELETE,
            "/v2/users/sms-user/otp_sms",
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, plain) = app.sign_in("sms@example.com", "secret12").await;
    assert!(
        plain["idToken"].is_string(),
        "no second factor left: {plain}"
    );
}

#[tokio::test]
async fn otp_email_needs_a_verified_address_and_stays_out_of_identity_toolkit() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let unverified = app.sign_up("unv@example.com", "secret12").await;
    let before = app.fingerprint().await;
    let reply = app
        .zitadel(
            Method::POST,
            &format!(
                "/v2/users/{}/otp_email",
                unverified["localId"].as_str().unwrap()
            ),
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-KLJ2d",
    );
    let reply = app
        .zitadel(
            Method::POST,
            &format!(
                "/v2/users/{}/otp_sms",
                unverified["localId"].as_str().unwrap()
            ),
            &pat,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &reply,
        400,
        9,
        "Multifactor OTP (OneTimePassword) isn't ready",
        "COMMAND-Q54j2",
    );
    assert_eq!(app.fingerprint().await, before);

    let me = app.verified_user("mail@example.com").await;
    let token = str_of(&me, "idToken");
    let (status, added) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/otp_email",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(added["details"]["creationDate"].is_string(), "{added}");
    let again = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/otp_email",
            token,
            None,
            None,
        )
        .await;
    assert_zitadel_error(
        &again,
        409,
        6,
        "Multifactor OTP (OneTimePassword) is already set up",
        "COMMAND-MKL2s",
    );
    let (_, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(
        mine,
        json!({"result": [{"state": READY_OTP, "otpEmail": {}}]})
    );
    // Firebase clients cannot use an email factor: it is not listed and not demanded there.
    let (_, looked) = app.lookup(token).await;
    assert!(looked["users"][0].get("mfaInfo").is_none(), "{looked}");
    let (_, signed_in) = app.sign_in("mail@example.com", "secret12").await;
    assert!(signed_in["idToken"].is_string(), "{signed_in}");
    let (status, _) = connect(
        &app,
        "RemoveOTPEmail",
        &pat,
        "application/json",
        &json!({"userId": me["localId"]}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = app
        .zitadel(
            Method::POST,
            "/auth/v1/users/me/auth_factors/_search",
            token,
            None,
            None,
        )
        .await;
    assert_eq!(mine, json!({}));
}
