//! What MDS reads from the fleet and rides read models.
//!
//! MDS `device_id` is our vehicle id (a UUID, permanent for the vehicle), `vehicle_id` its
//! QR code. The MDS event stream is derived from the read models' rows, each event with a
//! stable id, so a rebuilt read model yields the same events:
//!
//! | our row | MDS event types → vehicle state | `event_id` |
//! |---|---|---|
//! | vehicle registered | `provider_drop_off` → `available` | the `VehicleRegistered` event's id |
//! | vehicle out of service now | `maintenance` → `non_operational` | its `VehicleStateChanged` event's id |
//! | reservation made | `reservation_start` → `reserved` | md5 of reservation id + type |
//! | reservation cancelled or expired | `reservation_cancel` → `available` | md5 of reservation id + type |
//! | ride started | `trip_start` → `on_trip` | md5 of ride id + type |
//! | ride ended | `trip_end` → `available` | md5 of ride id + type |
//!
//! An event's location is the ride's start or end point, otherwise the vehicle's newest
//! valid position at or before the event (its current one if it had none then); its
//! battery is the newest reading at or before it. Events without any known location are
//! left out (MDS requires one). Past out-of-service periods are not in the read model, so
//! only a current one is reported.

use uuid::Uuid;

use crate::read_model::{FLEET, RIDES, ReadModels, is_missing_table};

/// A registered vehicle.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VehicleRow {
    /// Our vehicle id (MDS `device_id`).
    pub vehicle_id: Uuid,
    /// The code printed on it (MDS `vehicle_id`).
    pub qr_code: Option<String>,
    /// Its model.
    pub model: Option<String>,
}

/// One MDS event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Stable event id.
    pub event_id: Uuid,
    /// Our vehicle id.
    pub vehicle_id: Uuid,
    /// When it happened, ms.
    pub ts: i64,
    /// The MDS event type.
    pub event_type: String,
    /// The MDS vehicle state after it.
    pub vehicle_state: String,
    /// The ride of a trip event.
    pub trip_id: Option<Uuid>,
    /// Where, 1e-7 degrees.
    pub lat_e7: i32,
    /// See `lat_e7`.
    pub lon_e7: i32,
    /// Battery, percent.
    pub battery_pct: Option<i32>,
}

/// One telemetry point.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TelemetryRow {
    /// The telemetry event's id.
    pub event_id: Uuid,
    /// Our vehicle id.
    pub vehicle_id: Uuid,
    /// Device time, ms.
    pub device_time_ms: i64,
    /// Position, 1e-7 degrees.
    pub lat_e7: i32,
    /// See `lat_e7`.
    pub lon_e7: i32,
    /// km/h.
    pub speed_kmh: i32,
    /// Degrees from north.
    pub heading_deg: i32,
    /// Percent.
    pub battery_pct: Option<i32>,
    /// The ride it belongs to.
    pub trip_id: Option<Uuid>,
}

/// One ended ride.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TripRow {
    /// The ride.
    pub ride_id: Uuid,
    /// Our vehicle id.
    pub vehicle_id: Uuid,
    /// ms.
    pub start_ms: i64,
    /// ms.
    pub end_ms: i64,
    /// 1e-7 degrees.
    pub start_lat_e7: i32,
    /// 1e-7 degrees.
    pub start_lon_e7: i32,
    /// 1e-7 degrees.
    pub end_lat_e7: i32,
    /// 1e-7 degrees.
    pub end_lon_e7: i32,
    /// ms.
    pub duration_ms: i64,
    /// Metres.
    pub distance_m: i64,
    /// Minor units.
    pub fare_minor: Option<i64>,
    /// ISO 4217.
    pub currency: Option<String>,
}

/// Which events [`events`] returns.
#[derive(Debug, Clone, Copy)]
pub enum EventFilter {
    /// `from_ms <= ts < to_ms`, after the `(ts, event_id)` cursor, at most `limit`.
    Range {
        /// Inclusive.
        from_ms: i64,
        /// Exclusive.
        to_ms: i64,
        /// Keyset cursor.
        after: Option<(i64, Uuid)>,
        /// Most rows.
        limit: i64,
    },
    /// The newest event of each of these vehicles.
    LatestOf,
}

/// The fleet and rides schemas, `None` while the fleet read model is not live.
async fn schemas(read: &ReadModels) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let Some(fleet) = read.live_schema(FLEET).await? else {
        return Ok(None);
    };
    Ok(Some((fleet, read.live_schema(RIDES).await?)))
}

fn empty_if_missing<T>(result: Result<Vec<T>, sqlx::Error>) -> Result<Vec<T>, sqlx::Error> {
    match result {
        Err(err) if is_missing_table(&err) => Ok(Vec::new()),
        other => other,
    }
}

/// Registered vehicles by id after `after` (at most `limit`), or the one `only`.
///
/// # Errors
/// Database failures.
pub async fn vehicles(
    read: &ReadModels,
    after: Option<Uuid>,
    only: Option<Uuid>,
    limit: i64,
) -> Result<Vec<VehicleRow>, sqlx::Error> {
    let pool = read.pool();
    let Some((fleet, _)) = schemas(read).await? else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT vehicle_id, qr_code, model FROM {fleet}.vehicles
         WHERE device_id IS NOT NULL AND registered_at_ms IS NOT NULL
           AND ($1::uuid IS NULL OR vehicle_id > $1) AND ($2::uuid IS NULL OR vehicle_id = $2)
         ORDER BY vehicle_id LIMIT $3"
    );
    let rows = sqlx::query_as(&sql)
        .bind(after)
        .bind(only)
        .bind(limit)
        .fetch_all(pool)
        .await;
    empty_if_missing(rows)
}

/// When the first vehicle was registered (the provider began operating), ms.
///
/// # Errors
/// Database failures.
pub async fn first_operation_ms(read: &ReadModels) -> Result<Option<i64>, sqlx::Error> {
    let pool = read.pool();
    let Some((fleet, _)) = schemas(read).await? else {
        return Ok(None);
    };
    let sql = format!("SELECT min(registered_at_ms) FROM {fleet}.vehicles");
    match sqlx::query_scalar(&sql).fetch_one(pool).await {
        Err(err) if is_missing_table(&err) => Ok(None),
        other => other,
    }
}

fn ms(column: &str) -> String {
    format!("(extract(epoch FROM {column}) * 1000)::bigint")
}

/// The derived events (see the module docs) of `filter`, of `vehicles` when given.
///
/// # Errors
/// Database failures.
pub async fn events(
    read: &ReadModels,
    filter: EventFilter,
    vehicles: Option<&[Uuid]>,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let pool = read.pool();
    let Some((f, rides)) = schemas(read).await? else {
        return Ok(Vec::new());
    };
    let mut raw = format!(
        "SELECT v.registered_event_id AS event_id, v.vehicle_id, v.registered_at_ms AS ts,
                'provider_drop_off'::text AS event_type, 'available'::text AS vehicle_state,
                NULL::uuid AS trip_id, NULL::integer AS lat_e7, NULL::integer AS lon_e7
         FROM {f}.vehicles v
         WHERE v.registered_event_id IS NOT NULL AND v.registered_at_ms IS NOT NULL
         UNION ALL
         SELECT v.state_event_id, v.vehicle_id, v.state_since_ms, 'maintenance',
                'non_operational', NULL, NULL, NULL
         FROM {f}.vehicles v
         WHERE v.state = 'OUT_OF_SERVICE' AND v.state_event_id IS NOT NULL"
    );
    if let Some(r) = rides {
        let (started, ended, made, cancelled) = (
            ms("x.started_at"),
            ms("x.ended_at"),
            ms("y.made_at"),
            ms("y.ended_at"),
        );
        raw.push_str(&format!(
            " UNION ALL
             SELECT md5(x.ride_id::text || ':trip_start')::uuid, x.vehicle_id, {started},
                    'trip_start', 'on_trip', x.ride_id, x.start_lat_e7, x.start_lon_e7
             FROM {r}.rides x WHERE x.started_at IS NOT NULL
             UNION ALL
             SELECT md5(x.ride_id::text || ':trip_end')::uuid, x.vehicle_id, {ended},
                    'trip_end', 'available', x.ride_id, x.end_lat_e7, x.end_lon_e7
             FROM {r}.rides x WHERE x.state = 'ended' AND x.ended_at IS NOT NULL
             UNION ALL
             SELECT md5(y.reservation_id::text || ':reservation_start')::uuid, y.vehicle_id,
                    {made}, 'reservation_start', 'reserved', NULL, NULL, NULL
             FROM {r}.reservations y WHERE y.made_at IS NOT NULL
             UNION ALL
             SELECT md5(y.reservation_id::text || ':reservation_cancel')::uuid, y.vehicle_id,
                    {cancelled}, 'reservation_cancel', 'available', NULL, NULL, NULL
             FROM {r}.reservations y
             WHERE y.state IN ('cancelled', 'expired') AND y.ended_at IS NOT NULL"
        ));
    }
    let (select, order) = match filter {
        EventFilter::Range { .. } => ("SELECT", "e.ts, e.event_id"),
        EventFilter::LatestOf => (
            "SELECT DISTINCT ON (e.vehicle_id)",
            "e.vehicle_id, e.ts DESC, e.event_id DESC",
        ),
    };
    let sql = format!(
        "WITH raw AS ({raw})
         {select} e.event_id, e.vehicle_id, e.ts, e.event_type, e.vehicle_state, e.trip_id,
                COALESCE(e.lat_e7, p.lat_e7, d.lat_e7) AS lat_e7,
                COALESCE(e.lon_e7, p.lon_e7, d.lon_e7) AS lon_e7,
                COALESCE(b.battery_pct, d.battery_pct) AS battery_pct
         FROM raw e
         JOIN {f}.vehicles v ON v.vehicle_id = e.vehicle_id
         LEFT JOIN {f}.devices d ON d.device_id = v.device_id
         LEFT JOIN LATERAL (
             SELECT h.lat_e7, h.lon_e7 FROM {f}.telemetry_history h
             WHERE h.device_id = v.device_id AND h.device_time_ms <= e.ts AND h.position_valid
             ORDER BY h.device_time_ms DESC, h.record_index DESC LIMIT 1) p ON true
         LEFT JOIN LATERAL (
             SELECT h.battery_pct FROM {f}.telemetry_history h
             WHERE h.device_id = v.device_id AND h.device_time_ms <= e.ts
               AND h.battery_pct IS NOT NULL
             ORDER BY h.device_time_ms DESC, h.record_index DESC LIMIT 1) b ON true
         WHERE ($1::bigint IS NULL OR e.ts >= $1) AND ($2::bigint IS NULL OR e.ts < $2)
           AND ($3::bigint IS NULL OR (e.ts, e.event_id) > ($3, $4::uuid))
           AND COALESCE(e.lat_e7, p.lat_e7, d.lat_e7) IS NOT NULL
           AND COALESCE(e.lon_e7, p.lon_e7, d.lon_e7) IS NOT NULL
           AND ($6::uuid[] IS NULL OR e.vehicle_id = ANY($6))
         ORDER BY {order} LIMIT $5::bigint"
    );
    let (from, to, after, limit) = match filter {
        EventFilter::Range {
            from_ms,
            to_ms,
            after,
            limit,
        } => (Some(from_ms), Some(to_ms), after, Some(limit)),
        EventFilter::LatestOf => (None, None, None, None),
    };
    let rows = sqlx::query_as(&sql)
        .bind(from)
        .bind(to)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .bind(vehicles)
        .fetch_all(pool)
        .await;
    empty_if_missing(rows)
}

/// Telemetry of registered vehicles with a valid position, device time in
/// `[from_ms, to_ms)`, with the ride each point belongs to; or, with `latest_of`, the newest
/// point of each of those vehicles.
///
/// # Errors
/// Database failures.
pub async fn telemetry(
    read: &ReadModels,
    range: Option<(i64, i64)>,
    latest_of: Option<&[Uuid]>,
) -> Result<Vec<TelemetryRow>, sqlx::Error> {
    let pool = read.pool();
    let Some((f, rides)) = schemas(read).await? else {
        return Ok(Vec::new());
    };
    let trip = match rides {
        Some(r) => format!(
            "(SELECT x.ride_id FROM {r}.rides x
              WHERE x.vehicle_id = v.vehicle_id AND x.started_at IS NOT NULL
                AND h.device_time_ms >= {started}
                AND (x.ended_at IS NULL OR h.device_time_ms <= {ended})
              ORDER BY x.started_at DESC LIMIT 1)",
            started = ms("x.started_at"),
            ended = ms("x.ended_at"),
        ),
        None => "NULL::uuid".to_owned(),
    };
    let (select, order) = if latest_of.is_some() {
        (
            "SELECT DISTINCT ON (v.vehicle_id)",
            "ORDER BY v.vehicle_id, h.device_time_ms DESC, h.record_index DESC",
        )
    } else {
        (
            "SELECT",
            "ORDER BY h.device_time_ms, v.vehicle_id, h.record_index",
        )
    };
    let sql = format!(
        "{select} h.event_id, v.vehicle_id, h.device_time_ms, h.lat_e7, h.lon_e7, h.speed_kmh,
                h.heading_deg, h.battery_pct, {trip} AS trip_id
         FROM {f}.telemetry_history h
         JOIN {f}.vehicles v ON v.device_id = h.device_id
         WHERE h.position_valid
           AND ($1::bigint IS NULL OR (h.device_time_ms >= $1 AND h.device_time_ms < $2))
           AND ($3::uuid[] IS NULL OR v.vehicle_id = ANY($3))
         {order}"
    );
    let rows = sqlx::query_as(&sql)
        .bind(range.map(|r| r.0))
        .bind(range.map(|r| r.1))
        .bind(latest_of)
        .fetch_all(pool)
        .await;
    empty_if_missing(rows)
}

/// Rides that ended in `[from_ms, to_ms)` with both ends known.
///
/// # Errors
/// Database failures.
pub async fn trips(
    read: &ReadModels,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<TripRow>, sqlx::Error> {
    let pool = read.pool();
    let Some((_, Some(r))) = schemas(read).await? else {
        return Ok(Vec::new());
    };
    let (start, end) = (ms("started_at"), ms("ended_at"));
    let sql = format!(
        "SELECT ride_id, vehicle_id, {start} AS start_ms, {end} AS end_ms,
                start_lat_e7, start_lon_e7, end_lat_e7, end_lon_e7,
                COALESCE(duration_ms, {end} - {start}) AS duration_ms,
                COALESCE(distance_m, 0) AS distance_m, fare_minor, currency
         FROM {r}.rides
         WHERE state = 'ended' AND started_at IS NOT NULL AND ended_at IS NOT NULL
           AND start_lat_e7 IS NOT NULL AND start_lon_e7 IS NOT NULL
           AND end_lat_e7 IS NOT NULL AND end_lon_e7 IS NOT NULL
           AND {end} >= $1 AND {end} < $2
         ORDER BY ended_at, ride_id"
    );
    let rows = sqlx::query_as(&sql)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(pool)
        .await;
    empty_if_missing(rows)
}
