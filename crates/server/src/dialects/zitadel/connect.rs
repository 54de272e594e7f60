//! The Connect protocol (unary, JSON) for `zitadel.user.v2.UserService`: what ZITADEL's
//! official Python client speaks. `POST /zitadel.user.v2.UserService/<Method>` with the
//! request message as protojson; answers are the same messages the REST mapping returns,
//! errors are Connect's `{"code":"not_found","message":…,"details":[…]}`. Every method calls
//! the same function as its REST form.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use prost::Message;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::Request;
use super::error::{BAD_BODY, Code, Op, ZitadelError};
use super::users;
use super::wire::RegisterTotpResponse;
use crate::service::Service;
use tessera_core::FactorKind;

/// `zitadel.v1.ErrorDetail`, carried in Connect error details.
#[derive(Clone, PartialEq, Message)]
struct ErrorDetail {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    message: String,
}

/// A Connect error response.
pub struct ConnectError(ZitadelError);

impl From<ZitadelError> for ConnectError {
    fn from(e: ZitadelError) -> Self {
        ConnectError(e)
    }
}

fn connect_code(code: Code) -> (&'static str, StatusCode) {
    match code {
        Code::InvalidArgument => ("invalid_argument", StatusCode::BAD_REQUEST),
        Code::NotFound => ("not_found", StatusCode::NOT_FOUND),
        Code::AlreadyExists => ("already_exists", StatusCode::CONFLICT),
        Code::PermissionDenied => ("permission_denied", StatusCode::FORBIDDEN),
        Code::ResourceExhausted => ("resource_exhausted", StatusCode::TOO_MANY_REQUESTS),
        Code::FailedPrecondition => ("failed_precondition", StatusCode::BAD_REQUEST),
        Code::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        Code::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        Code::Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
        Code::Unimplemented => ("unimplemented", StatusCode::NOT_IMPLEMENTED),
    }
}

impl IntoResponse for ConnectError {
    fn into_response(self) -> Response {
        let ConnectError(e) = self;
        let (code, status) = connect_code(e.code);
        let detail = ErrorDetail {
            id: e.id.to_owned(),
            message: e.message.to_owned(),
        }
        .encode_to_vec();
        let body = json!({
            "code": code,
            "message": format!("{} ({})", e.message, e.id),
            "details": [{"type": "zitadel.v1.ErrorDetail", "value": BASE64.encode(&detail)}],
        });
        (status, Json(body)).into_response()
    }
}

/// Request messages: `userId` plus each method's fields; unknown fields are discarded, as
/// protojson does (both camelCase and proto names accepted).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserRequest {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default, alias = "auth_factors")]
    auth_factors: Vec<String>,
    #[serde(default)]
    states: Vec<String>,
}

fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ZitadelError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|_| BAD_BODY)
}

/// The user service methods this slice serves; others answer `unimplemented` before the
/// body is read.
#[derive(Debug, Clone, Copy)]
enum Method {
    RegisterTotp,
    VerifyTotpRegistration,
    RemoveTotp,
    AddOtpSms,
    RemoveOtpSms,
    AddOtpEmail,
    RemoveOtpEmail,
    ListAuthenticationFactors,
    ListAuthenticationMethodTypes,
}

impl Method {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RegisterTOTP" => Method::RegisterTotp,
            "VerifyTOTPRegistration" => Method::VerifyTotpRegistration,
            "RemoveTOTP" => Method::RemoveTotp,
            "AddOTPSMS" => Method::AddOtpSms,
            "RemoveOTPSMS" => Method::RemoveOtpSms,
            "AddOTPEmail" => Method::AddOtpEmail,
            "RemoveOTPEmail" => Method::RemoveOtpEmail,
            "ListAuthenticationFactors" => Method::ListAuthenticationFactors,
            "ListAuthenticationMethodTypes" => Method::ListAuthenticationMethodTypes,
            _ => return None,
        })
    }
}

const UNIMPLEMENTED: ZitadelError = ZitadelError {
    code: Code::Unimplemented,
    message: "Errors.Method.NotImplemented",
    id: "TESSERA-RPC01",
};

pub async fn user_service(
    State(svc): State<Arc<Service>>,
    caller: Result<Request, ZitadelError>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConnectError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Binary Connect (application/proto) and the other methods come with the protos.
    let method = Method::parse(&method)
        .filter(|_| json)
        .ok_or(UNIMPLEMENTED)?;
    let req = caller?;
    let input: UserRequest = parse(&body)?;
    let id = users::user_id(input.user_id.as_deref().unwrap_or_default())?;
    let response = match method {
        Method::RegisterTotp => {
            let (details, uri, secret) = users::register(&svc, &req, &id).await?;
            Json(RegisterTotpResponse {
                details,
                uri,
                secret,
            })
            .into_response()
        }
        Method::VerifyTotpRegistration => users::verify(&svc, &req, &id, input.code)
            .await?
            .into_response(),
        Method::RemoveTotp => users::remove(&svc, &req, &id, FactorKind::Totp, Op::RemoveTotp)
            .await?
            .into_response(),
        Method::AddOtpSms => users::add(&svc, &req, &id, FactorKind::SmsOtp, Op::AddOtpSms)
            .await?
            .into_response(),
        Method::RemoveOtpSms => {
            users::remove(&svc, &req, &id, FactorKind::SmsOtp, Op::RemoveOtpSms)
                .await?
                .into_response()
        }
        Method::AddOtpEmail => users::add(&svc, &req, &id, FactorKind::EmailOtp, Op::AddOtpEmail)
            .await?
            .into_response(),
        Method::RemoveOtpEmail => {
            users::remove(&svc, &req, &id, FactorKind::EmailOtp, Op::RemoveOtpEmail)
                .await?
                .into_response()
        }
        Method::ListAuthenticationFactors => {
            let states = input
                .states
                .iter()
                .map(|s| users::parse_state(s))
                .collect::<Result<_, _>>()?;
            let kinds = input
                .auth_factors
                .iter()
                .map(|k| users::parse_kind(k))
                .collect::<Result<_, _>>()?;
            users::list_factors(&svc, &req, &id, states, kinds)
                .await?
                .into_response()
        }
        Method::ListAuthenticationMethodTypes => {
            users::method_types(&svc, &req, &id).await?.into_response()
        }
    };
    Ok(response)
}
