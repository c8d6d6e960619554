//! [`trace`]: the chain of one external event from the lineage, with the read-model rows
//! its events wrote last.

use sqlx::PgPool;
use uuid::Uuid;

use super::tree::{self, TouchedRow, Trace, TracedEvent};
use fleetlog_processor::{RuntimeError, live_schema, qualify};

/// Most events a trace shows.
const MAX_EVENTS: usize = 10_000;

/// Devices whose newest record, session, registration or last change came from the chain
/// (looked up by key, then event); the event named is the chain's.
const DEVICES: &str = "SELECT device_id, \
     CASE WHEN record_event_id = ANY($2) THEN record_event_id \
          WHEN session_event_id = ANY($2) THEN session_event_id \
          WHEN vehicle_event_id = ANY($2) THEN vehicle_event_id \
          ELSE last_event_id END, \
     to_jsonb(d) FROM {schema}.devices d \
     WHERE device_id = ANY($1) AND (last_event_id = ANY($2) OR record_event_id = ANY($2) \
        OR session_event_id = ANY($2) OR vehicle_event_id = ANY($2)) ORDER BY device_id";
/// Vehicles whose last change came from the chain.
const VEHICLES: &str = "SELECT vehicle_id::text, last_event_id, to_jsonb(v) \
     FROM {schema}.vehicles v \
     WHERE vehicle_id = ANY($1) AND last_event_id = ANY($2) ORDER BY vehicle_id";
/// History rows written by an event of the chain, keyed `<device> @ <device time> #<index>`.
const HISTORY: &str = "SELECT device_id || ' @ ' || device_time_ms || ' #' || record_index, \
     event_id, to_jsonb(h) FROM {schema}.telemetry_history h WHERE event_id = ANY($1) \
     ORDER BY device_id, device_time_ms, record_index";

/// A trace could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// No version of the lineage projection is live yet.
    #[error("the lineage projection has not run yet (no live version of `lineage`)")]
    NoLineage,
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The live schema could not be found.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The chain `id` belongs to: `id` is an event id (any event of the chain: the whole chain
/// of its correlation id is returned) or a correlation id (a frame or command id). Events
/// are arranged by causation, children by time, each with milliseconds since the root;
/// rows of the live fleet read model whose `last_event_id` (devices, vehicles) or
/// `event_id` (telemetry history) is in the chain are attached to that event.
///
/// `Ok(None)` when the lineage knows no such event (it may be behind).
///
/// # Errors
/// [`TraceError::NoLineage`] before the lineage projection first ran; database failures.
#[tracing::instrument(skip(pool))]
pub async fn trace(pool: &PgPool, id: Uuid) -> Result<Option<Trace>, TraceError> {
    let schema = live_schema(pool, super::NAME)
        .await?
        .ok_or(TraceError::NoLineage)?;
    let found: Option<Option<Uuid>> = sqlx::query_scalar(&qualify(
        "SELECT correlation_id FROM {schema}.events WHERE event_id = $1",
        &schema,
    )?)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    // An unknown id may be a correlation id whose root is not recorded (yet).
    let correlation_id = found.unwrap_or(Some(id));
    let mut events: Vec<TracedEvent> = sqlx::query_as(&qualify(
        include_str!("../../sql/lineage/chain.sql"),
        &schema,
    )?)
    .bind(correlation_id)
    .bind(id)
    .fetch_all(pool)
    .await?;
    if events.is_empty() {
        return Ok(None);
    }
    let truncated = events.len() > MAX_EVENTS;
    events.truncate(MAX_EVENTS);
    let touched = fleet_rows(pool, &events).await?;
    Ok(Some(tree::build(
        id,
        correlation_id,
        events,
        touched,
        truncated,
    )))
}

/// Rows of the live fleet read model written last by an event of `events`.
async fn fleet_rows(pool: &PgPool, events: &[TracedEvent]) -> Result<Vec<TouchedRow>, TraceError> {
    let Some(schema) = live_schema(pool, crate::fleet::NAME).await? else {
        return Ok(Vec::new());
    };
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let mut keys: Vec<&str> = events
        .iter()
        .flat_map(|e| [e.key.as_deref(), e.subject.as_deref()])
        .flatten()
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let vehicle_ids: Vec<Uuid> = keys
        .iter()
        .filter_map(|k| Uuid::parse_str(k).ok())
        .collect();
    let devices = qualify(DEVICES, &schema)?;
    let vehicles = qualify(VEHICLES, &schema)?;
    let history = qualify(HISTORY, &schema)?;
    let queries = [
        ("devices", sqlx::query_as(&devices).bind(&keys).bind(&ids)),
        (
            "vehicles",
            sqlx::query_as(&vehicles).bind(&vehicle_ids).bind(&ids),
        ),
        ("telemetry_history", sqlx::query_as(&history).bind(&ids)),
    ];
    let mut rows = Vec::new();
    for (table, query) in queries {
        let found: Vec<(String, Uuid, serde_json::Value)> = query.fetch_all(pool).await?;
        rows.extend(found.into_iter().map(|(key, event_id, row)| TouchedRow {
            table: format!("{schema}.{table}"),
            key,
            event_id,
            row,
        }));
    }
    Ok(rows)
}
