//! The end-to-end phase: simulated devices (`35…`) send frames at a steady rate through
//! the gateway, and the fleet read model is polled for the moment each frame shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::ProjectionBenchArgs;
use crate::bench::ingest::{self, GatewayProcess};
use crate::bench::load::{self, SendLog};

const POLL: Duration = Duration::from_millis(10);

/// What the end-to-end phase measured.
pub(super) struct EndToEnd {
    pub(super) connections: usize,
    pub(super) achieved: f64,
    pub(super) frames: usize,
    pub(super) unseen: usize,
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) max: f64,
}

pub(super) async fn end_to_end(
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
    let fleet = super::fleet_schema()?;
    loop {
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT device_id, device_time_ms FROM {fleet}.devices \
             WHERE device_id LIKE '35%' AND device_time_ms IS NOT NULL",
        ))
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
