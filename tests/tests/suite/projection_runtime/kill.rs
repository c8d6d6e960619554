//! Kill -9: a projector process killed with SIGKILL at random moments under a paced load
//! ends with exact totals (no loss, no double count).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fleetlog_tests::spawn_app;
use sqlx::PgPool;

use super::projector_process::{produce_paced, spawn_projector};
use super::{Counts, counted, counts, create_topic, stored_offsets, wait_for_offsets};

#[tokio::test]
async fn a_projector_killed_with_sigkill_at_random_moments_ends_with_exact_totals() {
    let mut timings = fleetlog_tests::kill_timings::KillTimings::for_test(
        "a_projector_killed_with_sigkill_at_random_moments_ends_with_exact_totals",
    );
    const TOTAL: i64 = 20_000;
    const KILLS: usize = 8;
    // A fixed assignment, so each restart resumes at once and every kill lands mid-load
    // (in a group, a restart waits for the killed member's session timeout; the group's
    // own kill test is `group.rs`).
    const ALL_PARTITIONS: &str = "0,1,2,3";
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
        let child = spawn_projector(&app, &topic, Some(ALL_PARTITIONS));
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
    let mut last = spawn_projector(&app, &topic, Some(ALL_PARTITIONS));
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
