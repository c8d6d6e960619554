//! The fleet projection's bulk path (a rebuild from offset 0): the history, nearly every
//! row of the read model, is appended with binary `COPY` to a staging table without any
//! key or index, each row with its log position (`sql/fleet/bulk_begin.sql`); at the end
//! the first copy of every device record in log order goes into the history in one
//! statement, then its key and indexes are built (`bulk_finish.sql`). Devices, vehicles and
//! zones (one row each) take the normal set-wise statements.

use chrono::{DateTime, NaiveDate};
use fleetlog_schemas::events::Telemetry;
use sqlx::PgConnection;
use uuid::Uuid;

use super::copy::{self, HistoryRow};
use fleetlog_processor::{ProjectionError, qualify};

/// Days from PostgreSQL's date epoch (2000-01-01) to the UTC day of `ms`.
fn pg_day(ms: i64) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let day = DateTime::from_timestamp_millis(ms).map_or(epoch, |d| d.date_naive());
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MIN)
}

fn row((event_id, t): &(Uuid, Telemetry)) -> HistoryRow {
    HistoryRow {
        device_id: t.device_id.clone(),
        device_time_ms: t.device_time_ms,
        record_index: t.record_index,
        day: pg_day(t.device_time_ms),
        lat_e7: t.lat_e7,
        lon_e7: t.lon_e7,
        position_valid: t.position_valid,
        speed_kmh: t.speed_kmh,
        heading_deg: t.heading_deg,
        battery_pct: t.battery_pct,
        lock_state: t.lock_state.map(|l| super::write::symbol(&l)),
        odometer_m: t.odometer_m,
        alarms: t.alarms.iter().map(super::write::symbol).collect(),
        received_at_ms: t.received_at_ms,
        event_id: *event_id,
        frame_id: t.frame_id,
    }
}

/// Append every device record of `records` (at `at`: partition and offset, same order)
/// to the staging table `bulk_history` with binary `COPY`.
///
/// # Errors
/// Database failures, as transient errors.
pub(crate) async fn copy_history(
    tx: &mut PgConnection,
    schema: &str,
    records: &[(Uuid, Telemetry)],
    at: &[(i32, i64)],
) -> Result<(), ProjectionError> {
    let rows: Vec<(HistoryRow, i32, i64)> = records
        .iter()
        .zip(at)
        .map(|(record, &(partition, offset))| (row(record), partition, offset))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let statement = qualify(
        &format!(
            "COPY {{schema}}.bulk_history ({}, log_partition, log_offset) FROM STDIN (FORMAT binary)",
            copy::COLUMNS
        ),
        schema,
    )
    .map_err(ProjectionError::transient)?;
    let mut copy = tx.copy_in_raw(&statement).await?;
    copy.send(copy::encode_at(&rows).freeze()).await?;
    copy.finish().await?;
    Ok(())
}

/// `bulk_begin.sql` or `bulk_finish.sql` in `schema`.
pub(crate) async fn run(
    tx: &mut PgConnection,
    schema: &str,
    finish: bool,
) -> Result<(), ProjectionError> {
    let sql = if finish {
        include_str!("../../sql/fleet/bulk_finish.sql")
    } else {
        include_str!("../../sql/fleet/bulk_begin.sql")
    };
    fleetlog_processor::execute_in_schema(tx, sql, schema).await
}
