//! The projection runtime against the real broker and PostgreSQL: records reach the read
//! model exactly once across restarts and kill -9, poison records are dead-lettered and
//! park their key, and lag reads zero once caught up.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use fleetlog_projections::runtime::{self, ReleaseMode, RuntimeError, dlq_headers};
use fleetlog_projections::testing::{CountingProjection, POISON};
use fleetlog_projections::{ProjectionRuntime, RuntimeConfig};
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_tests::process::ChildGuard;
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
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

#[tokio::test]
async fn records_reach_the_read_model_and_a_restart_resumes_at_the_stored_offsets() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let first: Vec<_> = (0..100)
        .map(|i| counted(&format!("k{}", i % 5), &format!("r{i}"), i))
        .collect();
    produce(&app, &topic, &first).await;

    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 100, Duration::from_secs(60)).await;
    running.stop().await;
    let after_first = counts(&app.pool).await;
    for k in 0..5 {
        let total: i64 = (0..100).filter(|i| i % 5 == k).sum();
        assert_eq!(after_first[&format!("k{k}")], (20, total, 20), "k{k}");
    }
    let live = runtime::live_schema(&app.pool, "counting").await.unwrap();
    assert_eq!(live.as_deref(), Some("proj_counting_v1"));

    let second: Vec<_> = (100..150)
        .map(|i| counted(&format!("k{}", i % 5), &format!("r{i}"), i))
        .collect();
    produce(&app, &topic, &second).await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 150, Duration::from_secs(60)).await;
    running.stop().await;
    let after_restart = counts(&app.pool).await;
    let deliveries: i64 = after_restart.values().map(|c| c.2).sum();
    assert_eq!(
        deliveries, 150,
        "no record was handed to the projection twice"
    );
    for k in 0..5 {
        let total: i64 = (0..150).filter(|i| i % 5 == k).sum();
        assert_eq!(after_restart[&format!("k{k}")], (30, total, 30), "k{k}");
    }
}

#[tokio::test]
async fn two_projectors_with_disjoint_partition_subsets_share_the_work() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let records: Vec<_> = (0..200)
        .map(|i| counted(&format!("k{}", i % 10), &format!("r{i}"), 1))
        .collect();
    produce(&app, &topic, &records).await;
    let first = start_with(&app, &topic, config(&app).with_partitions(vec![0]));
    let second = start_with(&app, &topic, config(&app).with_partitions(vec![1]));
    wait_for_offsets(&app.pool, 200, Duration::from_secs(60)).await;
    first.stop().await;
    second.stop().await;
    let c = counts(&app.pool).await;
    assert_eq!(c.len(), 10);
    assert!(c.values().all(|&v| v == (20, 20, 20)), "{c:?}");
    let partitions: Vec<i32> = sqlx::query_scalar(
        "SELECT partition FROM projection_offsets WHERE projection = 'counting' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(partitions, vec![0, 1]);
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

async fn dead_letters(
    app: &TestApp,
    topic: &str,
    expected: usize,
) -> Vec<rdkafka::message::OwnedMessage> {
    let consumer: StreamConsumer = kafka::consumer_config(&app.settings.kafka, &unique_name("g"))
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&fleetlog_schemas::topics::dlq(topic), 0, Offset::Beginning)
        .expect("partition added");
    consumer.assign(&tpl).expect("partition assigned");
    let mut out = Vec::new();
    while out.len() < expected {
        let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a dead letter within 30 s")
            .expect("a readable record");
        out.push(msg.detach());
    }
    out
}

fn header(msg: &rdkafka::message::OwnedMessage, name: &str) -> String {
    let headers = msg.headers().expect("headers");
    let value = headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .expect(name);
    String::from_utf8_lossy(value).into_owned()
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_and_parks_its_key_while_other_keys_flow() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 1).await;
    produce(
        &app,
        &topic,
        &[
            counted("a", "a1", 1),
            poison("a"),
            counted("b", "b1", 10),
            counted("a", "a3", 3),
            counted("c", "c1", 100),
            poison("c"),
            counted("b", "b2", 20),
            counted("a", "a4", 4),
            counted("c", "c3", 300),
            counted("b", "b3", 30),
        ],
    )
    .await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 10, Duration::from_secs(60)).await;

    let c = counts(&app.pool).await;
    assert_eq!(c["b"], (3, 60, 3), "other keys keep flowing");
    assert_eq!(
        c["a"],
        (1, 1, 1),
        "a's records after the poison one are parked"
    );
    assert_eq!(c["c"], (1, 100, 1));

    let letters = dead_letters(&app, &topic, 2).await;
    let by_key: HashMap<_, _> = letters
        .iter()
        .map(|m| (m.key().unwrap().to_vec(), m))
        .collect();
    let a = by_key[&b"a".to_vec()];
    assert_eq!(a.payload(), Some(POISON));
    assert!(
        header(a, dlq_headers::ERROR).contains("undecodable payload"),
        "{}",
        header(a, dlq_headers::ERROR)
    );
    assert_eq!(header(a, dlq_headers::PROCESSOR), "counting");
    assert_eq!(header(a, dlq_headers::TOPIC), topic);
    assert_eq!(header(a, dlq_headers::PARTITION), "0");
    assert_eq!(header(a, dlq_headers::OFFSET), "1");
    assert!(chrono_like(&header(a, dlq_headers::AT)));
    assert_eq!(header(by_key[&b"c".to_vec()], dlq_headers::OFFSET), "5");

    // A later record of the parked key is parked too.
    produce(&app, &topic, &[counted("a", "a5", 5)]).await;
    wait_for_offsets(&app.pool, 11, Duration::from_secs(30)).await;
    assert_eq!(counts(&app.pool).await["a"], (1, 1, 1));
    let parked = runtime::parked(&app.pool, "counting", 1).await.unwrap();
    let waiting: HashMap<_, _> = parked.iter().map(|p| (p.key.clone(), p.waiting)).collect();
    assert_eq!(
        waiting,
        HashMap::from([(b"a".to_vec(), 4), (b"c".to_vec(), 2)])
    );

    // Releasing with the unfixed projection fails and changes nothing.
    let unfixed = CountingProjection::new(&topic);
    let err = runtime::release(&app.pool, &unfixed, &topic, b"a", ReleaseMode::RetryPoison)
        .await
        .expect_err("still poison");
    assert!(matches!(err, RuntimeError::Projection { .. }), "{err}");
    // The fixed projection applies them in order, poison included.
    let fixed = CountingProjection::new(&topic).accepting_poison();
    let released = runtime::release(&app.pool, &fixed, &topic, b"a", ReleaseMode::RetryPoison)
        .await
        .unwrap();
    assert_eq!((released.applied, released.dropped), (4, 0));
    assert_eq!(counts(&app.pool).await["a"], (5, 1 + 3 + 4 + 5, 5));
    // Skipping drops c's parked records.
    assert_eq!(
        runtime::skip(&app.pool, "counting", 1, &topic, b"c")
            .await
            .unwrap(),
        2
    );
    assert!(
        runtime::skip(&app.pool, "counting", 1, &topic, b"c")
            .await
            .is_err()
    );

    // Both keys flow again.
    produce(
        &app,
        &topic,
        &[counted("a", "a6", 6), counted("c", "c4", 400)],
    )
    .await;
    wait_for_offsets(&app.pool, 13, Duration::from_secs(30)).await;
    running.stop().await;
    let c = counts(&app.pool).await;
    assert_eq!(c["a"], (6, 1 + 3 + 4 + 5 + 6, 6));
    assert_eq!(c["c"], (2, 500, 2));
    assert!(
        runtime::parked(&app.pool, "counting", 1)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unnamed_poison_record_is_found_by_bisection_and_a_keyless_one_only_dead_lettered() {
    let app = spawn_app().await;
    let topic = create_topic(&app, 1).await;
    let mut records = vec![
        counted("a", "a1", 1),
        counted("b", "b1", 10),
        poison("a"),
        counted("b", "b2", 20),
        counted("a", "a3", 3),
        counted("b", "b3", 30),
    ];
    records.extend((0..20).map(|i| counted("c", &format!("c{i}"), 1)));
    produce(&app, &topic, &records).await;
    let producer = kafka::producer(&app.settings.kafka, "test").expect("producer");
    producer
        .send(
            FutureRecord::<(), [u8]>::to(&topic).payload(POISON),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    produce(
        &app,
        &topic,
        &[counted("a", "a4", 4), counted("c", "c20", 1)],
    )
    .await;

    let token = CancellationToken::new();
    let projection = CountingProjection::new(&topic).without_naming_poison();
    let runtime = ProjectionRuntime::new(projection, config(&app), app.pool.clone());
    let handle = tokio::spawn(runtime.run(token.clone()));
    wait_for_offsets(&app.pool, 29, Duration::from_secs(60)).await;
    token.cancel();
    handle.await.unwrap().unwrap();

    let c = counts(&app.pool).await;
    assert_eq!(
        c["a"],
        (1, 1, 1),
        "records of a after the poison one are parked"
    );
    assert_eq!(c["b"], (3, 60, 3));
    assert_eq!(c["c"], (21, 21, 21));
    let letters = dead_letters(&app, &topic, 2).await;
    let offsets: Vec<String> = letters
        .iter()
        .map(|m| header(m, dlq_headers::OFFSET))
        .collect();
    assert_eq!(offsets, ["2", "26"]);
    assert_eq!(letters[1].key(), None);
    let parked = runtime::parked(&app.pool, "counting", 1).await.unwrap();
    assert_eq!(
        parked.len(),
        1,
        "only the keyed poison record parks its key"
    );
    assert_eq!(
        (parked[0].key.as_slice(), parked[0].waiting),
        (&b"a"[..], 3)
    );
}

fn chrono_like(at: &str) -> bool {
    at.len() >= 20 && at.ends_with('Z') && at.as_bytes().get(10) == Some(&b'T')
}

#[tokio::test]
async fn lag_table_and_metrics_read_zero_once_caught_up() {
    let metrics = fleetlog_runtime::telemetry::metrics_handle();
    let app = spawn_app().await;
    let topic = create_topic(&app, 2).await;
    let records: Vec<_> = (0..50)
        .map(|i| counted(&format!("k{i}"), &format!("r{i}"), 1))
        .collect();
    produce(&app, &topic, &records).await;
    let running = start(&app, &topic);
    wait_for_offsets(&app.pool, 50, Duration::from_secs(60)).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows: Vec<(i32, i64, i64, i64)> = sqlx::query_as(
            "SELECT partition, next_offset, high_watermark, lag_records FROM projection_lag \
             WHERE projection = 'counting' AND version = 1 AND topic = $1 ORDER BY partition",
        )
        .bind(&topic)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        if rows.len() == 2 && rows.iter().map(|r| r.1).sum::<i64>() == 50 {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "lag table not refreshed: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    running.stop().await;
    for (partition, next, high, lag) in rows {
        assert_eq!((next, lag), (high, 0), "partition {partition}");
    }

    let text = metrics.render();
    for p in 0..2 {
        let labels = format!("{{projection=\"counting\",topic=\"{topic}\",partition=\"{p}\"}}");
        for name in [runtime::metrics::LAG_RECORDS, runtime::metrics::LAG_SECONDS] {
            let line = format!("{name}{labels} 0");
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
    for name in [
        runtime::metrics::RECORDS_APPLIED,
        runtime::metrics::BATCH_SECONDS,
        runtime::metrics::PARKED_KEYS,
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
}
