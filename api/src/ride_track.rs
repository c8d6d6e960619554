//! The route of one ride: the valid positions its vehicle's device reported between the
//! ride's start and end (or now, while it goes on), from the fleet read model's telemetry
//! history — what `GET /v1/rides/{ride_id}` shows as `route`.

use crate::read_model::{FLEET, ReadModels};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;

/// Most points of one route (a longer ride shows its first ones).
pub const MAX_POINTS: i64 = 5000;

/// One reported position.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TrackPoint {
    lat: f64,
    lon: f64,
    /// Device time of the record.
    at: Option<DateTime<Utc>>,
}

/// The positions of `vehicle_id`'s device from `from` to `to` (device time), oldest first;
/// empty while the fleet read model is not built.
///
/// # Errors
/// Database failures (500).
pub(crate) async fn track(
    read: &ReadModels,
    vehicle_id: Uuid,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TrackPoint>, ApiError> {
    let pool = read.pool();
    let Some(fleet) = read.live_schema(FLEET).await.map_err(ApiError::internal)? else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT h.lat_e7, h.lon_e7, h.device_time_ms
         FROM {fleet}.vehicles v
         JOIN {fleet}.telemetry_history h ON h.device_id = v.device_id
         WHERE v.vehicle_id = $1 AND h.position_valid
           AND h.device_time_ms BETWEEN $2 AND $3
         ORDER BY h.device_time_ms, h.record_index
         LIMIT $4"
    );
    let rows: Vec<(i32, i32, i64)> = sqlx::query_as(&sql)
        .bind(vehicle_id)
        .bind(from.timestamp_millis())
        .bind(to.unwrap_or_else(Utc::now).timestamp_millis())
        .bind(MAX_POINTS)
        .fetch_all(pool)
        .await
        .map_err(ApiError::internal)?;
    Ok(rows
        .into_iter()
        .map(|(lat, lon, ms)| TrackPoint {
            lat: f64::from(lat) / 1e7,
            lon: f64::from(lon) / 1e7,
            at: DateTime::from_timestamp_millis(ms),
        })
        .collect())
}
