//! The fleet projection's statements: each reduced part of a batch bound as arrays and
//! written with one set-wise statement (`projections/sql/fleet/`).
//!
//! Order within a batch: sessions, registrations, then telemetry — so when one batch
//! changes a device through several topics, `last_event_id` names its telemetry. Zone
//! definitions touch only `zones`.

use chrono::DateTime;
use fleetlog_schemas::events::Telemetry;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::decode::Decoded;
use super::reduce::{
    self, DeviceSession, DeviceTelemetry, Registration, Stamped, VehicleChange, ZoneDefinition,
};
use fleetlog_processor::{ProjectionError, qualify};

/// Write everything `decoded` changes; with `bulk`, the history by binary `COPY` (see
/// `bulk.rs`).
///
/// # Errors
/// Database failures, as transient errors.
pub(crate) async fn apply(
    tx: &mut PgConnection,
    schema: &str,
    decoded: &Decoded,
    bulk: bool,
) -> Result<(), ProjectionError> {
    if !decoded.sessions.is_empty() {
        sessions(tx, schema, &reduce::newest_sessions(&decoded.sessions)).await?;
    }
    let vehicles = reduce::vehicle_changes(&decoded.fleet);
    if !vehicles.is_empty() {
        vehicle_rows(tx, schema, &vehicles).await?;
        device_vehicles(tx, schema, &reduce::device_registrations(&decoded.fleet)).await?;
    }
    let zones = reduce::zone_definitions(&decoded.fleet);
    if !zones.is_empty() {
        zone_rows(tx, schema, &zones).await?;
    }
    if !decoded.telemetry.is_empty() {
        if bulk {
            super::bulk::copy_history(tx, schema, &decoded.telemetry, &decoded.telemetry_at)
                .await?;
        } else {
            history(tx, schema, &decoded.telemetry).await?;
        }
        devices(tx, schema, &reduce::newest_telemetry(&decoded.telemetry)).await?;
    }
    Ok(())
}

/// The Avro symbol of an enum value (`LOCKED`, `TELTONIKA`, `IN_RIDE`, …).
pub(crate) fn symbol<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Alarm symbols joined by `,` (split back with `string_to_array` in SQL).
fn alarms<T: Serialize>(alarms: &[T]) -> String {
    alarms.iter().map(symbol).collect::<Vec<_>>().join(",")
}

fn sql(template: &str, schema: &str) -> Result<String, ProjectionError> {
    qualify(template, schema).map_err(ProjectionError::transient)
}

/// One column of `rows` for an `unnest` array.
fn col<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

async fn history(
    tx: &mut PgConnection,
    schema: &str,
    records: &[(Uuid, Telemetry)],
) -> Result<(), ProjectionError> {
    let rows = reduce::distinct_records(records);
    let day = |(_, t): &&(Uuid, Telemetry)| {
        DateTime::from_timestamp_millis(t.device_time_ms).map(|d| d.date_naive())
    };
    let template = include_str!("../../sql/fleet/telemetry_history.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(&rows, |(_, t)| t.device_id.as_str()))
        .bind(col(&rows, |(_, t)| t.device_time_ms))
        .bind(col(&rows, |(_, t)| t.record_index))
        .bind(col(&rows, day))
        .bind(col(&rows, |(_, t)| t.lat_e7))
        .bind(col(&rows, |(_, t)| t.lon_e7))
        .bind(col(&rows, |(_, t)| t.position_valid))
        .bind(col(&rows, |(_, t)| t.speed_kmh))
        .bind(col(&rows, |(_, t)| t.heading_deg))
        .bind(col(&rows, |(_, t)| t.battery_pct))
        .bind(col(&rows, |(_, t)| t.lock_state.map(|l| symbol(&l))))
        .bind(col(&rows, |(_, t)| t.odometer_m))
        .bind(col(&rows, |(_, t)| alarms(&t.alarms)))
        .bind(col(&rows, |(_, t)| t.received_at_ms))
        .bind(col(&rows, |(id, _)| *id))
        .bind(col(&rows, |(_, t)| t.frame_id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn value<T: Copy>(s: &Option<Stamped<T>>) -> Option<T> {
    s.as_ref().map(|s| s.value)
}

fn at<T>(s: &Option<Stamped<T>>) -> Option<i64> {
    s.as_ref().map(|s| s.at_ms)
}

async fn devices(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[DeviceTelemetry],
) -> Result<(), ProjectionError> {
    let template = include_str!("../../sql/fleet/telemetry_devices.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(rows, |d| d.device_id.as_str()))
        .bind(col(rows, |d| d.device_time_ms))
        .bind(col(rows, |d| d.record_index))
        .bind(col(rows, |d| d.received_at_ms))
        .bind(col(rows, |d| d.speed_kmh))
        .bind(col(rows, |d| d.heading_deg))
        .bind(col(rows, |d| alarms(&d.alarms)))
        .bind(col(rows, |d| value(&d.position).map(|p| p.0)))
        .bind(col(rows, |d| value(&d.position).map(|p| p.1)))
        .bind(col(rows, |d| at(&d.position)))
        .bind(col(rows, |d| value(&d.battery_pct)))
        .bind(col(rows, |d| at(&d.battery_pct)))
        .bind(col(rows, |d| value(&d.lock_state).map(|l| symbol(&l))))
        .bind(col(rows, |d| at(&d.lock_state)))
        .bind(col(rows, |d| value(&d.odometer_m)))
        .bind(col(rows, |d| at(&d.odometer_m)))
        .bind(col(rows, |d| d.event_id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn sessions(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[DeviceSession],
) -> Result<(), ProjectionError> {
    sqlx::query(&sql(include_str!("../../sql/fleet/sessions.sql"), schema)?)
        .bind(col(rows, |s| s.device_id.as_str()))
        .bind(col(rows, |s| s.gateway_id.as_str()))
        .bind(col(rows, |s| s.online))
        .bind(col(rows, |s| s.at_ms))
        .bind(col(rows, |s| s.event_id))
        .bind(col(rows, |s| s.wire.map(|w| symbol(&w.protocol))))
        .bind(col(rows, |s| s.wire.map(|w| w.at_ms)))
        .bind(col(rows, |s| s.wire.map(|w| w.event_id)))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn device_vehicles(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[Registration],
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let template = include_str!("../../sql/fleet/device_vehicles.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(rows, |r| r.device_id.as_str()))
        .bind(col(rows, |r| r.vehicle_id))
        .bind(col(rows, |r| symbol(&r.protocol)))
        .bind(col(rows, |r| r.at_ms))
        .bind(col(rows, |r| r.event_id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn vehicle_rows(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[VehicleChange],
) -> Result<(), ProjectionError> {
    fn reg(v: &VehicleChange) -> Option<&Registration> {
        v.registration.as_ref()
    }
    fn state(v: &VehicleChange) -> Option<&reduce::StateChange> {
        v.state.as_ref()
    }
    sqlx::query(&sql(include_str!("../../sql/fleet/vehicles.sql"), schema)?)
        .bind(col(rows, |v| v.vehicle_id))
        .bind(col(rows, |v| reg(v).map(|r| r.device_id.as_str())))
        .bind(col(rows, |v| reg(v).map(|r| symbol(&r.protocol))))
        .bind(col(rows, |v| reg(v).map(|r| r.model.as_str())))
        .bind(col(rows, |v| reg(v).map(|r| r.qr_code.as_str())))
        .bind(col(rows, |v| reg(v).map(|r| r.at_ms)))
        .bind(col(rows, |v| reg(v).map(|r| r.event_id)))
        .bind(col(rows, |v| state(v).map(|s| symbol(&s.state))))
        .bind(col(rows, |v| state(v).map(|s| s.at_ms)))
        .bind(col(rows, |v| state(v).map(|s| s.event_id)))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn zone_rows(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[ZoneDefinition],
) -> Result<(), ProjectionError> {
    let rings = rows
        .iter()
        .map(|d| serde_json::to_value(&d.zone.rings))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ProjectionError::transient)?;
    sqlx::query(&sql(include_str!("../../sql/fleet/zones.sql"), schema)?)
        .bind(col(rows, |d| d.zone.zone_id))
        .bind(col(rows, |d| symbol(&d.zone.kind)))
        .bind(col(rows, |d| d.zone.name.as_str()))
        .bind(rings)
        .bind(col(rows, |d| d.zone.speed_limit_kmh))
        .bind(col(rows, |d| d.at_ms))
        .bind(col(rows, |d| d.event_id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}
