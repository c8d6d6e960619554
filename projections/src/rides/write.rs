//! The rides projection's statements (`projections/sql/rides/`): each reduced part of a
//! batch bound as arrays and written with one set-wise statement per table.
//!
//! Order within a batch: `applied_events` first (only events not applied before go on),
//! then rides, reservations and the commands' decisions and ride outcomes, then device
//! replies — last, so that a ride linked to a command in the same batch keeps the reply
//! from completing it.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use fleetlog_schemas::events::{Actor, GeoPoint};
use fleetlog_schemas::topics;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::reduce::{self, Body, CommandChange, Event, ReplyChange, ReservationChange, RideChange};
use fleetlog_processor::{ProjectionError, qualify};

/// Write everything `events` (decoded, in log order) change.
///
/// # Errors
/// Database failures, as transient errors.
pub(crate) async fn apply(
    tx: &mut PgConnection,
    schema: &str,
    events: Vec<Event>,
) -> Result<(), ProjectionError> {
    let events = reduce::distinct(events);
    if events.is_empty() {
        return Ok(());
    }
    let fresh = applied_events(tx, schema, &events).await?;
    let events: Vec<Event> = events
        .into_iter()
        .filter(|e| fresh.contains(&e.id))
        .collect();
    let changes = reduce::reduce(&events);
    if changes.is_empty() {
        return Ok(());
    }
    if !changes.rides.is_empty() {
        rides(tx, schema, &changes.rides).await?;
    }
    if !changes.reservations.is_empty() {
        reservations(tx, schema, &changes.reservations).await?;
    }
    if !changes.commands.is_empty() {
        commands(tx, schema, &changes.commands).await?;
    }
    if !changes.replies.is_empty() {
        replies(tx, schema, &changes.replies).await?;
    }
    if !changes.reply_candidates.is_empty() {
        let template = include_str!("../../sql/rides/reply_outcomes.sql");
        sqlx::query(&sql(template, schema)?)
            .bind(&changes.reply_candidates)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

fn sql(template: &str, schema: &str) -> Result<String, ProjectionError> {
    qualify(template, schema).map_err(ProjectionError::transient)
}

/// One column of `rows` for an `unnest` array.
fn col<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// A time in ms since the epoch as a timestamp; the decoder has checked every time the
/// writer stores, so `None` (a NULL) never reaches a NOT NULL column.
fn ts(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The Avro symbol of an enum value (`ANSWERED`, `OPERATOR`, …).
fn symbol<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Record the batch's event ids; returns those not applied before.
async fn applied_events(
    tx: &mut PgConnection,
    schema: &str,
    events: &[Event],
) -> Result<HashSet<Uuid>, ProjectionError> {
    let topic = |e: &Event| match e.body {
        Body::Fleet(_) => topics::FLEET_EVENTS.name(),
        Body::Reply(_) => topics::REPLIES.name(),
    };
    let template = include_str!("../../sql/rides/applied_events.sql");
    let fresh: Vec<Uuid> = sqlx::query_scalar(&sql(template, schema)?)
        .bind(col(events, |e| e.id))
        .bind(col(events, topic))
        .bind(col(events, |e| ts(e.at_ms)))
        .fetch_all(&mut *tx)
        .await?;
    Ok(fresh.into_iter().collect())
}

fn lat(p: Option<&GeoPoint>) -> Option<i32> {
    p.map(|p| p.lat_e7)
}

fn lon(p: Option<&GeoPoint>) -> Option<i32> {
    p.map(|p| p.lon_e7)
}

async fn rides(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[RideChange],
) -> Result<(), ProjectionError> {
    fn req(r: &RideChange) -> Option<&reduce::Requested> {
        r.requested.as_ref()
    }
    fn start(r: &RideChange) -> Option<&reduce::Started> {
        r.started.as_ref()
    }
    fn end(r: &RideChange) -> Option<&reduce::Ended> {
        r.ended.as_ref()
    }
    fn fail(r: &RideChange) -> Option<&reduce::Failed> {
        r.failed.as_ref()
    }
    fn start_pos(r: &RideChange) -> Option<&GeoPoint> {
        start(r).and_then(|s| s.position.as_ref())
    }
    fn end_pos(r: &RideChange) -> Option<&GeoPoint> {
        end(r).and_then(|e| e.position.as_ref())
    }
    sqlx::query(&sql(include_str!("../../sql/rides/rides.sql"), schema)?)
        .bind(col(rows, |r| r.ride_id))
        .bind(col(rows, |r| r.vehicle_id))
        .bind(col(rows, |r| r.rider_id))
        .bind(col(rows, |r| r.state.as_str()))
        .bind(col(rows, |r| req(r).and_then(|q| q.reservation_id)))
        .bind(col(rows, |r| req(r).and_then(|q| ts(q.at_ms))))
        .bind(col(rows, |r| start(r).and_then(|s| ts(s.at_ms))))
        .bind(col(rows, |r| end(r).and_then(|e| ts(e.at_ms))))
        .bind(col(rows, |r| fail(r).and_then(|f| ts(f.at_ms))))
        .bind(col(rows, |r| lat(start_pos(r))))
        .bind(col(rows, |r| lon(start_pos(r))))
        .bind(col(rows, |r| lat(end_pos(r))))
        .bind(col(rows, |r| lon(end_pos(r))))
        .bind(col(rows, |r| end(r).map(|e| e.duration_ms)))
        .bind(col(rows, |r| end(r).map(|e| e.distance_m)))
        .bind(col(rows, |r| end(r).map(|e| e.fare_minor)))
        .bind(col(rows, |r| end(r).map(|e| e.currency.as_str())))
        .bind(col(rows, |r| end(r).map(|e| e.forced)))
        .bind(col(rows, |r| fail(r).map(|f| f.reason.as_str())))
        .bind(col(rows, |r| fail(r).and_then(|f| f.detail.as_deref())))
        .bind(col(rows, |r| req(r).map(|q| q.command_id)))
        .bind(col(rows, |r| req(r).map(|q| q.unlock_command_id)))
        .bind(col(rows, |r| end(r).map(|e| e.command_id)))
        .bind(col(rows, |r| r.last_event_id))
        .bind(col(rows, |r| ts(r.updated_at_ms)))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn reservations(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[ReservationChange],
) -> Result<(), ProjectionError> {
    fn made(r: &ReservationChange) -> Option<&reduce::Made> {
        r.made.as_ref()
    }
    fn end(r: &ReservationChange) -> Option<&reduce::ReservationEnd> {
        r.ended.as_ref()
    }
    fn by(r: &ReservationChange) -> Option<&Actor> {
        end(r).and_then(|e| e.cancelled_by.as_ref())
    }
    let template = include_str!("../../sql/rides/reservations.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(rows, |r| r.reservation_id))
        .bind(col(rows, |r| r.vehicle_id))
        .bind(col(rows, |r| r.rider_id))
        .bind(col(rows, |r| r.state().as_str()))
        .bind(col(rows, |r| made(r).and_then(|m| ts(m.at_ms))))
        .bind(col(rows, |r| made(r).and_then(|m| ts(m.expires_at_ms))))
        .bind(col(rows, |r| end(r).and_then(|e| ts(e.at_ms))))
        .bind(col(rows, |r| by(r).map(|a| a.id.as_str())))
        .bind(col(rows, |r| by(r).map(|a| symbol(&a.role))))
        .bind(col(rows, |r| end(r).and_then(|e| e.reason.as_deref())))
        .bind(col(rows, |r| end(r).and_then(|e| e.ride_id)))
        .bind(col(rows, |r| r.last_event_id))
        .bind(col(rows, |r| ts(r.updated_at_ms)))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn commands(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[CommandChange],
) -> Result<(), ProjectionError> {
    let template = include_str!("../../sql/rides/commands.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(rows, |c| c.command_id))
        .bind(col(rows, |c| c.vehicle_id))
        .bind(col(rows, |c| c.status.status.as_str()))
        .bind(col(rows, |c| c.status.source.as_str()))
        .bind(col(rows, |c| c.status.code.as_deref()))
        .bind(col(rows, |c| c.status.message.as_deref()))
        .bind(col(rows, |c| c.ride_id))
        .bind(col(rows, |c| c.decided_at_ms.and_then(ts)))
        .bind(col(rows, |c| c.status.finished_at_ms.and_then(ts)))
        .bind(col(rows, |c| c.last_event_id))
        .bind(col(rows, |c| ts(c.updated_at_ms)))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn replies(
    tx: &mut PgConnection,
    schema: &str,
    rows: &[ReplyChange],
) -> Result<(), ProjectionError> {
    let template = include_str!("../../sql/rides/command_replies.sql");
    sqlx::query(&sql(template, schema)?)
        .bind(col(rows, |r| r.command_id))
        .bind(col(rows, |r| r.device_id.as_str()))
        .bind(col(rows, |r| symbol(&r.outcome)))
        .bind(col(rows, |r| r.reply_text.as_deref()))
        .bind(col(rows, |r| r.status.status.as_str()))
        .bind(col(rows, |r| r.status.code.as_deref()))
        .bind(col(rows, |r| r.status.message.as_deref()))
        .bind(col(rows, |r| r.status.finished_at_ms.and_then(ts)))
        .bind(col(rows, |r| r.event_id))
        .execute(&mut *tx)
        .await?;
    Ok(())
}
