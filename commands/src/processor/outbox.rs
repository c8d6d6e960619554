//! The outbox relay: decided events and downlinks go from the processor's `outbox` table to
//! the log, in decision order, and are deleted once the broker acknowledged them.
//!
//! A crash after the broker acknowledged but before the delete commits appends the same
//! records again, with the same event ids: consumers dedupe on them. One relay publishes at
//! a time (a transaction-scoped advisory lock), so per-key order holds with several
//! processes. On a Kafka cluster with transactions the relay stays: it is what ties the
//! decision (in PostgreSQL) to the log without a distributed transaction.
//!
//! Records go through the shared [`Producer`]: a full queue is waited out (also in the
//! last round after a shutdown signal, which is not cancelled), and a round's rows are
//! deleted only once every record of the round was delivered.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use fleetlog_processor::qualify;
use fleetlog_runtime::producer::Producer;
use fleetlog_schemas::envelope::Envelope;
use rdkafka::producer::FutureRecord;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::store::OUTBOX_CHANNEL;

/// Most records published per round.
const ROUND: i64 = 1000;
/// Longest the relay sleeps without a notification.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The advisory lock that makes one relay publish at a time.
const RELAY_LOCK: i64 = 0x666c_6565_746c_6f67; // "fleetlog"

type Row = (
    i64,
    String,
    String,
    Vec<u8>,
    Uuid,
    String,
    String,
    String,
    Uuid,
    Option<Uuid>,
    DateTime<Utc>,
);

/// Relay `schema`'s outbox to the log through `producer` until `shutdown`, then drain what
/// is left once.
///
/// # Errors
/// Never for outages (they are waited out); only when the schema name is invalid.
pub(crate) async fn run(
    pool: PgPool,
    schema: String,
    producer: Producer,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let next = qualify(include_str!("../../sql/outbox_next.sql"), &schema)?;
    let done = qualify(include_str!("../../sql/outbox_done.sql"), &schema)?;
    let mut listener = listen(&pool).await;
    loop {
        let published = match round(&pool, &producer, &next, &done).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "outbox relay failed; retrying");
                0
            }
        };
        if shutdown.is_cancelled() {
            return Ok(());
        }
        if published as i64 >= ROUND {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                // One last round for what was decided before the signal.
                let _ = round(&pool, &producer, &next, &done).await;
                return Ok(());
            }
            () = wait(&mut listener) => {}
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen(OUTBOX_CHANNEL).await.ok()?;
    Some(listener)
}

async fn wait(listener: &mut Option<PgListener>) {
    match listener {
        Some(l) => {
            let _ = tokio::time::timeout(IDLE_POLL, l.recv()).await;
        }
        None => tokio::time::sleep(IDLE_POLL).await,
    }
}

/// Publish up to [`ROUND`] records and delete them; how many were published.
async fn round(
    pool: &PgPool,
    producer: &Producer,
    next: &str,
    done: &str,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await.context("opening a transaction")?;
    let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(RELAY_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !leader {
        return Ok(0);
    }
    let rows: Vec<Row> = sqlx::query_as(next)
        .bind(ROUND)
        .fetch_all(&mut *tx)
        .await
        .context("reading the outbox")?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut deliveries = Vec::with_capacity(rows.len());
    for (_, topic, key, payload, id, kind, source, subject, correlation, causation, time) in &rows {
        let envelope =
            Envelope::from_parts(*id, *correlation, *causation, kind, source, subject, *time);
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(envelope.to_headers());
        let delivery = producer
            .send(record, None)
            .await
            .context("queueing an outbox record")?;
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        producer
            .delivered(delivery)
            .await
            .context("the broker did not take an outbox record")?;
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    sqlx::query(done).bind(&seqs).execute(&mut *tx).await?;
    tx.commit().await.context("committing the outbox round")?;
    metrics::counter!(super::METRIC_PUBLISHED).increment(rows.len() as u64);
    Ok(rows.len())
}
