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

mod baselines;
mod telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_projections::{Projection, SourceRecord};
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::Telemetry;
use fleetlog_schemas::topics;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::message::Headers;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ingest::{self, GatewayProcess};
use super::load::{self, SendLog};

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
const POLL: Duration = Duration::from_millis(10);

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

/// A task of this process with the token that stops it.
struct Task {
    token: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Task {
    /// Cancel and wait (at most 30 s) for a clean stop.
    async fn stop(self, name: &str) -> anyhow::Result<()> {
        self.token.cancel();
        match tokio::time::timeout(Duration::from_secs(30), self.handle).await {
            Ok(joined) => joined.with_context(|| format!("{name} panicked"))?,
            Err(_) => anyhow::bail!("{name} did not stop within 30 s"),
        }
    }
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

fn spawn_decoder(settings: &Settings) -> Task {
    let token = CancellationToken::new();
    let (settings, stop) = (settings.clone(), token.clone());
    let handle = tokio::spawn(async move { fleetlog_ingest::decoder::run(&settings, stop).await });
    Task { token, handle }
}

fn spawn_projection(settings: &Settings, pool: &PgPool) -> Task {
    let token = CancellationToken::new();
    let projection = FleetProjection::new(&settings.schema_registry_url);
    let (settings, pool, stop) = (settings.clone(), pool.clone(), token.clone());
    let handle = tokio::spawn(async move {
        fleetlog_projections::runtime::run(projection, &settings, pool, stop).await
    });
    Task { token, handle }
}

/// The projection's `apply` on the same events, cut into batches as the runtime cuts them,
/// each in its own transaction, into a schema of its own — no broker.
async fn apply_alone(
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
            topic: topics::TELEMETRY.to_owned(),
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
        "SELECT COALESCE(sum(next_offset), 0)::bigint FROM projection_offsets WHERE projection = 'fleet'",
    )
    .fetch_one(pool)
    .await?)
}

/// Wait until the stored offsets reach `target`, at most `limit`.
async fn wait_for(pool: &PgPool, target: i64, limit: Duration) -> anyhow::Result<()> {
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

/// What the end-to-end phase measured.
struct EndToEnd {
    connections: usize,
    achieved: f64,
    frames: usize,
    unseen: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

async fn end_to_end(
    gateway: &GatewayProcess,
    pool: &PgPool,
    args: &ProjectionBenchArgs,
    rate: usize,
    base: usize,
) -> anyhow::Result<EndToEnd> {
    let connections = if args.connections == 0 {
        (rate / 10).max(1)
    } else {
        args.connections
    };
    let streams = ingest::connect_all(gateway, base, connections).await?;
    let logs: Vec<SendLog> = (0..connections).map(|_| SendLog::default()).collect();
    let every = Duration::from_secs_f64(connections as f64 / rate.max(1) as f64);
    let driving = CancellationToken::new();
    let poller = tokio::spawn(poll_latencies(
        pool.clone(),
        base,
        logs.clone(),
        driving.clone(),
    ));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let mut drivers = FuturesUnordered::new();
    for (i, (stream, log)) in streams.into_iter().zip(&logs).enumerate() {
        drivers.push(tokio::spawn(load::drive(
            stream,
            base + i,
            Some(every),
            until,
            Some(Arc::clone(log)),
        )));
    }
    let mut frames = 0;
    let mut failed = None;
    while let Some(done) = drivers.next().await {
        match done {
            Ok(Ok(acks)) => frames += acks.len(),
            Ok(Err(err)) => failed = Some(err),
            Err(err) => failed = Some(err.into()),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    driving.cancel();
    let (mut latencies, unseen) = poller.await??;
    if let Some(err) = failed {
        return Err(err.context("a simulated device failed"));
    }
    latencies.sort_unstable();
    let q = |q: f64| load::quantile_ms(&latencies, q);
    Ok(EndToEnd {
        connections,
        achieved: frames as f64 / elapsed,
        frames,
        unseen,
        p50: q(0.5),
        p99: q(0.99),
        max: q(1.0),
    })
}

/// Every [`POLL`]: the device rows of the end-to-end devices (numbered from `base`); each frame a row shows for the
/// first time (its device time names the frame) gets latency = now − its send time.
/// Once `driving` is cancelled, polls until every frame sent was seen (or 60 s passed).
/// Returns the latencies (µs) and the number of frames never seen.
async fn poll_latencies(
    pool: PgPool,
    base: usize,
    logs: Vec<SendLog>,
    driving: CancellationToken,
) -> anyhow::Result<(Vec<u32>, usize)> {
    let mut seen = vec![0_usize; logs.len()];
    let mut latencies = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT device_id, device_time_ms FROM proj_fleet_v1.devices \
             WHERE device_id LIKE '35%' AND device_time_ms IS NOT NULL",
        )
        .fetch_all(&pool)
        .await?;
        let now = chrono::Utc::now().timestamp_micros();
        for (device, time_ms) in rows {
            let Some(i) = device
                .get(2..)
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(base))
                .filter(|&i| i < logs.len())
            else {
                continue;
            };
            let k =
                usize::try_from((time_ms - load::device_time_ms(base + i, 0)) / 1000).unwrap_or(0);
            if k <= seen[i] {
                continue;
            }
            let sent = logs[i]
                .lock()
                .map_err(|_| anyhow::anyhow!("send log poisoned"))?;
            for at in sent.iter().take(k).skip(seen[i]) {
                latencies.push(u32::try_from((now - at).max(0)).unwrap_or(u32::MAX));
            }
            seen[i] = k.min(sent.len()).max(seen[i]);
        }
        if driving.is_cancelled() {
            let deadline =
                *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(60));
            let mut unseen = 0;
            for (log, &s) in logs.iter().zip(&seen) {
                let sent = log
                    .lock()
                    .map_err(|_| anyhow::anyhow!("send log poisoned"))?;
                unseen += sent.len().saturating_sub(s);
            }
            if unseen == 0 || Instant::now() > deadline {
                return Ok((latencies, unseen));
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
