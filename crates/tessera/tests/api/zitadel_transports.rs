//! The ZITADEL services over every transport on the one port: gRPC (a tonic client generated
//! from the same protos), gRPC-web and binary Connect; ZITADEL's gRPC errors with
//! `grpc-status-details-bin`; and the permissions of machine users' roles.

use prost::Message;
use reqwest::{Method, StatusCode};
use tessera_core::Role;
use tessera_server::proto::google::rpc;
use tessera_server::proto::zitadel::management::v1::management_service_client::ManagementServiceClient;
use tessera_server::proto::zitadel::management::v1::{
    ListHumanAuthFactorsRequest, ListHumanAuthFactorsResponse,
};
use tessera_server::proto::zitadel::user::v1::auth_factor;
use tessera_server::proto::zitadel::user::v2::user_service_client::UserServiceClient;
use tessera_server::proto::zitadel::user::v2::{
    AuthFactorState, ListAuthenticationFactorsRequest, RegisterTotpRequest,
    VerifyTotpRegistrationRequest,
};
use tessera_server::proto::zitadel::v1::ErrorDetail;
use tonic::transport::Channel;

use crate::helpers::*;

pub fn authed<T>(message: T, token: &str, org: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(org) = org {
        metadata.insert("x-zitadel-orgid", org.parse().unwrap());
    }
    request
}

pub async fn channel(app: &TestApp) -> Channel {
    Channel::from_shared(app.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// The `zitadel.v1.ErrorDetail` inside a status's `grpc-status-details-bin`.
fn error_detail(status: &tonic::Status) -> ErrorDetail {
    let details = rpc::Status::decode(status.details()).unwrap();
    assert_eq!(details.code, status.code() as i32);
    assert_eq!(details.message, status.message());
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/zitadel.v1.ErrorDetail"
    );
    ErrorDetail::decode(details.details[0].value.clone()).unwrap()
}

pub fn assert_status(status: &tonic::Status, code: tonic::Code, message: &str, id: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), format!("{message} ({id})"));
    let detail = error_detail(status);
    assert_eq!((detail.id.as_str(), detail.message.as_str()), (id, message));
}

/// A fresh user's id, and the organization id of the default project.
async fn user_and_org(app: &TestApp, email: &str) -> (String, String) {
    let session = app.verified_user(email).await;
    let realm = app.service.realm(PROJECT, None).await.unwrap();
    let org = app.service.ensure_org(realm).await.unwrap();
    (str_of(&session, "localId").to_owned(), org.org_id.unwrap())
}

/// A PAT of a new machine user with `role` in the organization `org`.
#[tokio::test]
async fn grpc_registers_verifies_and_lists_totp() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let (user, _) = user_and_org(&app, "grpc@example.com").await;
    let mut users = UserServiceClient::new(channel(&app).await);
    let registered = users
        .register_totp(authed(
            RegisterTotpRequest {
                user_id: user.clone(),
            },
            &pat,
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        registered
            .uri
            .starts_with("otpauth://totp/Tessera:grpc@example.com?")
    );
    let pending = users
        .list_authentication_factors(authed(
            ListAuthenticationFactorsRequest {
                user_id: user.clone(),
                states: vec![AuthFactorState::NotReady.into()],
                ..Default::default()
            },
            &pat,
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.result.len(), 1);

    let wrong = users
        .verify_totp_registration(authed(
            VerifyTotpRegistrationRequest {
                user_id: user.clone(),
                code: "000000".into(),
            },
            &pat,
            None,
        ))
        .await
        .unwrap_err();
    assert_status(
        &wrong,
        tonic::Code::InvalidArgument,
        "Invalid code",
        "EVENT-8isk2",
    );
    users
        .verify_totp_registration(authed(
            VerifyTotpRegistrationRequest {
                user_id: user.clone(),
                code: totp(&registered.secret, app.now()),
            },
            &pat,
            None,
        ))
        .await
        .unwrap();

    let mut management = ManagementServiceClient::new(channel(&app).await);
    let listed = management
        .list_human_auth_factors(authed(
            ListHumanAuthFactorsRequest {
                user_id: user.clone(),
            },
            &pat,
            None,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.result.len(), 1);
    assert_eq!(listed.result[0].state, AuthFactorState::Ready as i32);
    assert!(matches!(
        listed.result[0].r#type,
        Some(auth_factor::Type::Otp(_))
    ));

    let before = app.fingerprint().await;
    let again = users
        .register_totp(authed(RegisterTotpRequest { user_id: user }, &pat, None))
        .await
        .unwrap_err();
    assert_status(
        &again,
        tonic::Code::AlreadyExists,
        "Multifactor OTP (OneTimePassword) is already set up",
        "COMMAND-do9se",
    );
    let anonymous = management
        .list_human_auth_factors(tonic::Request::new(ListHumanAuthFactorsRequest::default()))
        .await
        .unwrap_err();
    assert_status(
        &anonymous,
        tonic::Code::Unauthenticated,
        "Errors.Token.Invalid",
        "AUTH-7fs1e",
    );
    let missing = management
        .list_human_auth_factors(authed(ListHumanAuthFactorsRequest::default(), &pat, None))
        .await
        .unwrap_err();
    assert_status(
        &missing,
        tonic::Code::InvalidArgument,
        "User ID missing",
        "COMMAND-5M0sd",
    );
    assert_eq!(app.fingerprint().await, before);

    // gRPC calls are counted under their service's route (gRPC answers HTTP 200 even for
    // an error, which its grpc-status carries).
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"tessera_http_requests_total{route="/zitadel.user.v2.UserService/{*rest}",method="POST",status="200"}"#
        ),
        "{metrics}"
    );
}

/// One length-prefixed gRPC(-web) message frame.
fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed
}

#[tokio::test]
async fn grpc_web_and_binary_connect_reach_the_same_calls() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let (user, _) = user_and_org(&app, "web@example.com").await;
    let (status, _) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/totp"),
            &pat,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let request = ListHumanAuthFactorsRequest {
        user_id: user.clone(),
    };
    let path = "/zitadel.management.v1.ManagementService/ListHumanAuthFactors";

    // gRPC-web over HTTP/1.1: a message frame, then a trailer frame (flag 0x80).
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&pat)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.unwrap();
    assert_eq!(body[0], 0);
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    // Ready factors only: the pending TOTP is not listed, so the message is empty.
    let listed = ListHumanAuthFactorsResponse::decode(&body[5..5 + len]).unwrap();
    assert!(listed.result.is_empty());
    let trailer = &body[5 + len..];
    assert_eq!(trailer[0], 0x80);
    assert!(String::from_utf8_lossy(&trailer[5..]).contains("grpc-status:0"));

    // Binary Connect, without connect-protocol-version, with a chunked body.
    let (status, content_type, body) = chunked_post(
        &app,
        "/zitadel.user.v2.UserService/ListAuthenticationFactors",
        &pat,
        &request.encode_to_vec(),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/proto"));
    let listed = ListHumanAuthFactorsResponse::decode(body.as_slice()).unwrap();
    assert!(listed.result.is_empty());

    // Connect errors are JSON whatever the request codec.
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth("not-a-token")
        .header("content-type", "application/proto")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["code"], "unauthenticated");
    assert_eq!(error["message"], "Errors.Token.Invalid (AUTH-7fs1e)");
}

/// A binary Connect call over raw HTTP/1.1 with `Transfer-Encoding: chunked`, as connect-es
/// sends it: (status, content type, body).
async fn chunked_post(
    app: &TestApp,
    path: &str,
    token: &str,
    message: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/proto\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in message.chunks(3) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response[split + 4..].to_vec())
}

#[tokio::test]
async fn machine_user_roles_limit_what_a_pat_may_do() {
    let app = TestApp::spawn().await;
    let (user, org) = user_and_org(&app, "roles@example.com").await;
    let (status, _) = app
        .zitadel(
            Method::POST,
            &format!("/v2/users/{user}/otp_email"),
            &app.pat(),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let viewer = app
        .machine_pat(Some(&org), "viewer", Role::OrgOwnerViewer)
        .await;
    let manager = app
        .machine_pat(Some(&org), "manager", Role::OrgUserManager)
        .await;
    let factors = format!("/management/v1/users/{user}/auth_factors/_search");
    let remove = format!("/management/v1/users/{user}/auth_factors/otp_email");

    let (status, listed) = app
        .zitadel(Method::POST, &factors, &viewer, None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["result"][0]["otpEmail"], serde_json::json!({}));
    let before = app.fingerprint().await;
    for (method, path) in [
        (Method::DELETE, remove.clone()),
        (Method::POST, format!("/v2/users/{user}/totp")),
    ] {
        let reply = app.zitadel(method, &path, &viewer, None, None).await;
        assert_zitadel_error(
            &reply,
            403,
            7,
            "No matching permissions found",
            "AUTH-5mWD2",
        );
    }
    assert_eq!(app.fingerprint().await, before);

    // Only an instance-wide role may pick another organization.
    let other = app
        .service
        .create_org(PROJECT, "Other Org", None)
        .await
        .unwrap();
    let other_id = other.org_id.unwrap();
    let reply = app
        .zitadel(Method::POST, &factors, &manager, Some(&other_id), None)
        .await;
    assert_zitadel_error(
        &reply,
        403,
        7,
        "No matching permissions found",
        "AUTH-5mWD2",
    );
    let reply = app
        .zitadel(Method::POST, &factors, &app.pat(), Some(&other_id), None)
        .await;
    assert_zitadel_error(&reply, 404, 5, "User could not be found", "COMMAND-SqyJz");
    let reply = app
        .zitadel(Method::POST, &factors, &app.pat(), Some("404404404"), None)
        .await;
    assert_zitadel_error(&reply, 403, 7, "Organisation doesn't exist", "AUTH-Bs7Ds");

    let (status, _) = app
        .zitadel(Method::DELETE, &remove, &manager, None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = app
        .zitadel(Method::POST, &factors, &viewer, None, None)
        .await;
    assert_eq!(listed, serde_json::json!({}));
}

/// The v2beta services that `@zitadel/node` and the SDKs' beta APIs call are v2's under their
/// older names, on every transport; v2beta's `organisation` names the organization, and its
/// `UpdateHumanUser` is `PUT /v2beta/users/{id}`.
#[tokio::test]
async fn v2beta_names_reach_the_v2_calls() {
    let app = TestApp::spawn().await;
    let pat = app.pat();
    let (status, org) = call(
        &app,
        Method::POST,
        "/management/v1/orgs",
        serde_json::json!({"name": "Beta"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    let org = str_of(&org, "id").to_owned();
    let (status, created) = call(
        &app,
        Method::POST,
        "/v2beta/users/human",
        serde_json::json!({
            "organisation": {"orgId": org},
            "profile": {"givenName": "Beta", "familyName": "Tester"},
            "email": {"email": "beta@example.com", "isVerified": true},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = str_of(&created, "userId").to_owned();
    assert_eq!(created["details"]["resourceOwner"], org.as_str());

    let (status, updated) = call(
        &app,
        Method::PUT,
        &format!("/v2beta/users/{user}"),
        serde_json::json!({"username": "beta"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/v2beta/users/{user}?unused=1"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["user"]["username"], "beta");

    // Connect JSON.
    let response = app
        .client
        .post(app.url("/zitadel.user.v2beta.UserService/RegisterTOTP"))
        .bearer_auth(&pat)
        .header("content-type", "application/json")
        .body(serde_json::json!({"userId": user}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let registered: serde_json::Value = response.json().await.unwrap();
    assert!(str_of(&registered, "uri").starts_with("otpauth://totp/"));

    // gRPC-web.
    let request = ListAuthenticationFactorsRequest {
        user_id: user.clone(),
        ..Default::default()
    };
    let response = app
        .client
        .post(app.url("/zitadel.user.v2beta.UserService/ListAuthenticationFactors"))
        .bearer_auth(&pat)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.unwrap();
    let trailer = String::from_utf8_lossy(&body);
    assert!(trailer.contains("grpc-status:0"), "{trailer}");

    // Other v2beta services are not aliases.
    let response = app
        .client
        .post(app.url("/zitadel.settings.v2beta.SettingsService/GetLoginSettings"))
        .bearer_auth(&pat)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
}

/// An error's `grpc-message` is percent-encoded as ZITADEL's grpc-go does it: only `%`,
/// controls and bytes beyond ASCII. tonic also encoded `#` and `?`, which grpc-js (under
/// `@zitadel/node`) leaves encoded, so the one message with a `#` reached it mangled.
#[tokio::test]
async fn grpc_messages_are_percent_encoded_as_grpc_go_does() {
    use tessera_server::proto::zitadel::user::v2::add_human_user_request::PasswordType;
    use tessera_server::proto::zitadel::user::v2::{
        AddHumanUserRequest, HashedPassword, SetHumanEmail, SetHumanProfile,
    };
    let app = TestApp::spawn().await;
    let request = AddHumanUserRequest {
        profile: Some(SetHumanProfile {
            given_name: "Ada".to_owned(),
            family_name: "Lovelace".to_owned(),
            ..SetHumanProfile::default()
        }),
        email: Some(SetHumanEmail {
            email: "ada@example.com".to_owned(),
            verification: None,
        }),
        password_type: Some(PasswordType::HashedPassword(HashedPassword {
            hash: "$y$j9T$F5Jx5fExrKuJdvxrDGdL8.$YKkY6p1wXFe2CKm2qJ1dI6v0oQGMuVd1wsC4d3KJbs7"
                .to_owned(),
            change_required: false,
        })),
        ..AddHumanUserRequest::default()
    };
    let response = grpc_h2(
        &app,
        "/zitadel.user.v2.UserService/AddHumanUser",
        &request.encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "3");
    assert_eq!(
        response.headers()["grpc-message"],
        "Password hash encoding not supported. Check out \
         https://zitadel.com/docs/concepts/architecture/secrets#hashed-secrets (USER-JDk4t)"
    );
}
