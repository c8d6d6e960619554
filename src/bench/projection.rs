//! `fleetlog bench projection`: the fleet projection against the real broker and
//! PostgreSQL, beside a naive row-at-a-time projector and PostgreSQL's binary `COPY` for
//! the same rows, measured in the same run.
//!
//! Needs an **empty** broker (the projection reads the fixed topics from offset 0):
//! `make bench` starts one. Phases: (1) end to end at a steady rate through the gateway
//! (its own process), the decoder and the fleet projection: frame received → device row
//! visible, sampled by polling the read model every 20 ms (so figures include ≤ 20 ms of
//! polling delay); (2) telemetry → fleet projection throughput from offset 0; (3) the same
//! events through a naive projector (one statement per table and one commit per event);
//! (4) binary `COPY` of the same row shape.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::envelope::{Envelope, event_type};
use fleetlog_schemas::events::{LockState, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::producer::FutureRecord;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::copy_binary::{self, HistoryRow};
use super::ingest::{self, GatewayProcess};

/// Options of `fleetlog bench projection`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProjectionBenchArgs {
    /// Frames per second of the end-to-end phase.
    #[arg(long, default_value_t = 5_000)]
    rate: usize,
    /// Connections of the end-to-end phase.
    #[arg(long, default_value_t = 500)]
    connections: usize,
    /// Seconds of the end-to-end phase (0 skips it).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Telemetry events for the throughput phases.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events the naive projector gets (it is slow).
    #[arg(long, default_value_t = 3_000)]
    naive_events: usize,
}

/// Run every phase and print the figures.
pub(crate) async fn run(mut settings: Settings, args: ProjectionBenchArgs) -> anyhow::Result<()> {
    let registry = CancellationToken::new();
    let token = CancellationToken::new();
    let database = format!("fleetlog_bench_{}", uuid::Uuid::new_v4().simple());
    let mut url = reqwest_free_url(&settings.database_url, &database)?;
    std::mem::swap(&mut settings.database_url, &mut url);
    db::ensure_database(&settings.database_url)
        .await
        .context("PostgreSQL (DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 8)?;
    db::migrate(&pool).await?;
    settings.schema_registry_url = ingest::start_registry(&settings, registry.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(&admin, &topics::all(settings.kafka.partitions, 1), 1).await?;
    println!(
        "fleetlog bench projection — broker {}, database {database}",
        settings.kafka.brokers
    );

    if args.seconds > 0 {
        spawn_pipeline(&settings, &pool, &token);
        let gateway = ingest::spawn_gateway(&settings, &settings.schema_registry_url)?;
        let (p50, p99, samples) = end_to_end(&gateway, &pool, &args).await?;
        println!(
            "end to end (gateway → broker → decoder → broker → projection), {} frames/s: p50 {p50:.0} ms  p99 {p99:.0} ms  ({samples} samples)",
            args.rate
        );
    }
    let settled = if args.seconds > 0 {
        let settled = wait_settled(&pool, Duration::from_secs(3), Duration::from_secs(120)).await?;
        // The projection is stopped while the events are produced, then started again.
        token.cancel();
        tokio::time::sleep(Duration::from_secs(1)).await;
        settled
    } else {
        0
    };
    // Throughput: timed from the projection's start until it has applied every event.
    let events = telemetry_events(args.events);
    let produced = produce(&settings, &events).await?;
    let token = CancellationToken::new();
    let start = Instant::now();
    spawn_projection(&settings, &pool, &token);
    wait_for(&pool, settled + produced as i64, Duration::from_secs(600)).await?;
    let applied = produced;
    let projection_rate = applied as f64 / start.elapsed().as_secs_f64();
    println!(
        "fleet projection          {projection_rate:>10.0} events/s  ({produced} events, set-wise, one transaction per batch)"
    );

    let naive = naive(&pool, &events[..args.naive_events.min(events.len())]).await?;
    println!(
        "naive row-at-a-time       {naive:>10.0} events/s  (one statement per table, one commit per event)"
    );
    let copy = copy(&pool, &events).await?;
    println!("PostgreSQL binary COPY    {copy:>10.0} rows/s    (same row shape)");
    println!(
        "ratios: projection = {:.1} × naive, {:.2} × COPY   (targets ≥ 50 × naive, ≥ 0.5 × COPY; e2e p99 ≤ 200 ms)",
        projection_rate / naive,
        projection_rate / copy
    );
    token.cancel();
    registry.cancel();
    Ok(())
}

fn reqwest_free_url(base: &str, database: &str) -> anyhow::Result<String> {
    let (prefix, _) = base
        .rsplit_once('/')
        .context("DATABASE_URL has no database path")?;
    Ok(format!("{prefix}/{database}"))
}

fn spawn_pipeline(settings: &Settings, pool: &PgPool, token: &CancellationToken) {
    let decoder_settings = settings.clone();
    let decoder_token = token.clone();
    tokio::spawn(
        async move { fleetlog_ingest::decoder::run(&decoder_settings, decoder_token).await },
    );
    spawn_projection(settings, pool, token);
}

fn spawn_projection(settings: &Settings, pool: &PgPool, token: &CancellationToken) {
    let projection = FleetProjection::new(&settings.schema_registry_url);
    let projection_settings = settings.clone();
    let projection_pool = pool.clone();
    let projection_token = token.clone();
    tokio::spawn(async move {
        fleetlog_projections::runtime::run(
            projection,
            &projection_settings,
            projection_pool,
            projection_token,
        )
        .await
    });
}

async fn end_to_end(
    gateway: &GatewayProcess,
    pool: &PgPool,
    args: &ProjectionBenchArgs,
) -> anyhow::Result<(f64, f64, usize)> {
    let streams = ingest::connect_all(gateway, 300_000, args.connections).await?;
    let every = Duration::from_secs_f64(args.connections as f64 / args.rate.max(1) as f64);
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let mut drivers = FuturesUnordered::new();
    for (i, stream) in streams.into_iter().enumerate() {
        drivers.push(tokio::spawn(super::load::drive(
            stream,
            300_000 + i,
            Some(every),
            until,
        )));
    }
    let poller = tokio::spawn(poll_latencies(pool.clone(), until + Duration::from_secs(3)));
    while let Some(done) = drivers.next().await {
        done??;
    }
    let mut latencies = poller.await??;
    latencies.sort_unstable();
    let q = |q: f64| super::load::quantile_ms(&latencies, q);
    Ok((q(0.5), q(0.99), latencies.len()))
}

/// Every 20 ms: rows whose receive time changed since the last look; latency = now − the
/// frame's gateway receive time. Microseconds.
async fn poll_latencies(pool: PgPool, until: Instant) -> anyhow::Result<Vec<u32>> {
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT device_id, received_at_ms FROM proj_fleet_v1.devices WHERE received_at_ms IS NOT NULL",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
        let now = chrono::Utc::now().timestamp_millis();
        for (device, received) in rows {
            if seen.insert(device, received) != Some(received) {
                latencies.push(u32::try_from((now - received).max(0) * 1000).unwrap_or(u32::MAX));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(latencies)
}

fn telemetry_events(n: usize) -> Vec<Telemetry> {
    (0..n)
        .map(|i| Telemetry {
            device_id: format!("36{:013}", i % 1000),
            frame_id: uuid::Uuid::from_u128(i as u128),
            record_index: 0,
            device_time_ms: 1_764_000_000_000 + i as i64 * 10,
            received_at_ms: 1_764_000_000_050 + i as i64 * 10,
            lat_e7: 375_665_000 + (i % 977) as i32,
            lon_e7: 1_269_780_000 + (i % 991) as i32,
            altitude_m: 30,
            speed_kmh: 12,
            heading_deg: 90,
            satellites: 9,
            position_valid: true,
            battery_pct: Some(80),
            lock_state: Some(LockState::Unlocked),
            alarms: Vec::new(),
            odometer_m: Some(i as i64),
            io: Vec::new(),
        })
        .collect()
}

async fn produce(settings: &Settings, events: &[Telemetry]) -> anyhow::Result<usize> {
    let codec = WireCodec::new(&settings.schema_registry_url);
    let producer = kafka::producer(&settings.kafka, "bench-telemetry")?;
    let mut inflight: FuturesUnordered<rdkafka::producer::DeliveryFuture> = FuturesUnordered::new();
    for event in events {
        let payload = codec.encode(topics::TELEMETRY, event).await?;
        let envelope =
            Envelope::new_root(event_type::TELEMETRY, "/fleetlog/bench", &event.device_id);
        let delivery = loop {
            let record = FutureRecord::to(topics::TELEMETRY)
                .key(&event.device_id)
                .payload(&payload)
                .headers(envelope.to_headers());
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err(_) => {
                    if let Some(done) = inflight.next().await {
                        done.map_err(|_| anyhow::anyhow!("cancelled"))?
                            .map_err(|(e, _)| e)?;
                    }
                }
            }
        };
        inflight.push(delivery);
    }
    while let Some(done) = inflight.next().await {
        done.map_err(|_| anyhow::anyhow!("cancelled"))?
            .map_err(|(e, _)| e)?;
    }
    Ok(events.len())
}

async fn stored_total(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(next_offset), 0)::bigint FROM projection_offsets WHERE projection = 'fleet'",
    )
    .fetch_one(pool)
    .await?)
}

/// Wait until the stored offsets stop moving for `quiet` (everything produced so far is
/// applied), at most `limit`.
async fn wait_settled(pool: &PgPool, quiet: Duration, limit: Duration) -> anyhow::Result<i64> {
    let deadline = Instant::now() + limit;
    let mut last = stored_total(pool).await?;
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = stored_total(pool).await?;
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return Ok(last);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the projection did not settle in time"
        );
    }
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

async fn naive(pool: &PgPool, events: &[Telemetry]) -> anyhow::Result<f64> {
    sqlx::raw_sql(
        "CREATE TABLE naive_devices (device_id text PRIMARY KEY, lat_e7 int, lon_e7 int, battery_pct int, \
         device_time_ms bigint, last_event_id uuid); \
         CREATE TABLE naive_history (device_id text, device_time_ms bigint, record_index int, lat_e7 int, \
         lon_e7 int, battery_pct int, event_id uuid, PRIMARY KEY (device_id, device_time_ms, record_index)); \
         CREATE TABLE naive_offsets (topic text, partition int, next_offset bigint, PRIMARY KEY (topic, partition)); \
         INSERT INTO naive_offsets VALUES ('t', 0, 0);",
    )
    .execute(pool)
    .await?;
    let start = Instant::now();
    for (i, e) in events.iter().enumerate() {
        let id = uuid::Uuid::from_u128(i as u128);
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO naive_devices VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id) DO UPDATE \
             SET lat_e7 = EXCLUDED.lat_e7, lon_e7 = EXCLUDED.lon_e7, battery_pct = EXCLUDED.battery_pct, \
             device_time_ms = EXCLUDED.device_time_ms, last_event_id = EXCLUDED.last_event_id \
             WHERE naive_devices.device_time_ms < EXCLUDED.device_time_ms",
        )
        .bind(&e.device_id).bind(e.lat_e7).bind(e.lon_e7).bind(e.battery_pct).bind(e.device_time_ms).bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO naive_history VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&e.device_id)
        .bind(e.device_time_ms)
        .bind(e.record_index)
        .bind(e.lat_e7)
        .bind(e.lon_e7)
        .bind(e.battery_pct)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE naive_offsets SET next_offset = $1 WHERE topic = 't' AND partition = 0",
        )
        .bind(i as i64 + 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(events.len() as f64 / start.elapsed().as_secs_f64())
}

async fn copy(pool: &PgPool, events: &[Telemetry]) -> anyhow::Result<f64> {
    sqlx::raw_sql(copy_binary::CREATE).execute(pool).await?;
    let rows: Vec<HistoryRow> = events
        .iter()
        .enumerate()
        .map(|(i, e)| HistoryRow {
            device_id: e.device_id.clone(),
            device_time_ms: e.device_time_ms,
            record_index: e.record_index,
            lat_e7: e.lat_e7,
            lon_e7: e.lon_e7,
            speed_kmh: e.speed_kmh,
            battery_pct: e.battery_pct.unwrap_or(0),
            received_at_ms: e.received_at_ms,
            event_id: uuid::Uuid::from_u128(i as u128),
        })
        .collect();
    let start = Instant::now();
    let payload = copy_binary::encode(&rows);
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw("COPY bench_copy FROM STDIN (FORMAT binary)")
        .await?;
    copy.send(payload.as_ref()).await?;
    copy.finish().await?;
    Ok(rows.len() as f64 / start.elapsed().as_secs_f64())
}
