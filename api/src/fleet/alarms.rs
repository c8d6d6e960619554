//! `GET /v1/admin/alarms`: every device with an open alarm (the alarms its latest record
//! reported), with its vehicle, newest report first.

use crate::read_model::{Aged, FLEET};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::read::Fleet;
use super::view::{Point, point, time};
use crate::auth::extract::RequireOperator;
use crate::error::ApiError;
use crate::state::ApiState;

/// Most devices listed.
const LIMIT: i64 = 1000;

/// A device with open alarms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Alarm {
    device_id: String,
    vehicle_id: Option<Uuid>,
    qr_code: Option<String>,
    state: Option<String>,
    alarms: Vec<String>,
    position: Option<Point>,
    battery_pct: Option<i32>,
    online: bool,
    last_report_received_at: Option<DateTime<Utc>>,
}

/// The devices with open alarms, newest report first (at most 1000).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Alarms {
    items: Vec<Alarm>,
}

/// `GET /v1/admin/alarms` (operators): devices whose latest report has alarms.
#[utoipa::path(
    get, path = "/v1/admin/alarms", tag = "fleet", operation_id = "list_alarms",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The devices", body = Alarms, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
) -> Result<Aged<Json<Alarms>>, ApiError> {
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    let rows = fleet.alarms(LIMIT).await?;
    let items = rows
        .into_iter()
        .map(|r| Alarm {
            state: r.vehicle_id.and(r.state),
            device_id: r.device_id,
            vehicle_id: r.vehicle_id,
            qr_code: r.qr_code,
            alarms: r.alarms,
            position: point(r.lat_e7, r.lon_e7),
            battery_pct: r.battery_pct,
            online: r.online,
            last_report_received_at: time(r.received_at_ms),
        })
        .collect();
    Ok(Aged(age, Json(Alarms { items })))
}
