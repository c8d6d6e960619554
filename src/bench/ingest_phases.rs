//! The measured phases of `fleetlog bench ingest`, run the same way against any
//! [`Target`] (our gateway or the Node.js peer): a rate ramp for the highest ACKed rate
//! within an ACK p99 bound, a steady rate for latency and CPU, and idle connections for
//! memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::net::TcpStream;

use super::load;
use super::proc_stats;
use super::targets::Target;

/// What one phase measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    /// ACKed frames per second.
    pub(crate) rate: f64,
    /// ACK latency median, ms.
    pub(crate) p50: f64,
    /// ACK latency 99th percentile, ms.
    pub(crate) p99: f64,
    /// Cores the target used.
    pub(crate) cores: f64,
}

impl Phase {
    /// Cores per 1k ACKed frames/s.
    pub(crate) fn cores_per_1k(&self) -> f64 {
        self.cores / (self.rate / 1000.0)
    }
}

/// Connect and log in devices `base..base + n` (IMEI `35` + the number on 13 digits);
/// entry `j` of the result is device `base + j`.
///
/// # Errors
/// When a device cannot connect or is refused.
pub(crate) async fn connect_all(
    target: &Target,
    base: usize,
    n: usize,
) -> anyhow::Result<Vec<TcpStream>> {
    let addr = target.addr;
    let mut tasks = FuturesUnordered::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(200));
    for i in base..base + n {
        let limit = limit.clone();
        tasks.push(async move {
            let _permit = limit.acquire().await;
            (i, load::connect(addr, i, &format!("35{i:013}")).await)
        });
    }
    let mut streams: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    while let Some((i, stream)) = tasks.next().await {
        streams[i - base] = Some(stream?);
    }
    Ok(streams.into_iter().flatten().collect())
}

/// Drive every stream (one frame each `every`, or back to back) for `seconds`; returns
/// the figures and the streams, ready for the next phase.
async fn measure(
    target: &Target,
    streams: Vec<TcpStream>,
    base: usize,
    every: Option<Duration>,
    seconds: u64,
) -> anyhow::Result<(Phase, Vec<TcpStream>)> {
    let pid = target.pid();
    let before = proc_stats::sample(pid).context("reading /proc")?;
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = FuturesUnordered::new();
    for (i, mut stream) in streams.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let latencies = load::drive_on(&mut stream, base + i, every, until, None).await;
            latencies.map(|l| (stream, l))
        }));
    }
    let mut latencies = Vec::new();
    let mut streams = Vec::new();
    while let Some(done) = tasks.next().await {
        let (stream, acks) = done??;
        streams.push(stream);
        latencies.extend(acks);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after = proc_stats::sample(pid).context("reading /proc")?;
    latencies.sort_unstable();
    let phase = Phase {
        rate: latencies.len() as f64 / elapsed,
        p50: load::quantile_ms(&latencies, 0.5),
        p99: load::quantile_ms(&latencies, 0.99),
        cores: proc_stats::cores(before, after),
    };
    Ok((phase, streams))
}

/// How to ramp the offered rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RampPlan {
    /// Connections, all sending.
    pub(crate) connections: usize,
    /// First offered rate, frames/s over all connections.
    pub(crate) start_rate: usize,
    /// Each next step offers this factor more.
    pub(crate) factor: f64,
    /// Seconds per step.
    pub(crate) seconds: u64,
    /// The ACK p99 bound, ms.
    pub(crate) max_p99_ms: f64,
}

/// Offer ever higher rates over the same connections until the ACK p99 exceeds the bound,
/// the target falls behind (< 90 % of the offered rate) or a device times out; returns the
/// step with the highest ACKed rate within the bound.
///
/// # Errors
/// When the devices cannot connect.
pub(crate) async fn ramp(
    name: &str,
    target: &Target,
    base: usize,
    plan: RampPlan,
) -> anyhow::Result<Option<Phase>> {
    let mut streams = connect_all(target, base, plan.connections).await?;
    let mut offered = plan.start_rate as f64;
    let mut best: Option<Phase> = None;
    for _ in 0..16 {
        let every = Duration::from_secs_f64(plan.connections as f64 / offered);
        let step = measure(target, streams, base, Some(every), plan.seconds).await;
        let (phase, back) = match step {
            Ok(done) => done,
            Err(err) => {
                eprintln!("  {name}: offered {offered:.0}/s: {err:#}; ramp ends");
                break;
            }
        };
        eprintln!(
            "  {name}: offered {offered:>6.0}/s  ACKed {:>6.0}/s  p50 {:>6.1} ms  p99 {:>6.1} ms  {:.2} cores",
            phase.rate, phase.p50, phase.p99, phase.cores
        );
        streams = back;
        let within = phase.p99 <= plan.max_p99_ms;
        if within && best.is_none_or(|b| phase.rate > b.rate) {
            best = Some(phase);
        }
        if !within || phase.rate < 0.9 * offered {
            break;
        }
        offered *= plan.factor;
    }
    Ok(best)
}

/// `connections` devices sending `rate` frames/s in total for `seconds`.
///
/// # Errors
/// When a device cannot connect or an ACK times out.
pub(crate) async fn steady(
    target: &Target,
    base: usize,
    connections: usize,
    rate: usize,
    seconds: u64,
) -> anyhow::Result<Phase> {
    let streams = connect_all(target, base, connections).await?;
    let every = Duration::from_secs_f64(connections as f64 / rate.max(1) as f64);
    Ok(measure(target, streams, base, Some(every), seconds)
        .await?
        .0)
}

/// What holding idle connections cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idle {
    /// Connections logged in and held.
    pub(crate) held: usize,
    /// RSS growth per held connection, bytes.
    pub(crate) bytes_per_conn: f64,
    /// RSS before and after, KiB.
    pub(crate) rss_kib: (u64, u64),
}

/// Log in `n` devices and hold them idle; the target's RSS growth per connection.
///
/// # Errors
/// When a device cannot connect or is refused.
pub(crate) async fn idle(target: &Target, base: usize, n: usize) -> anyhow::Result<Idle> {
    let pid = target.pid();
    // A freshly started target first connects to the broker and warms up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = proc_stats::rss_kib(pid).unwrap_or(0);
    let streams = connect_all(target, base, n).await?;
    // Let the target settle (background appends of session events, allocator).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = proc_stats::rss_kib(pid).unwrap_or(0);
    let held = streams.len();
    drop(streams);
    Ok(Idle {
        held,
        bytes_per_conn: after.saturating_sub(before) as f64 * 1024.0 / held.max(1) as f64,
        rss_kib: (before, after),
    })
}
