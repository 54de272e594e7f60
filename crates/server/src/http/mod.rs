//! The HTTP application: every dialect's routes, operational endpoints, and the layers that
//! apply to all of them (metrics, CORS, tracing), served on one listener.

mod client_ip;
mod health;
mod metrics;
mod openapi;
mod placement;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

use crate::dialects::identitytoolkit::{self, ItError};
use crate::dialects::zitadel;
use crate::service::Service;

pub use client_ip::ClientIpSource;
pub use metrics::HttpMetrics;

/// Builds the router. `metrics` is per application (not process-global), so tests can run
/// several servers in one process. Requests that write run on `writes` when given
/// (`request_cpus = split`).
///
/// Only the metrics run inside the routers, where the matched route is known. The other
/// layers wrap the whole router once: a router's own `layer` wraps every route apart, and
/// each request then cloned the chain of boxed services under every middleware (about 50
/// boxed clones and allocations a request, 7 % of a lookup's instructions under callgrind).
pub fn router(
    service: Arc<Service>,
    metrics: HttpMetrics,
    client_ip: ClientIpSource,
    writes: Option<tokio::runtime::Handle>,
) -> Router {
    let tracked = || axum::middleware::from_fn_with_state(metrics.clone(), metrics::track);
    let routes = Router::new()
        .merge(identitytoolkit::router())
        .merge(zitadel::router())
        .merge(crate::ui::router())
        .merge(health::router())
        .merge(openapi::router())
        .fallback(
            |OriginalUri(uri): OriginalUri| async move { unrouted(&uri, StatusCode::NOT_FOUND) },
        )
        .method_not_allowed_fallback(|OriginalUri(uri): OriginalUri| async move {
            unrouted(&uri, StatusCode::METHOD_NOT_ALLOWED)
        })
        .with_state(service.clone())
        .merge(metrics.router())
        .layer(tracked());
    let grpc = zitadel::grpc_routes(service).layer(tracked());
    let app = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        // Web SDKs call from any origin, with any headers (spec §1.3).
        .layer(CorsLayer::very_permissive())
        .layer(axum::middleware::from_fn(move |request, next| {
            client_ip::stamp(client_ip.clone(), request, next)
        }))
        .option_layer(
            writes.map(|writes| axum::middleware::from_fn_with_state(writes, placement::on_writes)),
        )
        .layer(axum::middleware::from_fn(zitadel::grpc_dispatcher(grpc)))
        .service(routes);
    Router::new().fallback_service(app)
}

/// The answer to a request no route takes, in the format of the dialect its path belongs to.
/// Google's front end answers a wrong method on an Identity Toolkit path as an unknown path.
fn unrouted(uri: &Uri, status: StatusCode) -> Response {
    if zitadel::owns(uri.path()) {
        zitadel::unrouted(status)
    } else {
        ItError::NotFound.into_response()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY, a small HTTP/2 frame (a gRPC reply's trailers) can wait for the
    // peer's delayed ACK: 40 ms at p99 in the benchmark.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
