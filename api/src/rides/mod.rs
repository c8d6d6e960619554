//! A rider's rides and reservations from the rides read model: `GET /v1/me/rides` (newest
//! first, cursor paginated) and `GET /v1/rides/{ride_id}` (the rider's own, or any for
//! staff), with start and end, duration, distance and fare in integer minor units, and in
//! the detail the route (the valid positions its vehicle's device reported between start
//! and end, or now, from the fleet read model's telemetry history); `GET
//! /v1/me/reservations` ([`reservations`]). What they read, and the SQL, is in [`read`].

pub mod read;
mod reservations;

use crate::read_model::{Aged, FLEET, RIDES};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthError, AuthUser, Role};
use crate::error::ApiError;
use crate::page::{self, After, Page};
use crate::state::ApiState;
use read::RideRow;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(my_rides, ride, reservations::my_reservations))]
pub(crate) struct Doc;

/// The routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/me/rides", get(my_rides))
        .route("/v1/rides/{ride_id}", get(ride))
        .route("/v1/me/reservations", get(reservations::my_reservations))
}

/// A point in degrees.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RidePoint)]
pub(crate) struct Point {
    lat: f64,
    lon: f64,
}

fn point(lat_e7: Option<i32>, lon_e7: Option<i32>) -> Option<Point> {
    Some(Point {
        lat: f64::from(lat_e7?) / 1e7,
        lon: f64::from(lon_e7?) / 1e7,
    })
}

/// One ride as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Ride)]
pub(crate) struct RideView {
    ride_id: Uuid,
    vehicle_id: Uuid,
    state: String,
    reservation_id: Option<Uuid>,
    requested_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    start: Option<Point>,
    end: Option<Point>,
    duration_ms: Option<i64>,
    distance_m: Option<i64>,
    fare_minor: Option<i64>,
    currency: Option<String>,
    failure_reason: Option<String>,
    /// The positions reported during the ride, oldest first (ride detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<Vec<TrackPoint>>,
}

/// One reported position of a ride's route.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrackPoint {
    lat: f64,
    lon: f64,
    /// Device time of the record.
    at: Option<DateTime<Utc>>,
}

impl From<RideRow> for RideView {
    fn from(r: RideRow) -> Self {
        Self {
            ride_id: r.ride_id,
            vehicle_id: r.vehicle_id,
            state: r.state,
            reservation_id: r.reservation_id,
            requested_at: r.requested_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
            start: point(r.start_lat_e7, r.start_lon_e7),
            end: point(r.end_lat_e7, r.end_lon_e7),
            duration_ms: r.duration_ms,
            distance_m: r.distance_m,
            fare_minor: r.fare_minor,
            currency: r.currency,
            failure_reason: r.failure_reason,
            route: None,
        }
    }
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Rides per page, 1 to 100 (default 20).
    limit: Option<i64>,
    /// A previous page's `next_cursor`.
    cursor: Option<String>,
}

/// `GET /v1/me/rides`: the rider's rides, newest first.
#[utoipa::path(
    get, path = "/v1/me/rides", tag = "rides",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of rides", body = Page<RideView>, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_parameter` (`limit` or `cursor`)"),
    )
)]
async fn my_rides(
    State(state): State<ApiState>,
    user: AuthUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Aged<Json<Page<RideView>>>, ApiError> {
    if user.role != Role::Rider {
        return Err(AuthError::Forbidden.into());
    }
    let Query(q) =
        query.map_err(|_| ApiError::invalid_parameter("limit", "limit must be a number"))?;
    let limit = page::limit(q.limit, page::HISTORY)?;
    let after: Option<After> = page::cursor(q.cursor.as_deref())?;
    let age = state.read_models.data_age(&[RIDES]).await?;
    let rows = read::rides_of(&state.read_models, user.user_id, after, limit + 1).await?;
    let page = Page::of(rows, limit, |r: &RideRow| {
        Some((r.requested_at?, r.ride_id))
    });
    Ok(Aged(age, Json(page.map(RideView::from))))
}

/// `GET /v1/rides/{ride_id}`: one ride (the rider's own, or any for staff).
#[utoipa::path(
    get, path = "/v1/rides/{ride_id}", tag = "rides",
    security(("bearer" = [])),
    params(("ride_id" = Uuid, Path, description = "The ride")),
    responses(
        (status = 200, description = "The ride", body = RideView, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 400, description = "`invalid_id`: not a UUID"),
        (status = 404, description = "`not_found`"),
    )
)]
async fn ride(
    State(state): State<ApiState>,
    user: AuthUser,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<Aged<Json<RideView>>, ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    let Path(ride_id) =
        path.map_err(|_| ApiError::invalid_id("ride_id", "ride id must be a UUID"))?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ride");
    let age = state.read_models.data_age(&[RIDES, FLEET]).await?;
    let row = read::ride(&state.read_models, ride_id).await?;
    // Riders see their own rides only; others' are as unknown as missing ones.
    let row = row
        .filter(|r| user.role != Role::Rider || r.rider_id == user.user_id)
        .ok_or_else(not_found)?;
    let route = match row.started_at {
        Some(from) => {
            let to = row.ended_at.unwrap_or_else(Utc::now);
            let points = read::route(&state.read_models, row.vehicle_id, from, to).await?;
            Some(points.into_iter().map(TrackPoint::from).collect())
        }
        None => None,
    };
    let mut view = RideView::from(row);
    view.route = route;
    Ok(Aged(age, Json(view)))
}

impl From<(i32, i32, i64)> for TrackPoint {
    fn from((lat_e7, lon_e7, device_time_ms): (i32, i32, i64)) -> Self {
        Self {
            lat: f64::from(lat_e7) / 1e7,
            lon: f64::from(lon_e7) / 1e7,
            at: DateTime::from_timestamp_millis(device_time_ms),
        }
    }
}
