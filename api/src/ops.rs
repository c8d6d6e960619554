//! `/healthz` (the process is alive), `/readyz` (broker and database reachable) and
//! `/metrics` (Prometheus text format).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleetlog_runtime::health::Readiness;
use metrics_exporter_prometheus::PrometheusHandle;

/// What the operational routes need.
#[derive(Clone)]
pub struct OpsState {
    /// Dependencies checked by `/readyz`.
    pub readiness: Readiness,
    /// The process's Prometheus recorder.
    pub metrics: PrometheusHandle,
}

/// The operational routes, mounted by every HTTP server of fleetlog.
pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let report = state.readiness.check().await;
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
