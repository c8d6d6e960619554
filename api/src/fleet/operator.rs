//! What operators look up: the fleet with filters, one vehicle or device in detail with
//! its recent commands and their outcomes, and the trace of any frame, command or event.

use crate::read_model::{Aged, FLEET, LINEAGE, RIDES};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::read::{self, Fleet, VehicleFilter};
use super::view::{DeviceView, RecentCommand, VehicleRow, VehicleView};
use crate::auth::extract::RequireOperator;
use crate::error::ApiError;
use crate::page::{self, Limits, Page};
use crate::state::ApiState;

/// The fleet list's page sizes: 50, at most 500.
const LIMITS: Limits = Limits {
    default: 50,
    max: 500,
};
/// Commands shown with a vehicle.
pub(crate) const RECENT_COMMANDS: i64 = 20;

pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what}"),
    )
}

/// `?state=&battery_below=&offline_for_s=&zone=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `AVAILABLE`, `RESERVED`, `IN_RIDE` or `OUT_OF_SERVICE` (any case).
    state: Option<String>,
    /// Only vehicles whose last position is inside this zone (`GET /v1/admin/zones`).
    zone: Option<Uuid>,
    /// Only vehicles whose battery is below this percentage, 0 to 101.
    battery_below: Option<i32>,
    /// Only vehicles offline for longer than this many seconds.
    offline_for_s: Option<i64>,
    /// Vehicles per page, 1 to 500 (default 50).
    limit: Option<i64>,
    /// A previous page's `next_cursor`.
    cursor: Option<Uuid>,
}

const STATES: [&str; 4] = ["AVAILABLE", "RESERVED", "IN_RIDE", "OUT_OF_SERVICE"];

/// `GET /v1/admin/vehicles` (operators): the fleet, filtered, in vehicle id order.
#[utoipa::path(
    get, path = "/v1/admin/vehicles", tag = "fleet", operation_id = "list_vehicles",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of vehicles", body = Page<VehicleView>, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_parameter` (`field` names it)"),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Aged<Json<Page<VehicleView>>>, ApiError> {
    let Query(q) = query.map_err(|e| {
        let text = e.body_text();
        let field = ["battery_below", "offline_for_s", "zone", "limit", "cursor"]
            .into_iter()
            .find(|f| text.contains(f))
            .unwrap_or("query");
        ApiError::invalid_parameter(
            field,
            "battery_below, offline_for_s and limit are whole numbers; zone a zone id; cursor a page's next_cursor",
        )
    })?;
    let wanted_state = match q.state.as_deref().map(str::to_ascii_uppercase) {
        None => None,
        Some(s) if STATES.contains(&s.as_str()) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "state",
                "state must be AVAILABLE, RESERVED, IN_RIDE or OUT_OF_SERVICE",
            ));
        }
    };
    if q.battery_below.is_some_and(|b| !(0..=101).contains(&b)) {
        return Err(ApiError::invalid_parameter(
            "battery_below",
            "battery_below must be 0 to 101",
        ));
    }
    if q.offline_for_s.is_some_and(|s| s < 0) {
        return Err(ApiError::invalid_parameter(
            "offline_for_s",
            "offline_for_s must not be negative",
        ));
    }
    let limit = page::limit(q.limit, LIMITS)?;
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    if let Some(zone) = q.zone
        && !fleet.zone_exists(zone).await?
    {
        return Err(ApiError::invalid_parameter(
            "zone",
            "no zone has this id (see GET /v1/admin/zones)",
        ));
    }
    let filter = VehicleFilter {
        state: wanted_state,
        battery_below: q.battery_below,
        offline_before_ms: q.offline_for_s.map(|s| {
            Utc::now()
                .timestamp_millis()
                .saturating_sub(s.saturating_mul(1000))
        }),
        zone: q.zone,
        after: q.cursor,
    };
    let rows = fleet.vehicles(filter, limit + 1).await?;
    let page = Page::of(rows, limit, |r: &VehicleRow| Some(r.vehicle_id));
    Ok(Aged(age, Json(page.map(VehicleView::from))))
}

/// One vehicle with its device's state and its recent commands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VehicleDetail {
    #[serde(flatten)]
    vehicle: VehicleView,
    recent_commands: Vec<RecentCommand>,
}

/// `GET /v1/admin/vehicles/{vehicle_id}` (operators): one vehicle in detail.
#[utoipa::path(
    get, path = "/v1/admin/vehicles/{vehicle_id}", tag = "fleet",
    security(("bearer" = [])),
    params(("vehicle_id" = Uuid, Path, description = "The vehicle")),
    responses(
        (status = 200, description = "The vehicle with its 20 most recent commands", body = VehicleDetail, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_id`: not a UUID"),
        (status = 404, description = "`not_found`"),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn vehicle(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<Aged<Json<VehicleDetail>>, ApiError> {
    let Path(id) =
        path.map_err(|_| ApiError::invalid_id("vehicle_id", "vehicle_id must be a UUID"))?;
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET, RIDES]).await?;
    let row = fleet.vehicle(id).await?;
    let row = row.ok_or_else(|| not_found("vehicle"))?;
    let recent_commands = read::recent_commands(&state.read_models, id, RECENT_COMMANDS).await?;
    Ok(Aged(
        age,
        Json(VehicleDetail {
            vehicle: row.into(),
            recent_commands,
        }),
    ))
}

/// `GET /v1/admin/devices/{device_id}`: the device's latest state (registered or not),
/// its vehicle and that vehicle's recent commands.
#[utoipa::path(
    get, path = "/v1/admin/devices/{device_id}", tag = "fleet",
    security(("bearer" = [])),
    params(("device_id" = String, Path, description = "IMEI or GT06 terminal id")),
    responses(
        (status = 200, description = "The device", body = DeviceDetail, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 404, description = "`not_found`"),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn device(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
    path: Result<Path<String>, PathRejection>,
) -> Result<Aged<Json<DeviceDetail>>, ApiError> {
    let Path(device_id) =
        path.map_err(|_| ApiError::invalid_parameter("device_id", "device_id is required"))?;
    // PostgreSQL text cannot hold NUL, and no device id has one.
    if device_id.contains('\0') {
        return Err(not_found("device"));
    }
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET, RIDES]).await?;
    let row = fleet.device(&device_id).await?;
    let row = row.ok_or_else(|| not_found("device"))?;
    let vehicle = row.vehicle_id;
    let recent_commands = match vehicle {
        Some(v) => read::recent_commands(&state.read_models, v, RECENT_COMMANDS).await?,
        None => Vec::new(),
    };
    Ok(Aged(
        age,
        Json(DeviceDetail {
            device: row.into(),
            registered: vehicle.is_some(),
            recent_commands,
        }),
    ))
}

/// A device's latest state (position in degrees, times in RFC 3339), whether it is
/// registered to a vehicle, and that vehicle's recent commands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceDetail {
    /// The device.
    #[serde(flatten)]
    device: DeviceView,
    /// Whether the device is registered to a vehicle.
    registered: bool,
    /// The vehicle's 20 most recent commands.
    recent_commands: Vec<RecentCommand>,
}

/// `GET /v1/admin/trace/{id}`: what `fleetlog trace --json` prints.
#[utoipa::path(
    get, path = "/v1/admin/trace/{id}", tag = "fleet",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Any frame, command or event id")),
    responses(
        (status = 200, description = "The chain as a tree by causation", body = fleetlog_projections::lineage::Trace, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_id`: not a UUID"),
        (status = 404, description = "`not_found`: no event with this id"),
        (status = 503, description = "`read_model_unavailable`: the lineage projection has not run yet, or `timeout`"),
    )
)]
pub(crate) async fn trace(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<Aged<Json<fleetlog_projections::lineage::Trace>>, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::invalid_id("id", "id must be a UUID"))?;
    let age = state.read_models.data_age(&[LINEAGE]).await?;
    match fleetlog_projections::lineage::trace(&state.pool, id).await {
        Ok(Some(trace)) => Ok(Aged(age, Json(trace))),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no event with this id (the lineage projection may be behind)",
        )),
        Err(fleetlog_projections::lineage::TraceError::NoLineage) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read_model_unavailable",
            "the lineage projection has not run yet",
        )),
        Err(err) => Err(ApiError::internal(err)),
    }
}
