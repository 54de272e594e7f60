//! The legacy v3 "relying party" names of the v1 methods, which the Firebase iOS SDK still
//! calls (`/www.googleapis.com/identitytoolkit/v3/relyingparty/<name>` in emulator mode, the
//! same without the host segment against a custom host): the same bodies, the same answers.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn v3(name: &str) -> String {
    format!("/www.googleapis.com/identitytoolkit/v3/relyingparty/{name}")
}

/// A user's life through the v3 names: sign-up, password sign-in, lookup, a profile change,
/// an emailed link checked, a phone number linked, and deletion.
#[tokio::test]
async fn the_v3_names_answer_as_their_v1_methods() {
    let app = TestApp::spawn().await;
    let credentials =
        json!({"email": "ios@example.com", "password": "secret12", "returnSecureToken": true});
    let (status, up) = app.post(&v3("signupNewUser"), credentials.clone()).await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(up["email"], "ios@example.com");
    let local_id = str_of(&up, "localId").to_owned();

    let bare = "/identitytoolkit/v3/relyingparty/verifyPassword";
    let (status, signed_in) = app.post(bare, credentials).await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["localId"], local_id.as_str());
    let id_token = str_of(&signed_in, "idToken").to_owned();

    let (status, found) = app
        .post(&v3("getAccountInfo"), json!({"idToken": id_token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["users"][0]["localId"], local_id.as_str());

    let (status, changed) = app
        .post(
            &v3("setAccountInfo"),
            json!({"idToken": id_token, "displayName": "Ada", "returnSecureToken": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["displayName"], "Ada");

    let (status, uri) = app
        .post(
            &v3("createAuthUri"),
            json!({"identifier": "ios@example.com", "continueUri": "http://localhost"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    assert_eq!(uri["signinMethods"], json!(["password"]));

    let (status, sent) = app
        .post(
            &v3("getOobConfirmationCode"),
            json!({"requestType": "VERIFY_EMAIL", "idToken": id_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let (_, codes) = app
        .get(&format!("/emulator/v1/projects/{PROJECT}/oobCodes"))
        .await;
    let code = str_of(&codes["oobCodes"][0], "oobCode");
    let (status, checked) = app
        .post(&v3("resetPassword"), json!({"oobCode": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["requestType"], "VERIFY_EMAIL");

    let (status, sent) = app
        .post(
            &v3("sendVerificationCode"),
            json!({"phoneNumber": "+16505550110", "recaptchaToken": "t"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let session_info = str_of(&sent, "sessionInfo");
    let code = app.sms_code(session_info).await;
    let (status, linked) = app
        .post(
            &v3("verifyPhoneNumber"),
            json!({"sessionInfo": session_info, "code": code, "idToken": id_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(
        (&linked["localId"], &linked["phoneNumber"]),
        (&json!(local_id), &json!("+16505550110"))
    );

    let (status, params) = app.get(&v3("getRecaptchaParam")).await;
    assert_eq!(status, StatusCode::OK, "{params}");

    let (status, deleted) = app
        .post(&v3("deleteAccount"), json!({"idToken": linked["idToken"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(app.admin_user(&local_id).await.is_none());
}

/// A custom token through `verifyCustomToken`; a v3 name without a v1 method here is unknown.
#[tokio::test]
async fn custom_tokens_and_unknown_names() {
    let app = TestApp::spawn().await;
    let (status, signed_in) = app
        .post(
            &v3("verifyCustomToken"),
            json!({"token": "{\"uid\": \"ios-user\"}", "returnSecureToken": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(claims(str_of(&signed_in, "idToken"))["user_id"], "ios-user");
    let (status, _) = app
        .post(&v3("setProjectConfig"), json!({"allowPasswordUser": true}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The caller's project and its authorized domains, under the v1 path and the v3 name.
#[tokio::test]
async fn the_project_and_its_authorized_domains() {
    let app = TestApp::spawn_with(|c| {
        c.webauthn_origins = vec![
            "https://login.example.com".into(),
            "http://localhost:3000".into(),
        ];
    })
    .await;
    for path in [
        "/identitytoolkit.googleapis.com/v1/projects",
        &v3("getProjectConfig"),
    ] {
        let (status, project) = app.get(&format!("{path}?key={KEY}")).await;
        assert_eq!(status, StatusCode::OK, "{project}");
        assert_eq!(
            project,
            json!({"projectId": PROJECT, "authorizedDomains": ["localhost", "login.example.com"]})
        );
    }
}
