//! What the rides routes read — the SQL of [`super`]: a rider's rides and reservations
//! (newest first, after a [`After`] keyset) and one ride from the rides read model, and a
//! ride's route from the fleet read model's telemetry history. While a read model is not
//! built these read as empty (no ride, no route).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::reservations::ReservationView;
use crate::page::After;
use crate::read_model::{FLEET, RIDES, ReadModels};

/// Most points of one route (a longer ride shows its first ones).
pub const MAX_ROUTE_POINTS: i64 = 5000;

/// One ride of the rides read model.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RideRow {
    pub(crate) ride_id: Uuid,
    pub(crate) vehicle_id: Uuid,
    pub(crate) rider_id: Uuid,
    pub(crate) state: String,
    pub(crate) reservation_id: Option<Uuid>,
    pub(crate) requested_at: Option<DateTime<Utc>>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) ended_at: Option<DateTime<Utc>>,
    pub(crate) start_lat_e7: Option<i32>,
    pub(crate) start_lon_e7: Option<i32>,
    pub(crate) end_lat_e7: Option<i32>,
    pub(crate) end_lon_e7: Option<i32>,
    pub(crate) duration_ms: Option<i64>,
    pub(crate) distance_m: Option<i64>,
    pub(crate) fare_minor: Option<i64>,
    pub(crate) currency: Option<String>,
    pub(crate) failure_reason: Option<String>,
}

const RIDE_COLUMNS: &str = "ride_id, vehicle_id, rider_id, state, reservation_id, \
    requested_at, started_at, ended_at, start_lat_e7, start_lon_e7, end_lat_e7, end_lon_e7, \
    duration_ms, distance_m, fare_minor, currency, failure_reason";

/// `rider`'s requested rides, newest first, after `after`; at most `rows`.
///
/// # Errors
/// Database failures.
pub(crate) async fn rides_of(
    read: &ReadModels,
    rider: Uuid,
    after: Option<After>,
    rows: i64,
) -> Result<Vec<RideRow>, sqlx::Error> {
    let Some(schema) = read.live_schema(RIDES).await? else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&format!(
        "SELECT {RIDE_COLUMNS} FROM {schema}.rides
         WHERE rider_id = $1 AND requested_at IS NOT NULL
           AND ($2::timestamptz IS NULL OR (requested_at, ride_id) < ($2, $3))
         ORDER BY requested_at DESC, ride_id DESC
         LIMIT $4"
    ))
    .bind(rider)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(rows)
    .fetch_all(read.pool())
    .await
}

/// The ride `ride_id`, whoever's it is.
///
/// # Errors
/// Database failures.
pub(crate) async fn ride(read: &ReadModels, ride_id: Uuid) -> Result<Option<RideRow>, sqlx::Error> {
    let Some(schema) = read.live_schema(RIDES).await? else {
        return Ok(None);
    };
    sqlx::query_as(&format!(
        "SELECT {RIDE_COLUMNS} FROM {schema}.rides WHERE ride_id = $1"
    ))
    .bind(ride_id)
    .fetch_optional(read.pool())
    .await
}

/// `rider`'s reservations, newest first, only those in `state` if given, after `after`;
/// at most `rows`.
///
/// # Errors
/// Database failures.
pub(crate) async fn reservations_of(
    read: &ReadModels,
    rider: Uuid,
    state: Option<&str>,
    after: Option<After>,
    rows: i64,
) -> Result<Vec<ReservationView>, sqlx::Error> {
    let Some(schema) = read.live_schema(RIDES).await? else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&format!(
        "SELECT reservation_id, vehicle_id, state, made_at, expires_at, ended_at, reason, ride_id
         FROM {schema}.reservations
         WHERE rider_id = $1 AND made_at IS NOT NULL
           AND ($2::text IS NULL OR state = $2)
           AND ($3::timestamptz IS NULL OR (made_at, reservation_id) < ($3, $4))
         ORDER BY made_at DESC, reservation_id DESC
         LIMIT $5"
    ))
    .bind(rider)
    .bind(state)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(rows)
    .fetch_all(read.pool())
    .await
}

/// The valid positions `vehicle_id`'s device reported from `from` to `to` (device time),
/// oldest first, as `(lat_e7, lon_e7, device_time_ms)`; at most [`MAX_ROUTE_POINTS`].
///
/// # Errors
/// Database failures.
pub(crate) async fn route(
    read: &ReadModels,
    vehicle_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i32, i32, i64)>, sqlx::Error> {
    let Some(fleet) = read.live_schema(FLEET).await? else {
        return Ok(Vec::new());
    };
    sqlx::query_as(&format!(
        "SELECT h.lat_e7, h.lon_e7, h.device_time_ms
         FROM {fleet}.vehicles v
         JOIN {fleet}.telemetry_history h ON h.device_id = v.device_id
         WHERE v.vehicle_id = $1 AND h.position_valid
           AND h.device_time_ms BETWEEN $2 AND $3
         ORDER BY h.device_time_ms, h.record_index
         LIMIT $4"
    ))
    .bind(vehicle_id)
    .bind(from.timestamp_millis())
    .bind(to.timestamp_millis())
    .bind(MAX_ROUTE_POINTS)
    .fetch_all(read.pool())
    .await
}
