//! `fleetlog bench projection`: the fleet projection against the real broker and
//! PostgreSQL, beside a naive row-at-a-time projector and PostgreSQL's binary `COPY` for
//! the same rows, measured in the same run.
//!
//! Needs an **empty** broker (the projection reads the fixed topics from offset 0):
//! `make bench` starts one. Phases, in this order, with one fleet projection and one
//! decoder running from the start to the end:
//!
//! 1. **throughput**: `--events` telemetry events are produced first (nothing consumes
//!    them), then the fleet projection starts at offset 0 and is timed until it has
//!    committed them all; the same batches are also timed through the projection's
//!    `apply` alone, without the broker;
//! 2. **naive**: `--naive-events` of the same events, one statement per table and one
//!    commit per event;
//! 3. **COPY**: all the events' rows through binary `COPY` into a table of the same shape;
//! 4. **end to end** at `--rate` frames/s through the gateway (its own process), the broker,
//!    the decoder, the broker and the projection: for every frame, its send time → the
//!    first moment its device row shows it (the read model is polled every 10 ms, so
//!    figures include up to ~10 ms of polling delay), once per `--rate`. The rate actually
//!    achieved is printed beside the offered one, and the highest achieved rate whose p99
//!    stays ≤ 200 ms.
//!
//! This file holds the options and [`run`], which runs the phases in order and prints
//! their figures; `telemetry.rs` the generated load of the throughput phases, `tasks.rs`
//! the decoder and projection tasks, `throughput.rs` the throughput phase's measurements,
//! `baselines.rs` the naive projector and `COPY`, `end_to_end.rs` the end-to-end phase.

mod baselines;
mod end_to_end;
mod tasks;
mod telemetry;
mod throughput;

use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::topics;
use tokio_util::sync::CancellationToken;

use super::ingest;
use end_to_end::end_to_end;
use tasks::{spawn_decoder, spawn_projection};
use throughput::{apply_alone, wait_for};

pub(crate) use baselines::{copy, naive};
pub(crate) use telemetry::{encode, produce, telemetry_events};

/// The end-to-end target: p99 ≤ [`TARGET_P99_MS`] at this rate.
const TARGET_RATE: usize = 5_000;
const TARGET_P99_MS: f64 = 100.0;
/// The highest rate reported is the highest whose p99 stays within this.
const SWEEP_P99_MS: f64 = 200.0;
/// Device numbers of the end-to-end phase's simulated devices (ids `35…`); the
/// throughput phase's devices are `36…`.
const E2E_BASE: usize = 300_000;

/// Options of `fleetlog bench projection`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProjectionBenchArgs {
    /// Frames per second offered in the end-to-end phase, one run per rate (comma
    /// separated): the target is stated at 5k; the highest rate whose p99 stays ≤ 200 ms
    /// is reported.
    #[arg(long, value_delimiter = ',', default_values_t = [5_000, 8_000, 12_000])]
    rate: Vec<usize>,
    /// Connections of the end-to-end phase (0: one per 10 frames/s, so each device
    /// sends every 100 ms).
    #[arg(long, default_value_t = 0)]
    connections: usize,
    /// Seconds of the end-to-end phase (0 skips it).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Telemetry events for the throughput phases (produced before the projection starts).
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Events the naive projector gets (it is slow).
    #[arg(long, default_value_t = 3_000)]
    naive_events: usize,
}

/// Run every phase and print the figures.
pub(crate) async fn run(mut settings: Settings, args: ProjectionBenchArgs) -> anyhow::Result<()> {
    let registry = CancellationToken::new();
    let database = format!("fleetlog_bench_{}", uuid::Uuid::new_v4().simple());
    settings.database_url = database_url(&settings.database_url, &database)?;
    db::ensure_database(&settings.database_url)
        .await
        .context("PostgreSQL (DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 8)?;
    db::migrate(&pool).await?;
    settings.schema_registry_url = ingest::start_registry(&settings, registry.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(&admin, &topics::all(settings.kafka.partitions, 1), 1).await?;
    println!(
        "fleetlog bench projection — broker {} ({} partitions, fetch.wait.max.ms {}), database {database}",
        settings.kafka.brokers, settings.kafka.partitions, settings.kafka.fetch_wait_max_ms
    );
    let decoder = spawn_decoder(&settings);

    // (a) Throughput from offset 0: every event is in the log before the projection starts.
    let events = telemetry_events(args.events);
    let encoded = encode(&settings, &events).await?;
    let started = Instant::now();
    produce(&settings, &events, &encoded).await?;
    let produce_secs = started.elapsed().as_secs_f64();
    println!(
        "prefill                   {:>10.0} events/s produced  ({} telemetry events in {produce_secs:.1} s, acks=all)",
        events.len() as f64 / produce_secs,
        events.len()
    );
    let started = Instant::now();
    let projection = spawn_projection(&settings, &pool);
    let target = i64::try_from(events.len())?;
    wait_for(&pool, target, Duration::from_secs(600)).await?;
    let projection_rate = events.len() as f64 / started.elapsed().as_secs_f64();
    println!(
        "fleet projection          {projection_rate:>10.0} events/s  (from offset 0 through the broker: fetch, decode, set-wise upserts, offsets, one transaction per batch of ≤ {})",
        settings.projections.batch_max_records
    );
    let apply_rate = apply_alone(&settings, &pool, &events, &encoded).await?;
    println!(
        "  apply alone             {apply_rate:>10.0} events/s  (the same batches without the broker: decode and set-wise upserts, one transaction each)"
    );

    // (b) The naive projector and (c) COPY, over the same events.
    let n = args.naive_events.min(events.len());
    let naive = naive(&pool, &events[..n], &encoded[..n]).await?;
    println!(
        "naive row-at-a-time       {naive:>10.0} events/s  ({} events, one statement and one commit per event: history row, device row, offset)",
        n
    );
    let copy = copy(&pool, &events, &encoded).await?;
    println!(
        "PostgreSQL binary COPY    {copy:>10.0} rows/s    ({} history rows into a table like the projection's history: same columns and indexes, one COPY)",
        events.len()
    );
    println!(
        "ratios: projection = {:.1} × naive (target ≥ 50), {:.2} × COPY (target ≥ 0.5);  apply alone = {:.1} × naive, {:.2} × COPY",
        projection_rate / naive,
        projection_rate / copy,
        apply_rate / naive,
        apply_rate / copy
    );

    // End to end at steady rates, with the same decoder and projection.
    if args.seconds > 0 {
        let gateway = ingest::spawn_gateway(&settings, &settings.schema_registry_url)?;
        let mut best: Option<f64> = None;
        for (round, &rate) in args.rate.iter().enumerate() {
            let e2e = end_to_end(&gateway, &pool, &args, rate, E2E_BASE + round * 20_000).await?;
            println!(
                "end to end (gateway → broker → decoder → broker → projection → row committed): offered {rate} frames/s, achieved {:.0} frames/s over {} s ({} connections)",
                e2e.achieved, args.seconds, e2e.connections
            );
            println!(
                "  frame sent → device row shows it: p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms  ({} frames, {} never seen)",
                e2e.p50, e2e.p99, e2e.max, e2e.frames, e2e.unseen
            );
            if e2e.p99 <= SWEEP_P99_MS && e2e.unseen == 0 {
                best = Some(best.map_or(e2e.achieved, |b: f64| b.max(e2e.achieved)));
            }
        }
        drop(gateway); // SIGTERM: the gateway flushes its producer and closes its sessions
        match best {
            Some(rate) => println!(
                "  highest rate with p99 ≤ {SWEEP_P99_MS:.0} ms: {rate:.0} frames/s   target: p99 ≤ {TARGET_P99_MS:.0} ms at {TARGET_RATE} frames/s"
            ),
            None => println!(
                "  no rate tried kept p99 ≤ {SWEEP_P99_MS:.0} ms   target: p99 ≤ {TARGET_P99_MS:.0} ms at {TARGET_RATE} frames/s"
            ),
        }
    }
    projection.stop("the fleet projection").await?;
    decoder.stop("the decoder").await?;
    registry.cancel();
    Ok(())
}

pub(crate) fn database_url(base: &str, database: &str) -> anyhow::Result<String> {
    let (prefix, _) = base
        .rsplit_once('/')
        .context("DATABASE_URL has no database path")?;
    Ok(format!("{prefix}/{database}"))
}

/// The fleet projection's schema at the code's version (what a fresh database gets), so
/// the baselines' tables and the latency probe follow a version bump.
pub(crate) fn fleet_schema() -> anyhow::Result<String> {
    Ok(fleetlog_processor::schema_name(
        fleetlog_projections::fleet::NAME,
        fleetlog_projections::fleet::VERSION,
    )?)
}
