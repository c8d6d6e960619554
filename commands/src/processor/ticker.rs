//! The clock of the deciders: reservations that lapse and saga steps past their deadline
//! are decided when due, even when no input arrives for the vehicle.
//!
//! Each round locks the due vehicles (skipping any a batch holds), decides a
//! `VehicleInput::Tick` for each at the wall clock, and writes states and outbox in one
//! transaction — the same exactly-once as a batch.

use std::time::Duration;

use fleetlog_schemas::wire::WireCodec;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::step::{Rules, decide_tick};
use super::store;

/// Most vehicles decided per round.
const ROUND: i64 = 200;

/// Tick every `interval` until `shutdown`.
///
/// # Errors
/// Never: failures are logged and the next round tries again.
pub(crate) async fn run(
    pool: PgPool,
    schema: String,
    codec: WireCodec,
    rules: Rules,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
        if let Err(err) = round(&pool, &schema, &codec, &rules).await {
            tracing::warn!(error = %err, "decider tick failed; retrying");
        }
    }
}

async fn round(
    pool: &PgPool,
    schema: &str,
    codec: &WireCodec,
    rules: &Rules,
) -> Result<usize, fleetlog_processor::ProjectionError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut tx = pool.begin().await?;
    let loaded = store::load_due(&mut tx, schema, now_ms, ROUND).await?;
    let due: Vec<uuid::Uuid> = loaded.vehicles.keys().copied().collect();
    for vehicle_id in &due {
        let outcome = decide_tick(loaded.clone(), *vehicle_id, now_ms, rules);
        store::save(&mut tx, schema, codec, &outcome).await?;
    }
    tx.commit().await?;
    Ok(due.len())
}
