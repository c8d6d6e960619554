//! `fleetlog bench scale`: the processors on one and on two instances, in the same run,
//! and the time from an instance's death to its partitions being served again.
//!
//! Needs an **empty** broker (the phases read the fixed topics from offset 0): `make bench`
//! starts one. Every instance is a process of its own (this executable), so two instances
//! are two processes as in production. Phases:
//!
//! 1. **projection**: `--events` telemetry events are produced first; then `fleetlog
//!    projector fleet` replays them from offset 0 into a fresh database, once with one
//!    process and once with two (one consumer group, the partitions split between them);
//!    events/s from the start to the last stored offset, processes' start-up included;
//! 2. **handover**: two projector processes on a fresh database while telemetry keeps
//!    arriving; one is killed with SIGKILL: the time until the other has claimed all its
//!    partitions and until one of them has a batch committed again (the session timeout,
//!    `FLEETLOG_KAFKA__SESSION_TIMEOUT_MS`, is set to the broker's minimum of 6 s). Then the
//!    same for a graceful stop (SIGTERM: the member leaves the group at once);
//! 3. **decoder**: `--events` frames are produced; `fleetlog decoder` decodes them from
//!    offset 0 in a consumer group of its own, once with one process and once with two;
//!    frames/s until the group's committed offsets reach the end.
//!
//! With 2 cores, two instances compete for the same CPUs as one, so the two-instance
//! figure shows what the split costs or gains on one machine, not a second machine's
//! capacity.

mod instances;

use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_runtime::{Settings, db, kafka};
use fleetlog_schemas::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::ingest;
use super::projection::{database_url, encode, produce, telemetry_events};
use instances::{Instance, SESSION_TIMEOUT_MS, decoded, moved_at, owners, projected};

/// Options of `fleetlog bench scale`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ScaleBenchArgs {
    /// Telemetry events replayed by the projection phase, and frames decoded by the decoder
    /// phase.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
}

/// Run every phase and print the figures.
pub(crate) async fn run(mut settings: Settings, args: ScaleBenchArgs) -> anyhow::Result<()> {
    let registry = CancellationToken::new();
    let base = settings.database_url.clone();
    settings.database_url = fresh_database(&base, "registry").await?.0;
    settings.schema_registry_url = ingest::start_registry(&settings, registry.clone()).await?;
    let admin = kafka::admin(&settings.kafka)?;
    kafka::create_topics(&admin, &topics::all(settings.kafka.partitions, 1), 1).await?;
    println!(
        "fleetlog bench scale — broker {} ({} partitions per topic), {} events per phase, every instance a process of its own",
        settings.kafka.brokers, settings.kafka.partitions, args.events
    );

    let events = telemetry_events(args.events);
    let encoded = encode(&settings, &events).await?;
    produce(&settings, &events, &encoded).await?;
    let total = i64::try_from(events.len())?;
    let mut rates = Vec::new();
    for n in [1, 2] {
        let rate = projection_phase(&settings, &base, n, total).await?;
        println!(
            "fleet projection, {n} instance{}   {:>10.0} events/s  from its first batch  ({:.0} events/s from the processes' start; replay of {total} events from offset 0)",
            if n == 1 { " " } else { "s" },
            rate.steady,
            rate.overall
        );
        rates.push(rate);
    }
    println!(
        "  2 instances / 1 instance: {:.2} × from the first batch, {:.2} × from the start",
        rates[1].steady / rates[0].steady,
        rates[1].overall / rates[0].overall
    );

    handover_phase(&settings, &base, &events, &encoded).await?;

    let payload = ingest::sample_payload(&settings.schema_registry_url).await?;
    ingest::bare_producer(&settings, &payload, args.events).await?;
    let frames = i64::try_from(args.events)?;
    let mut rates = Vec::new();
    for n in [1, 2] {
        let rate = decoder_phase(&settings, &base, n, frames).await?;
        println!(
            "decoder, {n} instance{}            {rate:>10.0} frames/s  (decode of {frames} frames from offset 0 in one consumer group, Kafka transactions)",
            if n == 1 { " " } else { "s" }
        );
        rates.push(rate);
    }
    println!("  2 instances / 1 instance: {:.2} ×", rates[1] / rates[0]);
    registry.cancel();
    Ok(())
}

/// A new database from `base`'s server, migrated.
async fn fresh_database(base: &str, what: &str) -> anyhow::Result<(String, PgPool)> {
    let name = format!("fleetlog_bench_{what}_{}", uuid::Uuid::new_v4().simple());
    let url = database_url(base, &name)?;
    db::ensure_database(&url)
        .await
        .context("PostgreSQL (DATABASE_URL)")?;
    let pool = db::pool(&url, 4)?;
    db::migrate(&pool).await?;
    Ok((url, pool))
}

/// The rate of a replay: from the processes' start, and from its first committed batch
/// (start-up and the group's first assignments left out).
struct Rate {
    overall: f64,
    steady: f64,
}

/// `n` projector processes replay `total` events into a fresh database.
async fn projection_phase(
    settings: &Settings,
    base: &str,
    n: usize,
    total: i64,
) -> anyhow::Result<Rate> {
    let (url, pool) = fresh_database(base, "projection").await?;
    let started = Instant::now();
    let running: Vec<Instance> = (1..=n)
        .map(|i| {
            Instance::spawn(
                settings,
                &url,
                "bench-projector",
                i,
                &["projector", "fleet"],
            )
        })
        .collect::<anyhow::Result<_>>()?;
    wait_until(
        Duration::from_secs(120),
        "the projection to start",
        || async { Ok(projected(&pool).await? > 0) },
    )
    .await?;
    let (first_at, first) = (Instant::now(), projected(&pool).await?);
    wait_until(
        Duration::from_secs(600),
        "the projection to catch up",
        || async { Ok(projected(&pool).await? >= total) },
    )
    .await?;
    let rate = Rate {
        overall: total as f64 / started.elapsed().as_secs_f64(),
        steady: (total - first) as f64 / first_at.elapsed().as_secs_f64(),
    };
    for instance in running {
        instance.stop()?;
    }
    Ok(rate)
}

/// Two projectors, one killed (then one stopped): time to claimed and to served again.
async fn handover_phase(
    settings: &Settings,
    base: &str,
    events: &[fleetlog_schemas::events::Telemetry],
    encoded: &[(Vec<u8>, fleetlog_schemas::envelope::Envelope)],
) -> anyhow::Result<()> {
    let (url, pool) = fresh_database(base, "handover").await?;
    // Telemetry keeps arriving (the replay of the prefill, then more), so every partition
    // has work the moment it is served again.
    let feeding = {
        let (settings, events, encoded) = (settings.clone(), events.to_vec(), encoded.to_vec());
        tokio::spawn(async move {
            for _ in 0..20 {
                for (e, p) in events.chunks(2_000).zip(encoded.chunks(2_000)) {
                    produce(&settings, e, p).await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            anyhow::Ok(())
        })
    };
    for (how, kill) in [("SIGKILL", true), ("SIGTERM", false)] {
        let first = Instance::spawn(settings, &url, "bench-handover", 1, &["projector", "fleet"])?;
        let second = Instance::spawn(settings, &url, "bench-handover", 2, &["projector", "fleet"])?;
        let names = [
            first.owner("bench-handover", 1),
            second.owner("bench-handover", 2),
        ];
        wait_until(
            Duration::from_secs(120),
            "both instances to hold partitions",
            || {
                let (pool, names) = (&pool, &names);
                async move {
                    let now = owners(pool).await?;
                    Ok(names.iter().all(|n| now.iter().any(|(_, _, o)| o == n)))
                }
            },
        )
        .await?;
        // The victim is the instance holding more telemetry partitions (the topic that
        // keeps receiving records), so "served again" can be seen on one of them.
        let telemetry_of = |claims: &[(String, i32, String)], name: &str| -> Vec<i32> {
            claims
                .iter()
                .filter(|(t, _, o)| t == topics::TELEMETRY.name() && o == name)
                .map(|(_, p, _)| *p)
                .collect()
        };
        let claims = owners(&pool).await?;
        let (victim, survivor, survivor_name) =
            if telemetry_of(&claims, &names[0]).len() >= telemetry_of(&claims, &names[1]).len() {
                (first, second, names[1].clone())
            } else {
                (second, first, names[0].clone())
            };
        let victim_name = if survivor_name == names[0] {
            &names[1]
        } else {
            &names[0]
        };
        let moved = telemetry_of(&claims, victim_name);
        let held = claims.iter().filter(|(_, _, o)| o == victim_name).count();
        let died = chrono::Utc::now();
        let started = Instant::now();
        if kill {
            drop(victim);
        } else {
            victim.stop()?;
        }
        wait_until(
            Duration::from_secs(120),
            "the survivor to claim every partition",
            || {
                let (pool, survivor_name) = (&pool, &survivor_name);
                async move {
                    Ok(owners(pool)
                        .await?
                        .iter()
                        .all(|(_, _, o)| o == survivor_name))
                }
            },
        )
        .await?;
        let claimed = started.elapsed();
        wait_until(
            Duration::from_secs(120),
            "a moved partition to be served",
            || {
                let (pool, moved) = (&pool, &moved);
                async move {
                    for p in moved {
                        if moved_at(pool, *p).await?.is_some_and(|t| t > died) {
                            return Ok(true);
                        }
                    }
                    Ok(false)
                }
            },
        )
        .await?;
        let served = started.elapsed();
        println!(
            "handover after {how}:  the {held} partitions of the stopped instance claimed by the other in {:>6} ms; its telemetry partitions {moved:?} served again (a batch committed) after {:>6} ms  (session timeout {SESSION_TIMEOUT_MS} ms)",
            claimed.as_millis(),
            served.as_millis()
        );
        survivor.stop()?;
    }
    feeding.abort();
    Ok(())
}

/// `n` decoder processes decode `frames` frames from offset 0: frames/s.
async fn decoder_phase(
    settings: &Settings,
    base: &str,
    n: usize,
    frames: i64,
) -> anyhow::Result<f64> {
    let (url, _pool) = fresh_database(base, "decoder").await?;
    let client = format!("bench-decoder-{n}");
    let started = Instant::now();
    let running: Vec<Instance> = (1..=n)
        .map(|i| Instance::spawn(settings, &url, &client, i, &["decoder"]))
        .collect::<anyhow::Result<_>>()?;
    let probe = settings.clone();
    wait_until(Duration::from_secs(600), "the decoders to catch up", || {
        let (probe, client) = (probe.clone(), client.clone());
        async move {
            let done = tokio::task::spawn_blocking(move || decoded(&probe, &client)).await??;
            Ok(done >= frames)
        }
    })
    .await?;
    let rate = frames as f64 / started.elapsed().as_secs_f64();
    for instance in running {
        instance.stop()?;
    }
    Ok(rate)
}

/// Poll `done` every 20 ms until it holds, at most `limit`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, done: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    while !done().await? {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
