//! The throughput phase's measurements: the projection's progress read from its stored
//! offsets (waited on while it catches up from offset 0), and its `apply` alone on the
//! same batches, without the broker.

use std::time::{Duration, Instant};

use fleetlog_processor::{Projection, SourceRecord};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::Settings;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::Telemetry;
use fleetlog_schemas::topics;
use rdkafka::message::Headers;
use sqlx::PgPool;

/// The projection's `apply` on the same events, cut into batches as the runtime cuts them,
/// each in its own transaction, into a schema of its own — no broker.
pub(super) async fn apply_alone(
    settings: &Settings,
    pool: &PgPool,
    events: &[Telemetry],
    encoded: &[(Vec<u8>, Envelope)],
) -> anyhow::Result<f64> {
    const SCHEMA: &str = "bench_fleet_apply";
    let projection = FleetProjection::new(&settings.schema_registry_url);
    let records: Vec<SourceRecord> = events
        .iter()
        .zip(encoded)
        .enumerate()
        .map(|(i, (event, (payload, envelope)))| SourceRecord {
            topic: topics::TELEMETRY.name().to_owned(),
            partition: 0,
            offset: i as i64,
            key: Some(event.device_id.clone().into_bytes()),
            payload: Some(payload.clone()),
            headers: envelope
                .to_headers()
                .iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect(),
            timestamp_ms: Some(event.received_at_ms),
        })
        .collect();
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("CREATE SCHEMA {SCHEMA}"))
        .execute(&mut *conn)
        .await?;
    projection.migrate(&mut conn, SCHEMA).await?;
    let started = Instant::now();
    for batch in records.chunks(settings.projections.batch_max_records.max(1)) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        projection.apply(&mut tx, SCHEMA, batch).await?;
        tx.commit().await?;
    }
    Ok(records.len() as f64 / started.elapsed().as_secs_f64())
}

async fn stored_total(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(next_offset), 0)::bigint FROM projection_offsets WHERE projection = $1",
    )
    .bind(fleetlog_projections::fleet::NAME)
    .fetch_one(pool)
    .await?)
}

/// Wait until the stored offsets reach `target`, at most `limit`.
pub(super) async fn wait_for(pool: &PgPool, target: i64, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while stored_total(pool).await? < target {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the projection did not catch up in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
