//! The Connect protocol, unary calls: `POST /<package>.<Service>/<Method>` with the request
//! message as protojson (`application/json`, what ZITADEL's Python client sends) or binary
//! protobuf (`application/proto`); the answer uses the request's codec. Errors are Connect's
//! JSON `{"code":"not_found","message":…,"details":[…]}` with the `zitadel.v1.ErrorDetail`.
//! `connect-protocol-version` is optional, and chunked bodies are read whole.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::{BAD_BODY, Code, UNIMPLEMENTED, ZitadelError};
use super::rpc::{Ctx, Rpc};
use super::services;
use crate::proto::zitadel::v1::ErrorDetail;
use crate::service::Service;

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
        Code::Aborted => ("aborted", StatusCode::CONFLICT),
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
            "message": e.text(),
            "details": [{"type": "zitadel.v1.ErrorDetail", "value": BASE64.encode(&detail)}],
        });
        (status, Json(body)).into_response()
    }
}

#[derive(Debug, Clone, Copy)]
enum Codec {
    Json,
    Proto,
}

impl Codec {
    fn of(headers: &HeaderMap) -> Option<Self> {
        let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let essence = content_type.split(';').next()?.trim();
        match essence {
            "application/json" => Some(Codec::Json),
            "application/proto" => Some(Codec::Proto),
            _ => None,
        }
    }

    fn decode<T: Message + Default + DeserializeOwned>(
        self,
        body: &[u8],
    ) -> Result<T, ZitadelError> {
        match self {
            Codec::Json if body.iter().all(u8::is_ascii_whitespace) => Ok(T::default()),
            Codec::Json => serde_json::from_slice(body).map_err(|_| BAD_BODY),
            Codec::Proto => T::decode(body).map_err(|_| BAD_BODY),
        }
    }

    fn encode<T: Message + Serialize>(self, message: &T) -> Response {
        match self {
            Codec::Json => Json(message).into_response(),
            Codec::Proto => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/proto"),
                )],
                message.encode_to_vec(),
            )
                .into_response(),
        }
    }
}

/// One unary call: decode, authenticate, run, encode.
pub async fn unary<Req, Resp>(
    svc: Arc<Service>,
    headers: &HeaderMap,
    body: Bytes,
    rpc: impl Rpc<Req, Resp>,
) -> Result<Response, ConnectError>
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Serialize,
{
    let Some(codec) = Codec::of(headers) else {
        return Ok(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    };
    let request = codec.decode(&body)?;
    let ctx = Ctx::new(svc, headers).await?;
    Ok(codec.encode(&rpc(ctx, request).await?))
}

/// `POST /<service>/<method>`, routed for each service in `services::SERVICES`.
pub async fn handler(
    State(svc): State<Arc<Service>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConnectError> {
    let (service, method) = uri
        .path()
        .trim_start_matches('/')
        .split_once('/')
        .ok_or(UNIMPLEMENTED)?;
    services::connect(svc, service, method, &headers, body).await
}
