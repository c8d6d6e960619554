//! What the GBFS feeds read: the vehicles that may be shown, the vehicle models, the zones
//! (fleet read model, with the rides read model for trips).
//!
//! A read model that is not live yet (or still creating its tables) reads as empty: GBFS
//! files must never 404, an empty fleet is a valid answer.

use fleetlog_schemas::events::GeoPoint;
use uuid::Uuid;

use crate::read_model::{FLEET, RIDES, ReadModels, is_missing_table};

/// A vehicle the feeds may list: registered, its device's position known, not on a trip
/// nor out of service.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VehicleRow {
    /// Our vehicle id (never shown).
    pub vehicle_id: Uuid,
    /// Its model.
    pub model: Option<String>,
    /// `AVAILABLE`, `RESERVED`, or `NULL` (never changed state since registration: available).
    pub state: Option<String>,
    /// Last valid position.
    pub lat_e7: i32,
    /// See `lat_e7`.
    pub lon_e7: i32,
    /// Last reported battery, percent.
    pub battery_pct: Option<i32>,
    /// Whether the device has a session.
    pub online: bool,
    /// When the device last reported (receive time of its newest record), ms.
    pub last_reported_ms: Option<i64>,
    /// Its newest ended ride: what its public id rotates with.
    pub last_trip: Option<Uuid>,
}

/// A zone as stored by the fleet projection.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRow {
    /// The zone.
    pub zone_id: Uuid,
    /// `SERVICE_AREA`, `NO_PARKING` or `SLOW`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Outer ring first, then holes.
    pub rings: Vec<Vec<GeoPoint>>,
    /// Speed limit of a `SLOW` zone, km/h.
    pub speed_limit_kmh: Option<i32>,
}

fn empty_if_missing<T>(result: Result<Vec<T>, sqlx::Error>) -> Result<Vec<T>, sqlx::Error> {
    match result {
        Err(err) if is_missing_table(&err) => Ok(Vec::new()),
        other => other,
    }
}

/// The vehicles the feeds may list.
///
/// Hidden: vehicles on a trip (`IN_RIDE`) or out of service, vehicles whose device reports
/// no position yet or belongs to another vehicle now, and vehicles whose newest ride
/// (failed ones aside) is open in the rides read model: requested and unlocking (the rental
/// has begun), or ended already in the fleet read model but not yet in the rides read model
/// — so a vehicle never reappears under the id it had before its trip.
///
/// # Errors
/// Database failures.
pub async fn vehicles(read: &ReadModels) -> Result<Vec<VehicleRow>, sqlx::Error> {
    let pool = read.pool();
    let Some(fleet) = read.live_schema(FLEET).await? else {
        return Ok(Vec::new());
    };
    let (trip, join, open) = match read.live_schema(RIDES).await? {
        Some(rides) => (
            "r.ride_id",
            format!(
                "LEFT JOIN LATERAL (
                    SELECT x.ride_id, x.state FROM {rides}.rides x
                    WHERE x.vehicle_id = v.vehicle_id AND x.state <> 'failed'
                    ORDER BY x.requested_at DESC NULLS LAST, x.ride_id DESC
                    LIMIT 1
                 ) r ON true"
            ),
            "AND r.state IS DISTINCT FROM 'requested' AND r.state IS DISTINCT FROM 'started'",
        ),
        None => ("NULL::uuid", String::new(), ""),
    };
    let sql = format!(
        "SELECT v.vehicle_id, v.model, v.state, d.lat_e7, d.lon_e7, d.battery_pct, d.online,
                COALESCE(d.received_at_ms, d.device_time_ms) AS last_reported_ms,
                {trip} AS last_trip
         FROM {fleet}.vehicles v
         JOIN {fleet}.devices d ON d.device_id = v.device_id AND d.vehicle_id = v.vehicle_id
         {join}
         WHERE (v.state IS NULL OR v.state IN ('AVAILABLE', 'RESERVED'))
           AND d.lat_e7 IS NOT NULL AND d.lon_e7 IS NOT NULL
           {open}"
    );
    empty_if_missing(sqlx::query_as(&sql).fetch_all(pool).await)
}

/// The models of every registered vehicle (shown or not), each once.
///
/// # Errors
/// Database failures.
pub async fn models(read: &ReadModels) -> Result<Vec<Option<String>>, sqlx::Error> {
    let pool = read.pool();
    let Some(fleet) = read.live_schema(FLEET).await? else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT DISTINCT model FROM {fleet}.vehicles WHERE device_id IS NOT NULL ORDER BY model"
    );
    empty_if_missing(sqlx::query_scalar(&sql).fetch_all(pool).await)
}

/// Every zone. A zone whose stored rings cannot be read is left out (and logged).
///
/// # Errors
/// Database failures.
pub async fn zones(read: &ReadModels) -> Result<Vec<ZoneRow>, sqlx::Error> {
    let pool = read.pool();
    type Row = (Uuid, String, String, serde_json::Value, Option<i32>);
    let Some(fleet) = read.live_schema(FLEET).await? else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT zone_id, kind, name, rings, speed_limit_kmh FROM {fleet}.zones ORDER BY zone_id"
    );
    let rows: Vec<Row> = empty_if_missing(sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(zone_id, kind, name, rings, speed_limit_kmh)| {
            match serde_json::from_value(rings) {
                Ok(rings) => Some(ZoneRow {
                    zone_id,
                    kind,
                    name,
                    rings,
                    speed_limit_kmh,
                }),
                Err(err) => {
                    tracing::warn!(%zone_id, error = %err, "zone rings unreadable; left out of GBFS");
                    None
                }
            }
        })
        .collect())
}
