//! What riders look up: vehicles near them, and the vehicle behind a QR code.

use crate::read_model::{Aged, FLEET};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::read::Fleet;
use super::view::{Point, point};
use crate::auth::{AuthError, AuthUser, Role};
use crate::error::ApiError;
use crate::page::{self, Limits};
use crate::state::ApiState;

/// Range of a fully charged vehicle, in metres: the assumption behind `range_m` (a typical
/// rental scooter's rated 40 km, scaled linearly by the battery).
pub(crate) const FULL_RANGE_M: i64 = 40_000;
/// Default and largest search radius, in metres.
pub(crate) const DEFAULT_RADIUS_M: u32 = 500;
/// See [`DEFAULT_RADIUS_M`].
pub(crate) const MAX_RADIUS_M: u32 = 5_000;
/// Default and largest number of vehicles returned.
const LIMITS: Limits = Limits {
    default: 20,
    max: 100,
};

/// `?lat=&lon=&radius_m=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NearbyQuery {
    /// Latitude, −90 to 90.
    lat: f64,
    /// Longitude, −180 to 180.
    lon: f64,
    /// Search radius in metres, 1 to 5000 (default 500).
    radius_m: Option<u32>,
    /// At most this many vehicles, 1 to 100 (default 20).
    limit: Option<u32>,
}

/// A vehicle a rider may take.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NearbyVehicle {
    vehicle_id: Uuid,
    model: Option<String>,
    position: Option<Point>,
    distance_m: i64,
    battery_pct: Option<i32>,
    range_m: Option<i64>,
}

/// Vehicles near a point, nearest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NearbyPage {
    items: Vec<NearbyVehicle>,
}

fn riders_and_staff(user: &AuthUser) -> Result<(), ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    Ok(())
}

fn range_m(battery_pct: Option<i32>) -> Option<i64> {
    battery_pct.map(|b| FULL_RANGE_M * i64::from(b.clamp(0, 100)) / 100)
}

/// `GET /v1/vehicles/nearby`: available, online vehicles within the radius, nearest first.
#[utoipa::path(
    get, path = "/v1/vehicles/nearby", tag = "fleet",
    security(("bearer" = [])),
    params(NearbyQuery),
    responses(
        (status = 200, description = "Vehicles", body = NearbyPage, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_parameter` (`field` names it)"),
        (status = 503, description = "`read_model_unavailable`: the fleet read model is not built yet, or `timeout`"),
    )
)]
pub(crate) async fn nearby(
    State(state): State<ApiState>,
    user: AuthUser,
    query: Result<Query<NearbyQuery>, QueryRejection>,
) -> Result<Aged<Json<NearbyPage>>, ApiError> {
    riders_and_staff(&user)?;
    let Query(q) = query.map_err(|e| {
        let text = e.body_text();
        let field = ["lat", "lon", "radius_m", "limit"]
            .into_iter()
            .find(|f| text.contains(&format!("`{f}`")) || text.contains(f))
            .unwrap_or("lat");
        ApiError::invalid_parameter(
            field,
            "lat and lon are required numbers; radius_m and limit whole numbers",
        )
    })?;
    if !(q.lat.is_finite() && (-90.0..=90.0).contains(&q.lat)) {
        return Err(ApiError::invalid_parameter("lat", "lat must be within ±90"));
    }
    if !(q.lon.is_finite() && (-180.0..=180.0).contains(&q.lon)) {
        return Err(ApiError::invalid_parameter(
            "lon",
            "lon must be within ±180",
        ));
    }
    let radius = q.radius_m.unwrap_or(DEFAULT_RADIUS_M);
    if radius == 0 || radius > MAX_RADIUS_M {
        return Err(ApiError::invalid_parameter(
            "radius_m",
            "radius_m must be 1 to 5000",
        ));
    }
    let limit = page::limit(q.limit.map(i64::from), LIMITS)?;
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    let rows = fleet.nearby((q.lat, q.lon), radius, limit).await?;
    let items = rows
        .into_iter()
        .map(|(distance_m, r)| NearbyVehicle {
            vehicle_id: r.vehicle_id,
            model: r.model,
            position: point(r.lat_e7, r.lon_e7),
            distance_m,
            battery_pct: r.battery_pct,
            range_m: range_m(r.battery_pct),
        })
        .collect();
    Ok(Aged(age, Json(NearbyPage { items })))
}

/// The vehicle behind a QR code, as a rider sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RiderVehicle {
    vehicle_id: Uuid,
    model: Option<String>,
    state: String,
    available: bool,
    position: Option<Point>,
    battery_pct: Option<i32>,
    range_m: Option<i64>,
}

/// `GET /v1/vehicles/by-qr/{qr_code}`: the vehicle behind a QR code.
#[utoipa::path(
    get, path = "/v1/vehicles/by-qr/{qr_code}", tag = "fleet",
    security(("bearer" = [])),
    params(("qr_code" = String, Path, description = "The code printed on the vehicle")),
    responses(
        (status = 200, description = "The vehicle and whether it can be taken", body = RiderVehicle, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 404, description = "`not_found`: no vehicle with this QR code"),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn by_qr(
    State(state): State<ApiState>,
    user: AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Aged<Json<RiderVehicle>>, ApiError> {
    riders_and_staff(&user)?;
    let Path(qr) =
        path.map_err(|_| ApiError::invalid_parameter("qr_code", "qr_code is required"))?;
    let no_such = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no vehicle with this QR code",
        )
    };
    // PostgreSQL text cannot hold NUL, and no QR code has one.
    if qr.contains('\0') {
        return Err(no_such());
    }
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    let row = fleet.vehicle_by_qr(&qr).await?;
    let r = row.ok_or_else(no_such)?;
    let available = r.state == "AVAILABLE" && r.online == Some(true);
    Ok(Aged(
        age,
        Json(RiderVehicle {
            vehicle_id: r.vehicle_id,
            model: r.model,
            state: r.state,
            available,
            position: point(r.lat_e7, r.lon_e7),
            battery_pct: r.battery_pct,
            range_m: range_m(r.battery_pct),
        }),
    ))
}
