//! `fleetlog bench ingest`: our gateway beside the Node.js bridge of the original design
//! (the peer), under the same load generator against the same broker in the same run, and
//! a bare rdkafka producer sending the same payloads as the baseline of the broker.
//!
//! Phases, each run against the gateway and then the peer: (1) a rate ramp over 2,000
//! connections for the highest ACKed frames/s whose ACK p99 stays within 200 ms; (2) a
//! steady 5k frames/s for ACK p50/p99 and CPU per 1k frames/s; (3) 15,000 idle logged-in
//! connections for RSS per connection, held by a fresh process of each (after the ramp, the
//! peer's garbage collector can shrink its heap while the connections grow it, and the
//! growth read 0). Both run as their own processes (`fleetlog gateway`, `node bridge.js`),
//! so CPU and RSS are theirs; the peer's topic has the same partitions.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use fleetlog_registry::access::WriteAccess;
use fleetlog_runtime::kafka::TopicSpec;
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{FrameStatus, Protocol, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::producer::FutureRecord;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub(crate) use super::ingest_phases::connect_all;
use super::ingest_phases::{self as phases, Idle, Phase, RampPlan};
use super::load;
pub(crate) use super::targets::{GatewayProcess, spawn_gateway};
use super::targets::{Target, spawn_node_peer};

/// The peer's topic (same partitions as `scooter.frames.v1`).
const PEER_TOPIC: &str = "bench.peer.frames";

/// Options of `fleetlog bench ingest`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IngestBenchArgs {
    /// The Node.js peer: a directory with `bridge.js` and its `node_modules` installed
    /// (`make bench` prepares `target/node-bridge` from `bench/node-bridge`). Without it
    /// only the gateway is measured.
    #[arg(long, env = "BENCH_NODE_PEER")]
    peer: Option<PathBuf>,
    /// Connections of the rate ramp.
    #[arg(long, default_value_t = 2_000)]
    connections: usize,
    /// First offered rate of the ramp, frames/s.
    #[arg(long, default_value_t = 4_000)]
    ramp_start: usize,
    /// Seconds per ramp step.
    #[arg(long, default_value_t = 5)]
    step_seconds: u64,
    /// Total frames per second of the steady phase.
    #[arg(long, default_value_t = 5_000)]
    rate: usize,
    /// Connections of the steady phase.
    #[arg(long, default_value_t = 1_000)]
    steady_connections: usize,
    /// Seconds of the steady phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Records the bare producer sends.
    #[arg(long, default_value_t = 200_000)]
    producer_records: usize,
    /// Idle connections to hold (0 skips the phase).
    #[arg(long, default_value_t = 15_000)]
    idle: usize,
}

/// The ACK p99 bound of the ramp, ms.
const MAX_P99_MS: f64 = 200.0;

/// Every figure of one target.
#[derive(Default)]
struct Figures {
    best: Option<Phase>,
    steady: Option<Phase>,
    idle: Option<Idle>,
}

/// Run every phase and print the figures.
pub(crate) async fn run(settings: Settings, args: IngestBenchArgs) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let registry_url = start_registry(&settings, token.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    let mut specs = topics::all(settings.kafka.partitions, 1);
    specs.push(TopicSpec {
        name: PEER_TOPIC.into(),
        partitions: settings.kafka.partitions,
    });
    kafka::create_topics(&admin, &specs, 1).await?;
    let payload = sample_payload(&registry_url).await?;

    println!(
        "fleetlog bench ingest — broker {} (acks=all), {} partitions per frames topic",
        settings.kafka.brokers, settings.kafka.partitions
    );
    println!(
        "payload: {} bytes (one Codec 8E record as a RawFrame)",
        payload.len()
    );
    let ceiling = bare_producer(&settings, &payload, args.producer_records).await?;
    println!(
        "bare producer ceiling     {ceiling:>10.0} records/s (our record shape, headers included)"
    );

    let gateway = spawn_gateway(&settings, &registry_url)?;
    let mut ours = measure_target("gateway", &gateway, 0, &args).await?;
    drop(gateway);
    ours.idle = idle_on_fresh("gateway", 0, &args, || {
        spawn_gateway(&settings, &registry_url)
    })
    .await?;
    let peer = match &args.peer {
        Some(dir) => {
            let node = spawn_node_peer(dir, &settings.kafka.brokers, PEER_TOPIC)?;
            let mut figures = measure_target("node peer", &node, 20_000, &args).await?;
            drop(node);
            figures.idle = idle_on_fresh("node peer", 20_000, &args, || {
                spawn_node_peer(dir, &settings.kafka.brokers, PEER_TOPIC)
            })
            .await?;
            Some(figures)
        }
        None => None,
    };
    if let Some(best) = ours.best {
        println!(
            "gateway at its best rate  {:>10.0} frames/s  ratio {:.2} × bare producer",
            best.rate,
            best.rate / ceiling
        );
    }
    print_table(&args, &ours, peer.as_ref());
    token.cancel();
    Ok(())
}

/// Every phase against one target; devices are numbered from `base` (so source
/// addresses differ between targets).
async fn measure_target(
    name: &str,
    target: &Target,
    base: usize,
    args: &IngestBenchArgs,
) -> anyhow::Result<Figures> {
    eprintln!("{name}: ramp over {} connections", args.connections);
    let plan = RampPlan {
        connections: args.connections,
        start_rate: args.ramp_start,
        factor: 1.3,
        seconds: args.step_seconds,
        max_p99_ms: MAX_P99_MS,
    };
    let best = phases::ramp(name, target, base, plan).await?;
    eprintln!("{name}: steady {} frames/s", args.rate);
    let steady = phases::steady(
        target,
        base + 100_000,
        args.steady_connections,
        args.rate,
        args.seconds,
    )
    .await
    .with_context(|| format!("{name}: steady phase"))?;
    Ok(Figures {
        best,
        steady: Some(steady),
        idle: None,
    })
}

/// The idle phase against a fresh process of the target (`spawn`), so its RSS growth is
/// the connections' alone; `None` when the phase is skipped.
async fn idle_on_fresh(
    name: &str,
    base: usize,
    args: &IngestBenchArgs,
    spawn: impl FnOnce() -> anyhow::Result<Target>,
) -> anyhow::Result<Option<Idle>> {
    if args.idle == 0 {
        return Ok(None);
    }
    eprintln!("{name}: {} idle connections (a fresh process)", args.idle);
    let target = spawn()?;
    let idle = phases::idle(&target, base * 10 + 200_000, args.idle)
        .await
        .with_context(|| format!("{name}: idle phase"))?;
    Ok(Some(idle))
}

fn print_table(args: &IngestBenchArgs, ours: &Figures, peer: Option<&Figures>) {
    let row = |label: &str, get: &dyn Fn(&Figures) -> Option<f64>, digits: usize| {
        let a = get(ours);
        let b = peer.and_then(get);
        let fmt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
        let ratio = match (a, b) {
            (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
            _ => "-".to_owned(),
        };
        println!("{label:<48} {:>10} {:>10} {:>8}", fmt(a), fmt(b), ratio);
    };
    println!();
    println!(
        "{:<48} {:>10} {:>10} {:>8}",
        "side by side (same broker, load, run)", "gateway", "node peer", "gw/peer"
    );
    let best_label = format!(
        "max ACKed frames/s, ACK p99 ≤ {MAX_P99_MS:.0} ms ({} conns)",
        args.connections
    );
    row(&best_label, &|f| f.best.map(|p| p.rate), 0);
    row("  ACK p99 at that rate (ms)", &|f| f.best.map(|p| p.p99), 1);
    let at = format!("{}k", args.rate / 1000);
    row(
        &format!("ACK p50 at {at} frames/s (ms)"),
        &|f| f.steady.map(|p| p.p50),
        1,
    );
    row(
        &format!("ACK p99 at {at} frames/s (ms)"),
        &|f| f.steady.map(|p| p.p99),
        1,
    );
    row(
        &format!("CPU cores per 1k frames/s (at {at})"),
        &|f| f.steady.map(|p| p.cores_per_1k()),
        3,
    );
    row(
        &format!("RSS per idle connection, bytes ({} idle)", args.idle),
        &|f| f.idle.map(|i| i.bytes_per_conn),
        0,
    );
    row(
        "idle connections held",
        &|f| f.idle.map(|i| i.held as f64),
        0,
    );
    row(
        "RSS with them held (MiB)",
        &|f| f.idle.map(|i| i.rss_kib.1 as f64 / 1024.0),
        1,
    );
    println!(
        "targets (issue 14): max rate ≥ 1.5 × peer; CPU per 1k ≤ 0.5 × peer; p99 at {at} ≤ peer; RSS per idle conn ≤ 0.7 × peer"
    );
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
    tokio::spawn(fleetlog_registry::serve(listener, pool, access, token));
    fleetlog_schemas::registration::register_all(&url).await?;
    Ok(url)
}

pub(crate) async fn sample_payload(registry_url: &str) -> anyhow::Result<Vec<u8>> {
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

pub(crate) async fn bare_producer(
    settings: &Settings,
    payload: &[u8],
    n: usize,
) -> anyhow::Result<f64> {
    let producer = kafka::producer(&settings.kafka, "bench-bare")?;
    let keys: Vec<String> = (0..1000).map(|i| format!("35{i:013}")).collect();
    let start = Instant::now();
    let mut inflight = FuturesUnordered::new();
    for i in 0..n {
        let envelope = Envelope::new_root(topics::FRAMES, "/fleetlog/bench", &keys[i % keys.len()]);
        let mut record = FutureRecord::to(topics::FRAMES.name())
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
