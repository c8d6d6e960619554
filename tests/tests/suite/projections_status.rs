//! `fleetlog projections status` (the built binary) against a projection that has run on
//! the real broker and PostgreSQL: its version, offsets equal to the high watermarks, zero
//! lag, the dead-lettered record and the parked key; then records it has not read make
//! it `stalled` with the lag in records; the known projections that never ran are listed
//! as `not started`; the plain table names the same.

use std::time::{Duration, Instant};

use fleetlog_processor::testing::{CountingProjection, POISON};
use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::{TestApp, spawn_app, unique_name};
use rdkafka::producer::FutureRecord;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn produce(app: &TestApp, topic: &str, records: &[(&str, Vec<u8>)]) {
    let producer = kafka::producer(&app.settings.kafka, "test").expect("producer");
    for (key, payload) in records {
        producer
            .send(
                FutureRecord::to(topic)
                    .key(*key)
                    .payload(payload.as_slice()),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("record acknowledged");
    }
}

async fn stored_offsets(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT sum(next_offset)::bigint FROM projection_offsets WHERE projection = 'counting'",
    )
    .fetch_one(&app.pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

fn status(app: &TestApp, args: &[&str]) -> String {
    let output = fleetlog(&app.settings)
        .args(["projections", "status"])
        .args(args)
        .output()
        .expect("fleetlog runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}: {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn counting(json: &str) -> Value {
    let body: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    body["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .find(|p| p["name"] == "counting")
        .cloned()
        .unwrap_or_else(|| panic!("no counting projection in {json}"))
}

#[tokio::test]
async fn status_shows_version_offsets_lag_dlq_parked_and_state() {
    let app = spawn_app().await;
    let topic = unique_name("t-status");
    let admin = kafka::admin(&app.settings.kafka).expect("admin");
    let specs = [
        TopicSpec {
            name: topic.clone(),
            partitions: 2,
        },
        TopicSpec {
            name: fleetlog_schemas::topics::dlq(&topic),
            partitions: 1,
        },
    ];
    kafka::create_topics(&admin, &specs, 1)
        .await
        .expect("topics");
    let mut records: Vec<(&str, Vec<u8>)> = (0..10i64)
        .map(|i| {
            let key = if i % 2 == 1 { "odd" } else { "even" };
            (key, CountingProjection::payload(&format!("r{i}"), i))
        })
        .collect();
    records.push(("bad", POISON.to_vec()));
    records.push(("bad", CountingProjection::payload("after-poison", 1)));
    produce(&app, &topic, &records).await;

    let token = CancellationToken::new();
    let config =
        RuntimeConfig::from_settings(&app.settings).with_lag_interval(Duration::from_millis(200));
    let runtime = ProjectionRuntime::new(CountingProjection::new(&topic), config, app.pool.clone());
    let handle = tokio::spawn(runtime.run(token.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_offsets(&app).await < 12 {
        assert!(Instant::now() < deadline, "the projection did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    token.cancel();
    handle
        .await
        .expect("no panic")
        .expect("the runtime stopped cleanly");

    let live = counting(&status(&app, &["--json"]));
    assert_eq!(live["version"], 1);
    assert_eq!(live["state"], "live", "{live}");
    assert_eq!(live["lag_records"], 0, "{live}");
    assert_eq!(live["lag_seconds"], 0.0, "{live}");
    assert_eq!(live["dlq_records"], 1, "{live}");
    assert_eq!(live["parked_keys"], 1, "{live}");
    assert_eq!(
        live["parked_records"], 2,
        "the poison record and the one behind it"
    );
    let partitions = live["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 2, "{live}");
    let next: i64 = partitions
        .iter()
        .map(|p| {
            assert_eq!(p["topic"], topic.as_str());
            assert_eq!(p["next_offset"], p["high_watermark"], "{p}");
            p["next_offset"].as_i64().expect("offset")
        })
        .sum();
    assert_eq!(next, 12);

    // Records nobody reads: behind, and with --stall-after 0 stalled.
    produce(
        &app,
        &topic,
        &[
            ("even", CountingProjection::payload("late-1", 1)),
            ("odd", CountingProjection::payload("late-2", 2)),
            ("even", CountingProjection::payload("late-3", 3)),
        ],
    )
    .await;
    let behind = counting(&status(&app, &["--json", "--stall-after", "0"]));
    assert_eq!(behind["state"], "stalled", "{behind}");
    assert_eq!(behind["lag_records"], 3, "{behind}");
    assert!(
        behind["lag_seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{behind}"
    );
    let patient = counting(&status(&app, &["--json"]));
    assert_eq!(patient["state"], "live", "not stalled before --stall-after");

    let body: Value = serde_json::from_str(&status(&app, &["--json"])).expect("json");
    for name in ["fleet", "rides", "lineage"] {
        let p = body["projections"]
            .as_array()
            .expect("projections")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(p["state"], "not started");
    }

    let table = status(&app, &[]);
    let line = table
        .lines()
        .find(|l| l.starts_with("counting "))
        .unwrap_or_else(|| panic!("no counting line in\n{table}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[..4], ["counting", "v1", "live", "3"], "{table}");
    assert!(table.starts_with("PROJECTION"), "{table}");
    assert!(table.contains(&format!("{topic}/0")), "{table}");
}
