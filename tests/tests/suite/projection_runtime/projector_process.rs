//! The test projector as a process of its own (the example `counting_projector`), and a
//! paced load for it: what the kill and consumer-group tests start, kill and restart.

use std::process::Command;
use std::time::Duration;

use fleetlog_runtime::kafka;
use fleetlog_tests::TestApp;
use fleetlog_tests::process::ChildGuard;
use rdkafka::producer::FutureRecord;
use tokio::task::JoinHandle;

/// `session.timeout.ms` of the projector processes: the broker's minimum.
pub(super) const SESSION_TIMEOUT_MS: u64 = 6_000;

/// The owner a projector process started by [`spawn_projector`] claims partitions as.
pub(super) fn owner_of(child: &ChildGuard) -> String {
    format!("fleetlog-1 pid {}", child.0.id())
}

fn example_bin() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let bin = target.join("debug/examples/counting_projector");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --workspace` builds it, or \
         `cargo build -p fleetlog-processor --example counting_projector`",
        bin.display()
    );
    bin
}

/// The test projector process (`counting_projector`) on `topic`: in the counting
/// projection's consumer group (`partitions` `None`), with the shortest session timeout
/// the broker accepts so a killed one's partitions move on within seconds, or on a fixed
/// list of partitions (a restarted one resumes at once, with no group to wait for).
pub(super) fn spawn_projector(app: &TestApp, topic: &str, partitions: Option<&str>) -> ChildGuard {
    let mut cmd = Command::new(example_bin());
    cmd.arg(topic)
        .args(partitions)
        .env("DATABASE_URL", &app.settings.database_url)
        .env("KAFKA_BROKERS", &app.settings.kafka.brokers)
        .env("FLEETLOG_PROJECTIONS__BATCH_MAX_RECORDS", "200")
        .env("FLEETLOG_PROJECTIONS__BATCH_MAX_WAIT_MS", "20")
        .env(
            "FLEETLOG_KAFKA__SESSION_TIMEOUT_MS",
            SESSION_TIMEOUT_MS.to_string(),
        );
    ChildGuard::spawn(cmd)
}

/// Produce `records` in chunks of 400 every 100 ms (about 4,000 a second), so a
/// projector always has work in flight while it is being killed.
pub(super) fn produce_paced(
    app: &TestApp,
    topic: &str,
    records: Vec<(String, Vec<u8>)>,
) -> JoinHandle<()> {
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
