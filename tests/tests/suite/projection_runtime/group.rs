//! Consumer groups: two projector processes split the partitions; when one is killed
//! (SIGKILL), the other takes its partitions over within the session timeout, and nothing
//! is applied twice (every record is handed to `apply` exactly once: `deliveries` in the
//! counting read model equals the records).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use fleetlog_processor::RuntimeConfig;
use fleetlog_tests::group::wait_for_stable_group;
use fleetlog_tests::spawn_app;
use sqlx::PgPool;

use super::projector_process::{SESSION_TIMEOUT_MS, owner_of, produce_paced, spawn_projector};
use super::{Counts, counted, counts, create_topic, wait_for_offsets};

const PARTITIONS: i32 = 4;

/// Partition → the process that claimed it last, for the counting projection's topic.
async fn owners(pool: &PgPool, topic: &str) -> BTreeMap<i32, String> {
    let rows: Vec<(i32, String)> = sqlx::query_as(
        "SELECT partition, owner FROM projection_claims \
         WHERE projection = 'counting' AND version = 1 AND topic = $1",
    )
    .bind(topic)
    .fetch_all(pool)
    .await
    .expect("claims readable");
    rows.into_iter().collect()
}

/// Wait until every partition is claimed and `done` holds for the owners.
async fn wait_for_owners(
    pool: &PgPool,
    topic: &str,
    what: &str,
    done: impl Fn(&BTreeMap<i32, String>) -> bool,
) -> BTreeMap<i32, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let owners = owners(pool, topic).await;
        if owners.len() == PARTITIONS as usize && done(&owners) {
            return owners;
        }
        assert!(Instant::now() < deadline, "{what}: claims are {owners:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_projectors_split_the_partitions_and_a_killed_ones_move_to_the_other_with_nothing_applied_twice()
 {
    const TOTAL: i64 = 16_000;
    let app = spawn_app().await;
    let topic = create_topic(&app, PARTITIONS).await;
    let records: Vec<_> = (0..TOTAL)
        .map(|i| counted(&format!("k{}", i % 61), &format!("r{i}"), i % 7))
        .collect();
    let producing = produce_paced(&app, &topic, records);

    let first = spawn_projector(&app, &topic, None);
    let mut second = spawn_projector(&app, &topic, None);
    let (first_owner, second_owner) = (owner_of(&first), owner_of(&second));
    let split = wait_for_owners(&app.pool, &topic, "both projectors hold partitions", |o| {
        o.values().any(|w| *w == first_owner) && o.values().any(|w| *w == second_owner)
    })
    .await;
    eprintln!("split: {split:?}");
    let kafka = app.settings.kafka.clone();
    let deployment = fleetlog_processor::deployment_id(&app.pool)
        .await
        .expect("deployment id");
    let group = RuntimeConfig::group_id(&deployment, "counting", 1);
    tokio::task::spawn_blocking(move || wait_for_stable_group(&kafka, &group, 2))
        .await
        .expect("group probe")
        .expect("two members in the stable consumer group");

    drop(first); // SIGKILL, mid-stream: records keep arriving.
    let killed_at = Instant::now();
    wait_for_owners(
        &app.pool,
        &topic,
        "the survivor holds every partition",
        |o| o.values().all(|w| *w == second_owner),
    )
    .await;
    let handover = killed_at.elapsed();
    eprintln!(
        "handover after SIGKILL: {} ms (session timeout {SESSION_TIMEOUT_MS} ms)",
        handover.as_millis()
    );
    // A functional bound, not a speed target: the group notices the death after the
    // session timeout and the rebalance then takes moments.
    assert!(
        handover < Duration::from_millis(SESSION_TIMEOUT_MS) + Duration::from_secs(20),
        "partitions still not handed over after {handover:?}"
    );

    producing.await.expect("producer task");
    wait_for_offsets(&app.pool, TOTAL, Duration::from_secs(120)).await;
    let stopped = second.terminate(Duration::from_secs(20));
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful stop: {stopped:?}"
    );
    let mut expected: Counts = HashMap::new();
    for i in 0..TOTAL {
        let entry = expected.entry(format!("k{}", i % 61)).or_default();
        *entry = (entry.0 + 1, entry.1 + i % 7, entry.2 + 1);
    }
    assert_eq!(
        counts(&app.pool).await,
        expected,
        "every record counted once and handed to apply once"
    );
}
