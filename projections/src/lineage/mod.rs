//! The lineage read model (projection `lineage`, version 1): every event on every topic,
//! from its envelope headers alone, and [`trace`] to walk one chain.
//!
//! Reads every primary topic (`fleetlog_schemas::topics::PRIMARY`) and their dead-letter
//! topics, never decoding a value. Table `events` in `proj_lineage_v1`: event id (`ce_id`),
//! type, topic / partition / offset, key, correlation and causation ids (both indexed),
//! `ce_time`, `ce_source` (the writer), `ce_subject`, the log timestamp and when it was
//! recorded. Inserted set-wise with `ON CONFLICT (event_id)`: a record re-produced with the
//! same deterministic id keeps the first position. Records with a missing or invalid
//! envelope are not poison: they get a synthetic id ([`record_event_id`]) and no
//! correlation, so nothing on the log is missing here. A dead-letter copy adds why and
//! where it was dead-lettered to its event's row.

mod record;
mod trace;
mod tree;

use std::sync::LazyLock;

use fleetlog_schemas::topics;
use futures::future::BoxFuture;

use fleetlog_processor::{
    ImpureColumn, Projection, ProjectionError, SourceRecord, execute_in_schema, qualify,
};
use record::EventRow;

pub use record::{SYNTHETIC_ID_NAMESPACE, record_event_id};
pub use trace::{TraceError, trace};
pub use tree::{TouchedRow, Trace, TraceNode, TracedEvent};

/// The projection's name.
pub const NAME: &str = "lineage";
/// The read model's version (its schema is `proj_lineage_v1`).
pub const VERSION: u32 = 1;

static DLQ_TOPICS: LazyLock<Vec<String>> =
    LazyLock::new(|| topics::PRIMARY.iter().map(|t| topics::dlq(t)).collect());

/// Every primary topic, then every dead-letter topic.
pub static TOPICS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    topics::PRIMARY
        .iter()
        .copied()
        .chain(DLQ_TOPICS.iter().map(String::as_str))
        .collect()
});

/// The lineage projection; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineageProjection;

impl Projection for LineageProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn topics(&self) -> &'static [&'static str] {
        TOPICS.as_slice()
    }

    fn impure_columns(&self) -> &'static [ImpureColumn] {
        &[ImpureColumn {
            table: "events",
            column: "recorded_at",
            why: "wall-clock time of the transaction that wrote the row",
        }]
    }

    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(execute_in_schema(
            tx,
            include_str!("../../sql/lineage/migrate.sql"),
            schema,
        ))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            let rows = record::merge(batch.iter().map(EventRow::of));
            insert(tx, schema, &rows).await
        })
    }
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    schema: &str,
    rows: &[EventRow],
) -> Result<(), ProjectionError> {
    fn col<'a, T>(rows: &'a [EventRow], f: impl Fn(&'a EventRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    fn dlq(r: &EventRow) -> Option<&record::DeadLetter> {
        r.dead_letter.as_ref()
    }
    if rows.is_empty() {
        return Ok(());
    }
    let sql = qualify(include_str!("../../sql/lineage/insert.sql"), schema)
        .map_err(ProjectionError::transient)?;
    sqlx::query(&sql)
        .bind(col(rows, |r| r.event_id))
        .bind(col(rows, |r| r.synthetic_id))
        .bind(col(rows, |r| r.event_type.as_deref()))
        .bind(col(rows, |r| r.position.topic.as_str()))
        .bind(col(rows, |r| r.position.partition))
        .bind(col(rows, |r| r.position.offset))
        .bind(col(rows, |r| r.key.as_deref()))
        .bind(col(rows, |r| r.correlation_id))
        .bind(col(rows, |r| r.causation_id))
        .bind(col(rows, |r| r.time))
        .bind(col(rows, |r| r.source.as_deref()))
        .bind(col(rows, |r| r.subject.as_deref()))
        .bind(col(rows, |r| r.log_time))
        .bind(col(rows, |r| dlq(r).map(|d| d.record.as_str())))
        .bind(col(rows, |r| dlq(r).and_then(|d| d.error.as_deref())))
        .bind(col(rows, |r| dlq(r).and_then(|d| d.processor.as_deref())))
        .execute(&mut *tx)
        .await?;
    Ok(())
}
