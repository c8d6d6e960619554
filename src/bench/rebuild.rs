//! `fleetlog bench rebuild`: the fleet projection rebuilt from offset 0 — bulk path
//! (binary `COPY` of the history, then incremental) and the incremental path alone —
//! beside PostgreSQL's binary `COPY` of the same history rows and a naive row-at-a-time
//! replay, measured in the same run against an **empty** broker (`make bench` starts
//! one). Only the fleet projection: rides has no bulk path and no event generator here.

use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_processor::RuntimeConfig;
use fleetlog_processor::builds::{self, Purpose};
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::ingest;
use super::projection as shared;
use crate::projections_rebuild::build;

/// Options of `fleetlog bench rebuild`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RebuildBenchArgs {
    /// Telemetry events in the log before the rebuilds start.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events the naive replay gets (it is slow).
    #[arg(long, default_value_t = 3_000)]
    naive_events: usize,
}

/// Prefill, then time each path over the same events and print the ratios.
pub(crate) async fn run(mut settings: Settings, args: RebuildBenchArgs) -> anyhow::Result<()> {
    let registry = CancellationToken::new();
    let database = format!("fleetlog_bench_{}", uuid::Uuid::new_v4().simple());
    settings.database_url = shared::database_url(&settings.database_url, &database)?;
    db::ensure_database(&settings.database_url)
        .await
        .context("PostgreSQL (DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 8)?;
    db::migrate(&pool).await?;
    settings.schema_registry_url = ingest::start_registry(&settings, registry.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(&admin, &topics::all(settings.kafka.partitions, 1), 1).await?;
    println!(
        "fleetlog bench rebuild — broker {} ({} partitions), database {database}",
        settings.kafka.brokers, settings.kafka.partitions
    );
    let events = shared::telemetry_events(args.events);
    let encoded = shared::encode(&settings, &events).await?;
    let started = Instant::now();
    shared::produce(&settings, &events, &encoded).await?;
    println!(
        "prefill                   {:>10.0} events/s produced  ({} telemetry events)",
        rate(events.len(), started.elapsed()),
        events.len()
    );

    // The rebuild as `fleetlog projections rebuild` runs it: bulk load, then incremental.
    let fleet = fleetlog_projections::fleet::NAME;
    let bulk = builds::begin_build(
        &pool,
        fleet,
        Purpose::Serve,
        fleetlog_projections::fleet::VERSION,
    )
    .await?;
    let (records, took) = build::catch_up(build::Target {
        settings: &settings,
        pool: &pool,
        name: fleet,
        version: bulk.version,
        switch_lag: 0,
        end: None,
        progress: false,
    })
    .await?;
    builds::switch(&pool, fleet, bulk.version, Duration::ZERO).await?;
    let rebuild = rate(usize::try_from(records)?, took);
    println!(
        "rebuild (bulk path)       {rebuild:>10.0} events/s  ({records} events from offset 0: fetch, decode, history by binary COPY without key or indexes, dedupe and indexes at the end)"
    );
    let incremental = incremental(&settings, &pool).await?;
    println!(
        "rebuild (incremental)     {incremental:>10.0} events/s  (the same from offset 0 through the live path: set-wise upserts, batches of ≤ {})",
        settings.projections.batch_max_records
    );
    let n = args.naive_events.min(events.len());
    let naive = shared::naive(&pool, &events[..n], &encoded[..n]).await?;
    println!(
        "naive row-at-a-time       {naive:>10.0} events/s  ({n} events, one statement and one commit per event)"
    );
    let copy = shared::copy(&pool, &events, &encoded).await?;
    println!(
        "PostgreSQL binary COPY    {copy:>10.0} rows/s    ({} history rows, one COPY into a table with the history's key and indexes; no broker, no decoding)",
        events.len()
    );
    println!(
        "ratios: rebuild = {:.2} × COPY (target ≥ 0.5), {:.1} × naive (target ≥ 50); incremental = {:.2} × COPY, {:.1} × naive",
        rebuild / copy,
        rebuild / naive,
        incremental / copy,
        incremental / naive
    );
    registry.cancel();
    Ok(())
}

/// A scratch build from offset 0 to the log's end on the incremental path alone.
async fn incremental(settings: &Settings, pool: &PgPool) -> anyhow::Result<f64> {
    let fleet = fleetlog_projections::fleet::NAME;
    let scratch = builds::begin_build(
        pool,
        fleet,
        Purpose::Verify,
        fleetlog_projections::fleet::VERSION,
    )
    .await?;
    let marks =
        crate::projections_rebuild::watermarks(settings, &[topics::TELEMETRY.name()]).await?;
    let end: std::collections::HashMap<_, _> = marks
        .iter()
        .map(|(tp, &(_, high))| (tp.clone(), high))
        .collect();
    let total: i64 = end.values().sum();
    let config = RuntimeConfig::from_settings(settings)
        .rebuilding(scratch.version)
        .with_end_offsets(end);
    let started = Instant::now();
    fleetlog_projections::run_with_config(
        fleet,
        settings,
        pool.clone(),
        config,
        CancellationToken::new(),
    )
    .await?;
    let took = started.elapsed();
    builds::drop_build(pool, fleet, scratch.version).await?;
    Ok(rate(usize::try_from(total)?, took))
}

#[allow(clippy::cast_precision_loss, reason = "a rate")]
fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(1e-9)
}
