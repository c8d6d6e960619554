//! The fleet as riders and operators query it, from the live `fleet` read model (and
//! `rides` for command outcomes, the lineage for traces).
//!
//! - Riders: `GET /v1/vehicles/nearby?lat=&lon=&radius_m=&limit=` (available vehicles,
//!   nearest first, with battery and range), `GET /v1/vehicles/by-qr/{qr_code}`.
//! - Operators: `GET /v1/admin/vehicles?state=&battery_below=&offline_for_s=&zone=&limit=&cursor=`,
//!   `GET /v1/admin/vehicles/{vehicle_id}`, `GET /v1/admin/devices/{device_id}` (also for
//!   devices not registered yet), `GET /v1/admin/trace/{id}`, `GET /v1/admin/zones`.
//! - For the operator console: `GET /v1/admin/vehicles/{vehicle_id}/telemetry` (a device's
//!   recent records: battery history), `GET /v1/admin/alarms` (open alarms) and
//!   `GET /v1/admin/projections` (read-model lag, rebuilds, parked keys, dead letters).
//!
//! The handlers parse, authorize and shape; what they read, and the SQL, is in `read.rs`.
//! Answers from a read model are [`Aged`](crate::read_model::Aged): they carry
//! `X-Fleetlog-Data-Age-Ms`, of the one meaning of [`crate::read_model::age`].

mod alarms;
mod history;
mod operator;
mod projections;
mod read;
mod rider;
mod view;
mod zones;

use axum::Router;
use axum::routing::get;

use crate::state::ApiState;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    rider::nearby,
    rider::by_qr,
    operator::list,
    operator::vehicle,
    operator::device,
    operator::trace,
    history::telemetry,
    alarms::list,
    zones::list,
    projections::health
))]
pub(crate) struct Doc;

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/vehicles/nearby", get(rider::nearby))
        .route("/v1/vehicles/by-qr/{qr_code}", get(rider::by_qr))
        .route("/v1/admin/vehicles", get(operator::list))
        .route("/v1/admin/vehicles/{vehicle_id}", get(operator::vehicle))
        .route("/v1/admin/devices/{device_id}", get(operator::device))
        .route("/v1/admin/trace/{id}", get(operator::trace))
        .route(
            "/v1/admin/vehicles/{vehicle_id}/telemetry",
            get(history::telemetry),
        )
        .route("/v1/admin/alarms", get(alarms::list))
        .route("/v1/admin/zones", get(zones::list))
        .route("/v1/admin/projections", get(projections::health))
}
