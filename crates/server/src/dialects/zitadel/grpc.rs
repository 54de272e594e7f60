//! gRPC (HTTP/2, h2c without TLS) and gRPC-web, served by tonic on the same port as REST.
//! Requests are told apart by content type (`application/grpc…`) before routing, because
//! gRPC and Connect share their paths.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use pbjson_types::Any;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, percent_encode};
use prost::Message;
use tonic::service::Routes;
use tonic::{Code as GrpcCode, Status};
use tower::ServiceExt;

use super::error::ZitadelError;
use super::rpc::{Ctx, Rpc};
use crate::proto::google::rpc;
use crate::proto::zitadel::auth::v1::auth_service_server::AuthServiceServer;
use crate::proto::zitadel::management::v1::management_service_server::ManagementServiceServer;
use crate::proto::zitadel::org::v2::organization_service_server::OrganizationServiceServer;
use crate::proto::zitadel::session::v2::session_service_server::SessionServiceServer;
use crate::proto::zitadel::settings::v2::settings_service_server::SettingsServiceServer;
use crate::proto::zitadel::user::v2::user_service_server::UserServiceServer;
use crate::proto::zitadel::v1::ErrorDetail;
use crate::service::Service;

/// The tonic services' shared state.
#[derive(Clone)]
pub struct Grpc(pub Arc<Service>);

/// Runs one RPC for tonic: the caller from the metadata, then the RPC.
pub async fn call<Req, Resp>(
    svc: &Arc<Service>,
    request: tonic::Request<Req>,
    rpc: impl Rpc<Req, Resp>,
) -> Result<tonic::Response<Resp>, Status> {
    let headers = request.metadata().clone().into_headers();
    let ctx = Ctx::new(svc.clone(), &headers).await.map_err(status)?;
    rpc(ctx, request.into_inner())
        .await
        .map(tonic::Response::new)
        .map_err(status)
}

/// ZITADEL's gRPC error: the code, `"<message> (<ID>)"`, and a `google.rpc.Status` carrying
/// the `zitadel.v1.ErrorDetail` in `grpc-status-details-bin`.
pub fn status(e: ZitadelError) -> Status {
    let code = GrpcCode::from(e.code as i32);
    let message = e.text();
    let detail = ErrorDetail {
        id: e.id.to_owned(),
        message: e.message.to_owned(),
    };
    let details = rpc::Status {
        code: e.code as i32,
        message: message.clone(),
        details: vec![Any {
            type_url: "type.googleapis.com/zitadel.v1.ErrorDetail".to_owned(),
            value: detail.encode_to_vec().into(),
        }],
    };
    Status::with_details(code, message, details.encode_to_vec().into())
}

/// Every ZITADEL service over gRPC and gRPC-web, for `dispatcher`.
pub fn routes(svc: Arc<Service>) -> Router {
    let grpc = Grpc(svc);
    Routes::new(UserServiceServer::new(grpc.clone()))
        .add_service(ManagementServiceServer::new(grpc.clone()))
        .add_service(AuthServiceServer::new(grpc.clone()))
        .add_service(OrganizationServiceServer::new(grpc.clone()))
        .add_service(SessionServiceServer::new(grpc.clone()))
        .add_service(SettingsServiceServer::new(grpc))
        .into_axum_router()
        .layer(tonic_web::GrpcWebLayer::new())
}

fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// What `grpc-message` percent-encodes: `%`, controls and (always) bytes beyond ASCII, as the
/// gRPC spec and grpc-go have it.
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

/// Re-encodes an error's `grpc-message` as ZITADEL (grpc-go) sends it. tonic also encodes
/// space, `#`, `?` and a few more, and grpc-js (under `@zitadel/node`) decodes the header with
/// `decodeURI`, which leaves `%23` and `%3F` as they are: a message with a `#` reached such
/// clients mangled. An error's message rides in the headers (a trailers-only response).
fn encode_message_as_grpc_go(response: &mut Response) {
    let Some(value) = response.headers().get(GRPC_MESSAGE_HEADER) else {
        return;
    };
    let message: Vec<u8> = percent_decode(value.as_bytes()).collect();
    let encoded = percent_encode(&message, GRPC_MESSAGE).to_string();
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        response.headers_mut().insert(GRPC_MESSAGE_HEADER, value);
    }
}

const GRPC_MESSAGE_HEADER: &str = "grpc-message";

/// A middleware that hands gRPC and gRPC-web requests to `grpc` (the `routes`) and the rest to
/// `next`, after giving v2beta paths their v2 names.
pub fn dispatcher(
    grpc: Router,
) -> impl Fn(Request, Next) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |mut request: Request, next: Next| {
        let grpc = grpc.clone();
        super::v2beta::alias(&mut request);
        Box::pin(async move {
            if is_grpc(&request) {
                match grpc.oneshot(request).await {
                    Ok(mut response) => {
                        encode_message_as_grpc_go(&mut response);
                        response
                    }
                    Err(never) => match never {},
                }
            } else {
                next.run(request).await
            }
        })
    }
}
