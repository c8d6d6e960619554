//! The projection runtime against the real broker and PostgreSQL: records reach the read
//! model exactly once across restarts and kill -9, poison records are dead-lettered and
//! park their key, and lag reads zero once caught up.
//!
//! Here: the topics, records, read-model reads and the in-process runtime the tests share;
//! the tests, by concern, in the submodules.

mod group;
mod kill;
mod offsets;
mod poison;
mod projector_process;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fleetlog_processor::RuntimeError;
use fleetlog_processor::testing::{CountingProjection, POISON};
use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_tests::{TestApp, unique_name};
use rdkafka::producer::FutureRecord;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Per key: (records counted once, sum of n, records handed to apply).
type Counts = HashMap<String, (i64, i64, i64)>;

async fn create_topic(app: &TestApp, partitions: i32) -> String {
    let topic = unique_name("t-projection");
    let admin = kafka::admin(&app.settings.kafka).expect("admin client");
    let specs = [
        TopicSpec {
            name: topic.clone(),
            partitions,
        },
        TopicSpec {
            name: fleetlog_schemas::topics::dlq(&topic),
            partitions: 1,
        },
    ];
    kafka::create_topics(&admin, &specs, 1)
        .await
        .expect("topics created");
    topic
}

async fn produce(app: &TestApp, topic: &str, records: &[(String, Vec<u8>)]) {
    let producer = kafka::producer(&app.settings.kafka, "test").expect("producer");
    let mut pending = Vec::with_capacity(records.len());
    for (key, payload) in records {
        let record = FutureRecord::to(topic)
            .key(key.as_str())
            .payload(payload.as_slice());
        pending.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("record queued"),
        );
    }
    for delivery in pending {
        delivery
            .await
            .expect("delivery")
            .map_err(|(e, _)| e)
            .expect("record acknowledged");
    }
}

fn counted(key: &str, id: &str, n: i64) -> (String, Vec<u8>) {
    (key.to_owned(), CountingProjection::payload(id, n))
}

fn poison(key: &str) -> (String, Vec<u8>) {
    (key.to_owned(), POISON.to_vec())
}

async fn counts(pool: &PgPool) -> Counts {
    let rows: Vec<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT key, records, total, deliveries FROM proj_counting_v1.counts")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    rows.into_iter()
        .map(|(k, r, t, d)| (k, (r, t, d)))
        .collect()
}

async fn stored_offsets(pool: &PgPool) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(next_offset)::bigint FROM projection_offsets WHERE projection = 'counting'",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

async fn wait_for_offsets(pool: &PgPool, total: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let stored = stored_offsets(pool).await;
        if stored == total {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "offsets at {stored} of {total} after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn config(app: &TestApp) -> RuntimeConfig {
    RuntimeConfig::from_settings(&app.settings).with_lag_interval(Duration::from_millis(200))
}

struct Running {
    token: CancellationToken,
    handle: JoinHandle<Result<(), RuntimeError>>,
}

fn start(app: &TestApp, topic: &str) -> Running {
    start_with(app, topic, config(app))
}

fn start_with(app: &TestApp, topic: &str, config: RuntimeConfig) -> Running {
    let token = CancellationToken::new();
    let runtime = ProjectionRuntime::new(CountingProjection::new(topic), config, app.pool.clone());
    let handle = tokio::spawn(runtime.run(token.clone()));
    Running { token, handle }
}

impl Running {
    async fn stop(self) {
        self.token.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the runtime stops between batches")
            .expect("the runtime task did not panic")
            .expect("the runtime stopped cleanly");
    }
}
