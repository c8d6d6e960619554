//! The baselines the projection is measured against, also used by `fleetlog bench
//! rebuild`: a naive row-at-a-time projector, and PostgreSQL's binary `COPY` of the same
//! history rows, each into tables shaped like the fleet projection's.

use std::time::Instant;

use anyhow::Context;
use fleetlog_projections::fleet::copy::{self as copy_binary, HistoryRow};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::Telemetry;
use sqlx::PgPool;

/// The Avro symbol of an enum value (`LOCKED`, …), as the projection stores it.
fn symbol(value: serde_json::Result<serde_json::Value>) -> Option<String> {
    value.ok().and_then(|v| v.as_str().map(str::to_owned))
}

/// The UTC day of a time in ms (the history's `day`).
fn day(ms: i64) -> anyhow::Result<chrono::NaiveDate> {
    Ok(chrono::DateTime::from_timestamp_millis(ms)
        .context("device time out of range")?
        .date_naive())
}

/// Days since 2000-01-01 (PostgreSQL's `date` epoch) of a time in ms.
fn pg_day(ms: i64) -> anyhow::Result<i32> {
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).context("date epoch")?;
    Ok(i32::try_from((day(ms)? - epoch).num_days())?)
}

/// The naive projector: per event one statement (its history row, its device row if newer
/// and its offset, in data-modifying CTEs) and one commit (the statement's own), into
/// tables shaped like the fleet projection's.
pub(crate) async fn naive(
    pool: &PgPool,
    events: &[Telemetry],
    encoded: &[(Vec<u8>, Envelope)],
) -> anyhow::Result<f64> {
    let fleet = super::fleet_schema()?;
    sqlx::raw_sql(&format!(
        "CREATE TABLE naive_history (LIKE {fleet}.telemetry_history INCLUDING ALL); \
         CREATE TABLE naive_devices (LIKE {fleet}.devices INCLUDING ALL); \
         CREATE TABLE naive_offsets (LIKE projection_offsets INCLUDING ALL); \
         INSERT INTO naive_offsets (projection, version, topic, partition, next_offset) \
         VALUES ('naive', 1, 'scooter.telemetry.v1', 0, 0);",
    ))
    .execute(pool)
    .await?;
    const STATEMENT: &str = "WITH h AS ( \
            INSERT INTO naive_history (device_id, device_time_ms, record_index, day, lat_e7, \
                lon_e7, position_valid, speed_kmh, heading_deg, battery_pct, lock_state, \
                odometer_m, alarms, received_at_ms, event_id, frame_id) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '{}', $13, $14, $15) \
            ON CONFLICT DO NOTHING), \
        o AS (UPDATE naive_offsets SET next_offset = $16, updated_at = now() \
            WHERE projection = 'naive') \
        INSERT INTO naive_devices AS d (device_id, device_time_ms, record_index, \
            received_at_ms, speed_kmh, heading_deg, alarms, lat_e7, lon_e7, position_time_ms, \
            battery_pct, battery_time_ms, lock_state, lock_time_ms, odometer_m, \
            odometer_time_ms, last_event_id, updated_at) \
        VALUES ($1, $2, $3, $13, $8, $9, '{}', $5, $6, $2, $10, $2, $11, $2, $12, $2, $14, now()) \
        ON CONFLICT (device_id) DO UPDATE SET device_time_ms = EXCLUDED.device_time_ms, \
            record_index = EXCLUDED.record_index, received_at_ms = EXCLUDED.received_at_ms, \
            speed_kmh = EXCLUDED.speed_kmh, heading_deg = EXCLUDED.heading_deg, \
            alarms = EXCLUDED.alarms, lat_e7 = EXCLUDED.lat_e7, lon_e7 = EXCLUDED.lon_e7, \
            position_time_ms = EXCLUDED.position_time_ms, battery_pct = EXCLUDED.battery_pct, \
            battery_time_ms = EXCLUDED.battery_time_ms, lock_state = EXCLUDED.lock_state, \
            lock_time_ms = EXCLUDED.lock_time_ms, odometer_m = EXCLUDED.odometer_m, \
            odometer_time_ms = EXCLUDED.odometer_time_ms, \
            last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at \
        WHERE (EXCLUDED.device_time_ms, EXCLUDED.record_index) \
            > (d.device_time_ms, d.record_index)";
    let start = Instant::now();
    for (i, (e, (_, envelope))) in events.iter().zip(encoded).enumerate() {
        sqlx::query(STATEMENT)
            .bind(&e.device_id)
            .bind(e.device_time_ms)
            .bind(e.record_index)
            .bind(day(e.device_time_ms)?)
            .bind(e.lat_e7)
            .bind(e.lon_e7)
            .bind(e.position_valid)
            .bind(e.speed_kmh)
            .bind(e.heading_deg)
            .bind(e.battery_pct)
            .bind(e.lock_state.and_then(|l| symbol(serde_json::to_value(l))))
            .bind(e.odometer_m)
            .bind(e.received_at_ms)
            .bind(envelope.id)
            .bind(e.frame_id)
            .bind(i64::try_from(i)? + 1)
            .execute(pool)
            .await?;
    }
    Ok(events.len() as f64 / start.elapsed().as_secs_f64())
}

/// Binary `COPY` of the events' history rows into a table like the projection's history
/// (same columns, same indexes).
pub(crate) async fn copy(
    pool: &PgPool,
    events: &[Telemetry],
    encoded: &[(Vec<u8>, Envelope)],
) -> anyhow::Result<f64> {
    let fleet = super::fleet_schema()?;
    sqlx::raw_sql(&format!(
        "CREATE TABLE bench_copy (LIKE {fleet}.telemetry_history INCLUDING ALL)"
    ))
    .execute(pool)
    .await?;
    let rows = events
        .iter()
        .zip(encoded)
        .map(|(e, (_, envelope))| {
            Ok(HistoryRow {
                device_id: e.device_id.clone(),
                device_time_ms: e.device_time_ms,
                record_index: e.record_index,
                day: pg_day(e.device_time_ms)?,
                lat_e7: e.lat_e7,
                lon_e7: e.lon_e7,
                position_valid: e.position_valid,
                speed_kmh: e.speed_kmh,
                heading_deg: e.heading_deg,
                battery_pct: e.battery_pct,
                lock_state: e.lock_state.and_then(|l| symbol(serde_json::to_value(l))),
                odometer_m: e.odometer_m,
                alarms: e
                    .alarms
                    .iter()
                    .filter_map(|a| symbol(serde_json::to_value(a)))
                    .collect(),
                received_at_ms: e.received_at_ms,
                event_id: envelope.id,
                frame_id: e.frame_id,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    let payload = copy_binary::encode(&rows);
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY bench_copy ({}) FROM STDIN (FORMAT binary)",
            copy_binary::COLUMNS
        ))
        .await?;
    copy.send(payload.as_ref()).await?;
    copy.finish().await?;
    Ok(rows.len() as f64 / start.elapsed().as_secs_f64())
}
