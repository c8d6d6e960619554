//! `GET /v1/admin/vehicles/{vehicle_id}/telemetry?minutes=&limit=`: the recent records of
//! a vehicle's device from the fleet read model's `telemetry_history` (battery history,
//! positions), oldest first, each with the frame and event it came from (to trace them).

use crate::read_model::{Aged, FLEET};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::operator::not_found;
use super::read::Fleet;
use super::view::{Point, point, time};
use crate::auth::extract::RequireOperator;
use crate::error::ApiError;
use crate::page::{self, Limits};
use crate::state::ApiState;

/// Default window, in minutes, and the longest (one day).
const DEFAULT_MINUTES: i64 = 60;
const MAX_MINUTES: i64 = 24 * 60;
/// Default and largest number of records.
const LIMITS: Limits = Limits {
    default: 500,
    max: 5000,
};

/// `?minutes=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// The last this many minutes, 1 to 1440 (default 60).
    minutes: Option<i64>,
    /// At most this many of the newest records, 1 to 5000 (default 500).
    limit: Option<i64>,
}

/// One device record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TelemetryRecord)]
pub(crate) struct Record {
    device_time: Option<DateTime<Utc>>,
    received_at: Option<DateTime<Utc>>,
    position: Option<Point>,
    speed_kmh: i32,
    battery_pct: Option<i32>,
    lock_state: Option<String>,
    alarms: Vec<String>,
    event_id: Uuid,
    frame_id: Uuid,
}

/// The records of one vehicle's device.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TelemetryHistory)]
pub(crate) struct History {
    vehicle_id: Uuid,
    device_id: Option<String>,
    items: Vec<Record>,
}

/// `GET /v1/admin/vehicles/{vehicle_id}/telemetry` (operators): its device's recent
/// records, oldest first.
#[utoipa::path(
    get, path = "/v1/admin/vehicles/{vehicle_id}/telemetry", tag = "fleet",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle"), HistoryQuery),
    responses(
        (status = 200, description = "The records", body = History, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_id` or `invalid_parameter`"),
        (status = 404, description = "`not_found`: no such vehicle"),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn telemetry(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
    path: Result<Path<Uuid>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Aged<Json<History>>, ApiError> {
    let Path(id) =
        path.map_err(|_| ApiError::invalid_id("vehicle_id", "vehicle_id must be a UUID"))?;
    let Query(q) = query.map_err(|e| {
        let field = if e.body_text().contains("limit") {
            "limit"
        } else {
            "minutes"
        };
        ApiError::invalid_parameter(field, "minutes and limit are whole numbers")
    })?;
    let minutes = q.minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(ApiError::invalid_parameter(
            "minutes",
            "minutes must be 1 to 1440",
        ));
    }
    let limit = page::limit(q.limit, LIMITS)?;
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    let device_id = fleet
        .device_of(id)
        .await?
        .ok_or_else(|| not_found("vehicle"))?;
    let since_ms = Utc::now()
        .timestamp_millis()
        .saturating_sub(minutes.saturating_mul(60_000));
    let rows = match &device_id {
        Some(device) => fleet.telemetry(device, since_ms, limit).await?,
        None => Vec::new(),
    };
    let items = rows
        .into_iter()
        .map(|r| Record {
            device_time: time(Some(r.device_time_ms)),
            received_at: time(Some(r.received_at_ms)),
            position: r
                .position_valid
                .then(|| point(Some(r.lat_e7), Some(r.lon_e7)))
                .flatten(),
            speed_kmh: r.speed_kmh,
            battery_pct: r.battery_pct,
            lock_state: r.lock_state,
            alarms: r.alarms,
            event_id: r.event_id,
            frame_id: r.frame_id,
        })
        .collect();
    Ok(Aged(
        age,
        Json(History {
            vehicle_id: id,
            device_id,
            items,
        }),
    ))
}
