//! Prometheus metrics: request counts and latencies per route, method and status.
//!
//! The recorder belongs to the application and is called directly rather than installed as
//! the process-global `metrics` recorder, so two servers in one test process keep separate
//! figures. Routes are labelled by their pattern (`/v1/projects/{project}/accounts`), never
//! by the raw path, so label cardinality stays bounded.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const METADATA: Metadata<'static> = Metadata::new("tessera", Level::INFO, Some(module_path!()));

#[derive(Clone)]
pub struct HttpMetrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl HttpMetrics {
    pub fn new() -> Result<Self, String> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .map_err(|e| e.to_string())?
            .build_recorder();
        let handle = recorder.handle();
        Ok(Self {
            recorder: Arc::new(recorder),
            handle,
        })
    }

    pub(super) fn router(&self) -> Router {
        let handle = self.handle.clone();
        Router::new().route(
            "/metrics",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
                    .into_response()
            }),
        )
    }
}

pub(super) async fn track(
    State(metrics): State<HttpMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = vec![
        Label::new("route", route),
        Label::new("method", method),
        Label::new("status", response.status().as_u16().to_string()),
    ];
    let recorder = &metrics.recorder;
    recorder
        .register_counter(
            &Key::from_parts("tessera_http_requests_total", labels.clone()),
            &METADATA,
        )
        .increment(1);
    recorder
        .register_histogram(
            &Key::from_parts("tessera_http_request_duration_seconds", labels),
            &METADATA,
        )
        .record(started.elapsed().as_secs_f64());
    response
}
