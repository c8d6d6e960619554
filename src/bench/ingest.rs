//! `fleetlog bench ingest`: the gateway under load against the real broker, beside a bare
//! rdkafka producer sending the same payloads to the same broker in the same run.
//!
//! Phases: (1) bare producer ceiling; (2) the gateway flat out with K connections;
//! (3) a steady rate (default 10k frames/s) for ACK latency and CPU per 1k frames/s;
//! (4) idle connections held and RSS per idle connection. The gateway runs as its own
//! process (`fleetlog gateway`) so its CPU and RSS are its own.

use fleetlog_schemas::registry::access::WriteAccess;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::envelope::{Envelope, event_type};
use fleetlog_schemas::events::{FrameStatus, Protocol, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::producer::FutureRecord;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::load;
use super::proc_stats;

/// Options of `fleetlog bench ingest`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IngestBenchArgs {
    /// Connections for the flat-out phase.
    #[arg(long, default_value_t = 400)]
    connections: usize,
    /// Total frames per second of the steady phase.
    #[arg(long, default_value_t = 10_000)]
    rate: usize,
    /// Connections of the steady phase.
    #[arg(long, default_value_t = 1_000)]
    steady_connections: usize,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Records the bare producer sends.
    #[arg(long, default_value_t = 200_000)]
    producer_records: usize,
    /// Idle connections to hold (0 skips the phase).
    #[arg(long, default_value_t = 15_000)]
    idle: usize,
}

pub(crate) struct GatewayProcess {
    child: Child,
    teltonika: SocketAddr,
}

impl Drop for GatewayProcess {
    /// SIGTERM and up to 10 s to stop cleanly (closing its broker connections), then SIGKILL.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// Run every phase and print the figures.
pub(crate) async fn run(settings: Settings, args: IngestBenchArgs) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let registry_url = start_registry(&settings, token.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(&admin, &topics::all(settings.kafka.partitions, 1), 1).await?;
    let payload = sample_payload(&registry_url).await?;

    println!(
        "fleetlog bench ingest — broker {} (acks=all, idempotent)",
        settings.kafka.brokers
    );
    println!(
        "payload: {} bytes (one Codec 8E record as a RawFrame)",
        payload.len()
    );
    let ceiling = bare_producer(&settings, &payload, args.producer_records).await?;
    println!("bare producer ceiling     {ceiling:>10.0} records/s");

    let gateway = spawn_gateway(&settings, &registry_url)?;
    let flat = flat_out(&gateway, args.connections, args.seconds).await?;
    println!(
        "gateway flat out          {:>10.0} frames/s  ({} conns)  ratio {:.2} × bare producer",
        flat.rate,
        args.connections,
        flat.rate / ceiling
    );
    println!(
        "  ACK latency p50 {:.1} ms  p99 {:.1} ms   gateway CPU {:.2} cores  RSS {} KiB",
        flat.p50, flat.p99, flat.cores, flat.rss_kib
    );

    let steady = steady(&gateway, args.steady_connections, args.rate, args.seconds).await?;
    println!(
        "gateway steady            {:>10.0} frames/s  (target {}, {} conns)",
        steady.rate, args.rate, args.steady_connections
    );
    println!(
        "  ACK latency p50 {:.1} ms  p99 {:.1} ms   gateway CPU {:.3} cores = {:.3} cores per 1k frames/s",
        steady.p50,
        steady.p99,
        steady.cores,
        steady.cores / (steady.rate / 1000.0)
    );
    if args.idle > 0 {
        idle(&gateway, args.idle).await?;
    }
    println!(
        "targets: ratio ≥ 0.8; steady ACK p99 ≤ 20 ms; ≤ 0.2 core at 10k frames/s; ≤ 1 KiB per idle connection"
    );
    token.cancel();
    Ok(())
}

pub(crate) async fn start_registry(
    settings: &Settings,
    token: CancellationToken,
) -> anyhow::Result<String> {
    db::ensure_database(&settings.database_url)
        .await
        .context("PostgreSQL (DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 4)?;
    db::migrate(&pool).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let access = WriteAccess::random("bench");
    let url = access.authorise_url(&format!("http://{}", listener.local_addr()?));
    tokio::spawn(fleetlog_schemas::registry::serve(
        listener, pool, access, token,
    ));
    fleetlog_schemas::registration::register_all(&url).await?;
    Ok(url)
}

async fn sample_payload(registry_url: &str) -> anyhow::Result<Vec<u8>> {
    let frame = RawFrame {
        frame_id: uuid::Uuid::now_v7(),
        gateway_id: "bench".into(),
        protocol: Protocol::Teltonika,
        remote_addr: "127.0.0.2:40000".into(),
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        raw: load::frame(1_764_000_000_000, 0)?.to_vec(),
        status: FrameStatus::Ok,
        device_id: Some("350000000000000".into()),
    };
    Ok(WireCodec::new(registry_url)
        .encode(topics::FRAMES, &frame)
        .await?)
}

async fn bare_producer(settings: &Settings, payload: &[u8], n: usize) -> anyhow::Result<f64> {
    let producer = kafka::producer(&settings.kafka, "bench-bare")?;
    let keys: Vec<String> = (0..1000).map(|i| format!("35{i:013}")).collect();
    let start = Instant::now();
    let mut inflight = FuturesUnordered::new();
    for i in 0..n {
        let envelope =
            Envelope::new_root(event_type::FRAME, "/fleetlog/bench", &keys[i % keys.len()]);
        let mut record = FutureRecord::to(topics::FRAMES)
            .key(&keys[i % keys.len()])
            .payload(payload)
            .headers(envelope.to_headers());
        loop {
            match producer.send_result(record) {
                Ok(delivery) => break inflight.push(delivery),
                Err((_, back)) => {
                    record = back;
                    if let Some(done) = inflight.next().await {
                        done.map_err(|_| anyhow::anyhow!("cancelled"))?
                            .map_err(|(e, _)| e)?;
                    }
                }
            }
        }
    }
    while let Some(done) = inflight.next().await {
        done.map_err(|_| anyhow::anyhow!("cancelled"))?
            .map_err(|(e, _)| e)?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub(crate) fn spawn_gateway(
    settings: &Settings,
    registry_url: &str,
) -> anyhow::Result<GatewayProcess> {
    let teltonika = free_addr()?;
    let child = Command::new(std::env::current_exe()?)
        .arg("gateway")
        .env("KAFKA_BROKERS", &settings.kafka.brokers)
        .env("DATABASE_URL", &settings.database_url)
        .env("SCHEMA_REGISTRY_URL", registry_url)
        .env("FLEETLOG_HTTP__API_ADDR", free_addr()?)
        .env("FLEETLOG_GATEWAY__TELTONIKA_ADDR", &teltonika)
        // The benchmark's connections come from a few loopback addresses.
        .env("FLEETLOG_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS", "0")
        .env("FLEETLOG_GATEWAY__OMNI_ADDR", free_addr()?)
        .env("FLEETLOG_GATEWAY__GT06_ADDR", free_addr()?)
        .env(
            "FLEETLOG_GATEWAY__GATEWAY_ID",
            format!("bench-{}", std::process::id()),
        )
        .env("FLEETLOG_GATEWAY__MAX_FRAMES_PER_SEC", "0")
        .env("FLEETLOG_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting fleetlog gateway")?;
    let teltonika: SocketAddr = teltonika.parse()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(teltonika).is_err() {
        if Instant::now() > deadline {
            anyhow::bail!("the gateway did not start listening");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(GatewayProcess { child, teltonika })
}

struct Phase {
    rate: f64,
    p50: f64,
    p99: f64,
    cores: f64,
    rss_kib: u64,
}

/// Connect and log in devices `base..base + n` (IMEI `35` + the number on 13 digits);
/// entry `j` of the result is device `base + j`.
pub(crate) async fn connect_all(
    gateway: &GatewayProcess,
    base: usize,
    n: usize,
) -> anyhow::Result<Vec<tokio::net::TcpStream>> {
    let addr = gateway.teltonika;
    let mut tasks = FuturesUnordered::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(200));
    for i in base..base + n {
        let limit = limit.clone();
        tasks.push(async move {
            let _permit = limit.acquire().await;
            (i, load::connect(addr, i, &format!("35{i:013}")).await)
        });
    }
    let mut streams: Vec<Option<tokio::net::TcpStream>> = (0..n).map(|_| None).collect();
    while let Some((i, stream)) = tasks.next().await {
        streams[i - base] = Some(stream?);
    }
    Ok(streams.into_iter().flatten().collect())
}

async fn measure(
    gateway: &GatewayProcess,
    streams: Vec<tokio::net::TcpStream>,
    base: usize,
    every: Option<Duration>,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let pid = gateway.child.id();
    let before = proc_stats::sample(pid).context("reading /proc")?;
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = FuturesUnordered::new();
    for (i, stream) in streams.into_iter().enumerate() {
        tasks.push(tokio::spawn(load::drive(
            stream,
            base + i,
            every,
            until,
            None,
        )));
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.next().await {
        latencies.extend(done??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after = proc_stats::sample(pid).context("reading /proc")?;
    latencies.sort_unstable();
    Ok(Phase {
        rate: latencies.len() as f64 / elapsed,
        p50: load::quantile_ms(&latencies, 0.5),
        p99: load::quantile_ms(&latencies, 0.99),
        cores: proc_stats::cores(before, after),
        rss_kib: proc_stats::rss_kib(pid).unwrap_or(0),
    })
}

async fn flat_out(
    gateway: &GatewayProcess,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let streams = connect_all(gateway, 0, connections).await?;
    measure(gateway, streams, 0, None, seconds).await
}

async fn steady(
    gateway: &GatewayProcess,
    connections: usize,
    rate: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let base = 100_000;
    let streams = connect_all(gateway, base, connections).await?;
    let every = Duration::from_secs_f64(connections as f64 / rate.max(1) as f64);
    measure(gateway, streams, base, Some(every), seconds).await
}

async fn idle(gateway: &GatewayProcess, n: usize) -> anyhow::Result<()> {
    let pid = gateway.child.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proc_stats::rss_kib(pid).unwrap_or(0);
    let start = Instant::now();
    let streams = connect_all(gateway, 200_000, n).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = proc_stats::rss_kib(pid).unwrap_or(0);
    let per = (after.saturating_sub(before) as f64 * 1024.0) / streams.len() as f64;
    println!(
        "idle connections held     {:>10}  (logged in within {:.1} s)  gateway RSS {} → {} KiB = {:.0} bytes per idle connection",
        streams.len(),
        start.elapsed().as_secs_f64(),
        before,
        after,
        per
    );
    drop(streams);
    Ok(())
}
