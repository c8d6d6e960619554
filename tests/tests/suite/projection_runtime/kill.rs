//! Kill -9: a projector process killed with SIGKILL at random moments under a paced load
//! ends with exact totals (no loss, no double count).

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use fleetlog_runtime::kafka;
use fleetlog_tests::process::ChildGuard;
use fleetlog_tests::{TestApp, spawn_app};
use rdkafka::producer::FutureRecord;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use super::{Counts, counted, counts, create_topic, stored_offsets, wait_for_offsets};

fn example_bin() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let bin = target.join("debug/examples/counting_projector");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --workspace` builds it, or \
         `cargo build -p fleetlog-projections --example counting_projector`",
        bin.display()
    );
    bin
}

fn spawn_projector(app: &TestApp, topic: &str) -> ChildGuard {
    let mut cmd = Command::new(example_bin());
    cmd.arg(topic)
        .env("DATABASE_URL", &app.settings.database_url)
        .env("KAFKA_BROKERS", &app.settings.kafka.brokers)
        .env("FLEETLOG_PROJECTIONS__BATCH_MAX_RECORDS", "200")
        .env("FLEETLOG_PROJECTIONS__BATCH_MAX_WAIT_MS", "20");
    ChildGuard::spawn(cmd)
}

/// Produce `records` in chunks of 400 every 100 ms (about 4,000 a second), so a
/// projector always has work in flight while it is being killed.
fn produce_paced(app: &TestApp, topic: &str, records: Vec<(String, Vec<u8>)>) -> JoinHandle<()> {
    let producer = kafka::producer(&app.settings.kafka, "test").expect("producer");
    let topic = topic.to_owned();
    tokio::spawn(async move {
        for chunk in records.chunks(400) {
            let pending: Vec<_> = chunk
                .iter()
                .map(|(key, payload)| {
                    let record = FutureRecord::to(&topic)
                        .key(key.as_str())
                        .payload(payload.as_slice());
                    producer
                        .send_result(record)
                        .map_err(|(e, _)| e)
                        .expect("record queued")
                })
                .collect();
            for delivery in pending {
                delivery
                    .await
                    .expect("delivery")
                    .map_err(|(e, _)| e)
                    .expect("record acknowledged");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

#[tokio::test]
async fn a_projector_killed_with_sigkill_at_random_moments_ends_with_exact_totals() {
    let mut timings = fleetlog_tests::kill_timings::KillTimings::for_test(
        "a_projector_killed_with_sigkill_at_random_moments_ends_with_exact_totals",
    );
    const TOTAL: i64 = 20_000;
    const KILLS: usize = 8;
    let app = spawn_app().await;
    let topic = create_topic(&app, 4).await;
    let records: Vec<_> = (0..TOTAL)
        .map(|i| counted(&format!("k{}", i % 97), &format!("r{i}"), i % 13))
        .collect();
    let producing = produce_paced(&app, &topic, records);

    // Each projector is killed at a random moment after it has committed something, so
    // every kill lands while it consumes (mid-batch, mid-transaction or between batches).
    let mut progress = vec![0];
    for _ in 0..KILLS {
        let child = spawn_projector(&app, &topic);
        let before = progress.last().copied().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(60);
        while stored_offsets(&app.pool).await == before && before < TOTAL {
            assert!(Instant::now() < deadline, "no progress from {before}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(timings.ms(0, 400))).await;
        drop(child); // SIGKILL, then reaped
        progress.push(stored_offsets(&app.pool).await);
    }
    producing.await.unwrap();
    eprintln!(
        "stored offsets after each of {KILLS} kills: {:?}",
        &progress[1..]
    );

    let started = chrono::Utc::now();
    let mut last = spawn_projector(&app, &topic);
    wait_for_offsets(&app.pool, TOTAL, Duration::from_secs(120)).await;
    wait_for_lag_refresh_after(&app.pool, started).await;
    let stopped = last.terminate(Duration::from_secs(15));
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful stop: {stopped:?}"
    );

    let mut expected: Counts = HashMap::new();
    for i in 0..TOTAL {
        let entry = expected.entry(format!("k{}", i % 97)).or_default();
        *entry = (entry.0 + 1, entry.1 + i % 13, entry.2 + 1);
    }
    assert_eq!(
        counts(&app.pool).await,
        expected,
        "no loss, no double count"
    );
    assert!(
        progress.iter().any(|&p| p > 0 && p < TOTAL),
        "kills landed mid-stream: {progress:?}"
    );
}

/// Wait until a projector started at `started` has refreshed the lag table (it runs).
async fn wait_for_lag_refresh_after(pool: &PgPool, started: chrono::DateTime<chrono::Utc>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let refreshed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM projection_lag WHERE updated_at > $1)",
        )
        .bind(started)
        .fetch_one(pool)
        .await
        .expect("lag table readable");
        if refreshed {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the projector never refreshed its lag"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
