//! Two `fleetlog projector fleet` processes (the built binary) on one stack's broker and
//! database split the fleet projection's partitions: `fleetlog projections status --json`
//! names both as owners and the broker shows two members in the build's consumer group.
//! One killed with SIGKILL hands its partitions to the other within the session timeout;
//! the survivor applies what arrives after, and the read model holds every scooter once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fleetlog_processor::RuntimeConfig;
use fleetlog_tests::group::wait_for_stable_group;
use fleetlog_tests::process::{ChildGuard, fleetlog};
use fleetlog_tests::test_stack::TestStack;
use fleetlog_tests::unique_imei;
use serde_json::Value;
use uuid::Uuid;

/// `session.timeout.ms` of the projectors: the broker's minimum.
const SESSION_TIMEOUT_MS: u64 = 6_000;
const SCOOTERS: usize = 30;

fn projector(stack: &TestStack, instance: &str) -> ChildGuard {
    let mut cmd = fleetlog(&stack.app.settings);
    cmd.args(["projector", "fleet"])
        .env("FLEETLOG_KAFKA__INSTANCE_ID", instance)
        .env(
            "FLEETLOG_KAFKA__SESSION_TIMEOUT_MS",
            SESSION_TIMEOUT_MS.to_string(),
        );
    ChildGuard::spawn(cmd)
}

/// The owners of the fleet projection's partitions, as `fleetlog projections status
/// --json` prints them (`None` for a partition nobody claimed yet).
fn owners(stack: &TestStack) -> Vec<Option<String>> {
    let output = fleetlog(&stack.app.settings)
        .args(["projections", "status", "--json"])
        .output()
        .expect("fleetlog runs");
    assert!(output.status.success(), "status: {output:?}");
    let status: Value = serde_json::from_slice(&output.stdout).expect("status JSON");
    status["projections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "fleet")
        .flat_map(|p| p["partitions"].as_array().cloned().unwrap_or_default())
        .map(|p| p["owner"].as_str().map(str::to_owned))
        .collect()
}

/// Until the owners printed by the status satisfy `done`, at most 60 s.
async fn wait_for_owners(
    stack: &TestStack,
    what: &str,
    done: impl Fn(&[Option<String>]) -> bool,
) -> Vec<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = owners(stack);
        if !now.is_empty() && done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: owners {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn devices(stack: &TestStack) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM proj_fleet_v1.devices")
        .fetch_one(&stack.app.pool)
        .await
        .unwrap_or(0)
}

#[tokio::test]
async fn two_fleet_projectors_split_the_partitions_and_a_killed_ones_go_to_the_other() {
    let mut stack = TestStack::builder().start().await;
    for _ in 0..SCOOTERS / 2 {
        stack
            .scooter(Uuid::new_v4(), &unique_imei("371"), "test", Some(80))
            .await;
    }
    let first = projector(&stack, "a");
    let mut second = projector(&stack, "b");
    let (a, b) = (
        format!("fleetlog-a pid {}", first.0.id()),
        format!("fleetlog-b pid {}", second.0.id()),
    );
    let split = wait_for_owners(&stack, "both projectors hold partitions", |o| {
        o.iter().all(Option::is_some)
            && o.iter().any(|w| w.as_deref() == Some(a.as_str()))
            && o.iter().any(|w| w.as_deref() == Some(b.as_str()))
    })
    .await;
    let held_by_first = split
        .iter()
        .filter(|w| w.as_deref() == Some(a.as_str()))
        .count();
    eprintln!(
        "{} partitions split: {held_by_first} to the first projector",
        split.len()
    );
    let kafka = stack.app.settings.kafka.clone();
    let deployment = fleetlog_processor::deployment_id(&stack.app.pool)
        .await
        .expect("deployment id");
    let group = RuntimeConfig::group_id(&deployment, "fleet", 1);
    tokio::task::spawn_blocking(move || wait_for_stable_group(&kafka, &group, 2))
        .await
        .expect("group probe")
        .expect("two members in the stable consumer group");

    drop(first); // SIGKILL
    let killed_at = Instant::now();
    let owners_after = wait_for_owners(&stack, "the survivor holds every partition", |o| {
        o.iter().all(|w| w.as_deref() == Some(b.as_str()))
    })
    .await;
    let handover = killed_at.elapsed();
    eprintln!(
        "handover of {held_by_first} partitions after SIGKILL: {} ms (session timeout {SESSION_TIMEOUT_MS} ms)",
        handover.as_millis()
    );
    assert_eq!(
        owners_after.iter().collect::<BTreeSet<_>>().len(),
        1,
        "one owner"
    );
    // A functional bound, not a speed target: the session timeout, then a rebalance.
    assert!(
        handover < Duration::from_millis(SESSION_TIMEOUT_MS) + Duration::from_secs(20),
        "partitions still not handed over after {handover:?}"
    );

    for _ in 0..SCOOTERS / 2 {
        stack
            .scooter(Uuid::new_v4(), &unique_imei("372"), "test", Some(60))
            .await;
    }
    for topic in fleetlog_projections::fleet::TOPICS {
        let sent = stack.sent.get(topic).copied().unwrap_or(0);
        stack.wait_applied("fleet", topic, sent).await;
    }
    assert_eq!(
        devices(&stack).await,
        SCOOTERS as i64,
        "every scooter once in the read model"
    );
    let stopped = second.terminate(Duration::from_secs(20));
    assert!(
        stopped.is_some_and(|s| s.success()),
        "graceful stop: {stopped:?}"
    );
}
