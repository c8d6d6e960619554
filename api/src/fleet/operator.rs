//! What operators look up: the fleet with filters, one vehicle or device in detail with
//! its recent commands and their outcomes, and the trace of any frame, command or event.

use crate::read_model::{Aged, FLEET, LINEAGE, RIDES};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::fleet_schema;
use super::view::{
    DEVICE_COLUMNS, DeviceRow, DeviceView, VEHICLE_COLUMNS, VehicleRow, VehicleView,
};
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
    let schema = fleet_schema(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    if let Some(zone) = q.zone {
        let known: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {schema}.zones WHERE zone_id = $1)"
        ))
        .bind(zone)
        .fetch_one(&state.pool)
        .await
        .map_err(ApiError::internal)?;
        if !known {
            return Err(ApiError::invalid_parameter(
                "zone",
                "no zone has this id (see GET /v1/admin/zones)",
            ));
        }
    }
    let offline_before_ms = q.offline_for_s.map(|s| {
        Utc::now()
            .timestamp_millis()
            .saturating_sub(s.saturating_mul(1000))
    });
    let sql = format!(
        "SELECT {VEHICLE_COLUMNS} FROM {schema}.vehicles v
         LEFT JOIN {schema}.devices d ON d.device_id = v.device_id
         WHERE ($1::text IS NULL OR coalesce(v.state, 'AVAILABLE') = $1)
           AND ($2::int IS NULL OR d.battery_pct < $2)
           AND ($3::bigint IS NULL OR (NOT coalesce(d.online, false)
                AND coalesce(d.received_at_ms, 0) < $3))
           AND ($4::uuid IS NULL OR v.vehicle_id > $4)
           AND ($6::uuid IS NULL OR EXISTS (
                SELECT 1 FROM {schema}.zones z
                WHERE z.zone_id = $6
                  AND fleetlog_point_in_rings(d.lat_e7, d.lon_e7, z.rings)))
         ORDER BY v.vehicle_id
         LIMIT $5"
    );
    let rows: Vec<VehicleRow> = sqlx::query_as(&sql)
        .bind(wanted_state)
        .bind(q.battery_below)
        .bind(offline_before_ms)
        .bind(q.cursor)
        .bind(limit + 1)
        .bind(q.zone)
        .fetch_all(&state.pool)
        .await
        .map_err(ApiError::internal)?;
    let page = Page::of(rows, limit, |r: &VehicleRow| Some(r.vehicle_id));
    Ok(Aged(age, Json(page.map(VehicleView::from))))
}

/// A command with its outcome, as listed with a vehicle.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub(crate) struct RecentCommand {
    command_id: Uuid,
    kind: String,
    actor_role: String,
    requested_at: DateTime<Utc>,
    status: String,
    code: Option<String>,
    message: Option<String>,
    finished_at: Option<DateTime<Utc>>,
}

async fn recent_commands(state: &ApiState, target: Uuid) -> Result<Vec<RecentCommand>, ApiError> {
    let rides = state
        .read_models
        .live_schema(RIDES)
        .await
        .map_err(ApiError::internal)?;
    let sql = match rides {
        Some(rides) => format!(
            "SELECT r.command_id, r.kind, r.actor_role, r.requested_at,
                    coalesce(c.status, 'pending') AS status, c.code, c.message, c.finished_at
             FROM command_requests r LEFT JOIN {rides}.commands c USING (command_id)
             WHERE r.target_id = $1 ORDER BY r.requested_at DESC LIMIT $2"
        ),
        None => "SELECT command_id, kind, actor_role, requested_at, 'pending' AS status,
                    NULL::text AS code, NULL::text AS message, NULL::timestamptz AS finished_at
             FROM command_requests WHERE target_id = $1 ORDER BY requested_at DESC LIMIT $2"
            .to_owned(),
    };
    sqlx::query_as(&sql)
        .bind(target)
        .bind(RECENT_COMMANDS)
        .fetch_all(&state.pool)
        .await
        .map_err(ApiError::internal)
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
    let schema = fleet_schema(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET, RIDES]).await?;
    let sql = format!(
        "SELECT {VEHICLE_COLUMNS} FROM {schema}.vehicles v
         LEFT JOIN {schema}.devices d ON d.device_id = v.device_id WHERE v.vehicle_id = $1"
    );
    let row: Option<VehicleRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&state.pool)
        .await
        .map_err(ApiError::internal)?;
    let row = row.ok_or_else(|| not_found("vehicle"))?;
    let recent_commands = recent_commands(&state, id).await?;
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
    let schema = fleet_schema(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET, RIDES]).await?;
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM {schema}.devices WHERE device_id = $1");
    let row: Option<DeviceRow> = sqlx::query_as(&sql)
        .bind(&device_id)
        .fetch_optional(&state.pool)
        .await
        .map_err(ApiError::internal)?;
    let row = row.ok_or_else(|| not_found("device"))?;
    let vehicle = row.vehicle_id;
    let recent_commands = match vehicle {
        Some(v) => recent_commands(&state, v).await?,
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
