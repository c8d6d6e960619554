//! An independent client reads what fleetlog writes: Confluent's own Python client
//! (`confluent-kafka` with its `AvroDeserializer`) consumes a telemetry record that fleetlog
//! produced to the real broker with its envelope headers, fetching the writer schema from
//! fleetlog's own registry, and sees the same value and headers.
//!
//! Needs the broker (`KAFKA_BROKERS`), PostgreSQL (`DATABASE_URL`) and the Python tools of
//! `tests/python/requirements.txt` (`TEST_PYTHON`, or `tests/python/.venv/bin/python`).

use std::path::Path;
use std::time::Duration;

use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_schemas::catalog;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{AlarmKind, IoElement, LockState, Telemetry};
use fleetlog_schemas::registration::{register, register_all};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::{WireCodec, schema_id};
use fleetlog_tests::python::python;
use fleetlog_tests::{spawn_app, unique_name};
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn telemetry(device_id: &str) -> Telemetry {
    Telemetry {
        device_id: device_id.to_owned(),
        frame_id: uuid::Uuid::now_v7(),
        record_index: 2,
        device_time_ms: 1_700_000_000_000,
        received_at_ms: 1_700_000_000_250,
        lat_e7: 524_200_000,
        lon_e7: 134_050_000,
        altitude_m: 34,
        speed_kmh: 18,
        heading_deg: 271,
        satellites: 11,
        position_valid: true,
        battery_pct: Some(87),
        lock_state: Some(LockState::Unlocked),
        alarms: vec![AlarmKind::Overspeed],
        odometer_m: None,
        io: vec![
            IoElement {
                id: 66,
                value: Some(12_345),
                raw: None,
            },
            IoElement {
                id: 385,
                value: None,
                raw: Some(vec![1, 2, 255]),
            },
        ],
    }
}

/// Run the Python reader and return the records it printed.
async fn read_with_confluent(brokers: &str, registry: &str, topic: &str) -> Vec<Value> {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/read_with_confluent.py");
    let args = [
        "--brokers",
        brokers,
        "--registry",
        registry,
        "--topic",
        topic,
        "--timeout",
        "60",
    ]
    .map(str::to_owned);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
    })
    .await
    .expect("the reader task completes")
    .expect("the Python reader starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python reader failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn confluents_python_client_reads_a_fleetlog_record_and_its_envelope() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Registering is a write and needs the admin credential; the Python client only reads,
    // which stays open, so it gets the URL without one.
    let public_registry = format!("http://{}", listener.local_addr().unwrap());
    let access = fleetlog_tests::stack::registry_access();
    let registry = access.authorise_url(&public_registry);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(fleetlog_registry::serve(
        listener,
        app.pool.clone(),
        access,
        shutdown.clone(),
    ));

    let registered = register_all(&registry).await.unwrap();
    assert_eq!(registered.len(), topics::PRIMARY.len());
    // The subject follows the topic name, so this test's own topic gets the telemetry schema.
    let topic = unique_name("t-confluent-client");
    let schema = catalog::topic_schema_json(topics::TELEMETRY.name()).unwrap();
    let id = register(&registry, &catalog::value_subject(&topic), &schema)
        .await
        .unwrap();
    let telemetry_id = registered
        .iter()
        .find(|(s, _)| s == "scooter.telemetry.v1-value");
    assert_eq!(
        telemetry_id.map(|(_, id)| *id),
        Some(id),
        "same schema, same id"
    );

    let admin = kafka::admin(&app.settings.kafka).unwrap();
    let spec = TopicSpec {
        name: topic.clone(),
        partitions: 1,
    };
    kafka::create_topics(&admin, &[spec], app.settings.kafka.replication_factor)
        .await
        .unwrap();

    let device_id = "356307042441013";
    let value = telemetry(device_id);
    let frame = Envelope::new_root(topics::FRAMES, "/fleetlog/gateway/gw-test", device_id);
    let envelope = Envelope::child(&frame, topics::TELEMETRY, "/fleetlog/decoder", device_id);
    let payload = WireCodec::new(&registry)
        .encode(topics::TELEMETRY.renamed(&topic), &value)
        .await
        .unwrap();
    assert_eq!(schema_id(&payload).unwrap(), id);
    let producer = kafka::producer(&app.settings.kafka, "test").unwrap();
    producer
        .send(
            FutureRecord::to(&topic)
                .key(device_id)
                .payload(&payload)
                .headers(envelope.to_headers()),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();

    let records = read_with_confluent(&app.settings.kafka.brokers, &public_registry, &topic).await;
    shutdown.cancel();
    server.await.unwrap().unwrap();

    let [record] = records.as_slice() else {
        panic!("one record expected: {records:?}")
    };
    assert_eq!(record["key"], device_id);
    assert_eq!(record["schema_id"], id);
    assert_eq!(record["value"], serde_json::to_value(&value).unwrap());
    let expected: serde_json::Map<String, Value> = envelope
        .to_headers()
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                Value::from(std::str::from_utf8(h.value.unwrap()).unwrap()),
            )
        })
        .collect();
    assert_eq!(record["headers"], Value::Object(expected));
    let headers = &record["headers"];
    assert_eq!(headers["ce_specversion"], "1.0");
    assert_eq!(headers["ce_type"], "io.fleetlog.scooter.telemetry.v1");
    assert_eq!(headers["content-type"], "application/avro");
    assert_eq!(headers["correlation_id"], frame.id.to_string());
    assert_eq!(headers["causation_id"], frame.id.to_string());
    assert_eq!(headers["traceparent"], envelope.traceparent);
}
