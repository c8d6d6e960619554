//! `fleetlog export` against the real broker and registry: telemetry and session events
//! produced the way the product writes them (registry-encoded, envelope headers) plus two
//! records that cannot be decoded are exported to Parquet; pyarrow (an independent reader,
//! `tests/python/read_parquet.py`) reads the expected rows, column types and values; a
//! re-run skips every range and leaves the files as they were; an export of the same range
//! into another directory is byte-identical; the undecodable records are in `_rejects`
//! with their reasons. Plus JSON lines, and the clear errors of the binary.
//!
//! Needs the broker (`KAFKA_BROKERS`), PostgreSQL (`DATABASE_URL`), the built binary and
//! the Python tools of `tests/python/requirements.txt` (`TEST_PYTHON`, or
//! `tests/python/.venv/bin/python`).
//!
//! Here: the fixture (produced through the real registry and broker) and the readers the
//! tests share; the tests in `export/round_trip.rs` and `export/errors.rs`.

mod errors;
mod round_trip;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fleetlog_export::{Bound, ExportRequest, Format};
use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_schemas::catalog;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    AlarmKind, IoElement, LockState, Protocol, SessionChange, SessionConnected, SessionEvent,
    Telemetry,
};
use fleetlog_schemas::registration::register;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::python::python;
use fleetlog_tests::{TestApp, unique_name};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

const TELEMETRY_RECORDS: usize = 40;

fn telemetry(i: usize) -> Telemetry {
    Telemetry {
        device_id: format!("35630704244{:04}", i % 3),
        frame_id: uuid::Uuid::now_v7(),
        record_index: i as i32,
        device_time_ms: 1_700_000_000_000 + i as i64,
        received_at_ms: 1_700_000_000_250 + i as i64,
        lat_e7: 375_665_000 + i as i32,
        lon_e7: 1_269_780_000,
        altitude_m: 34,
        speed_kmh: 18,
        heading_deg: 271,
        satellites: 11,
        position_valid: !i.is_multiple_of(5),
        battery_pct: i.is_multiple_of(2).then_some(80 + (i % 20) as i32),
        lock_state: Some(if i.is_multiple_of(2) {
            LockState::Locked
        } else {
            LockState::Unlocked
        }),
        alarms: if i.is_multiple_of(4) {
            vec![AlarmKind::Overspeed]
        } else {
            vec![]
        },
        odometer_m: None,
        io: vec![
            IoElement {
                id: 66,
                value: Some(12_000 + i as i64),
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

async fn create_topic(app: &TestApp, prefix: &str, partitions: i32) -> String {
    let topic = unique_name(prefix);
    let admin = kafka::admin(&app.settings.kafka).expect("admin");
    let spec = TopicSpec {
        name: topic.clone(),
        partitions,
    };
    kafka::create_topics(&admin, &[spec], 1)
        .await
        .expect("topic created");
    topic
}

async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
    envelope: &Envelope,
) {
    producer
        .send(
            FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(envelope.to_headers()),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("record acknowledged");
}

/// Every file below `dir` (manifest excluded) → its bytes.
fn file_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if !path.ends_with("_manifest.json") {
                let name = path
                    .strip_prefix(root)
                    .expect("below root")
                    .display()
                    .to_string();
                out.insert(name, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn read_with_pyarrow(dir: &Path) -> Value {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/read_parquet.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(dir)
        .output()
        .expect("python starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pyarrow failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn request(topics: &[&str], out: &Path, format: Format) -> ExportRequest {
    ExportRequest {
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        from: Bound::Earliest,
        to: Bound::Latest,
        out: out.to_owned(),
        format,
        max_rows_per_file: 1_000_000,
    }
}

struct Fixture {
    settings: Settings,
    telemetry_topic: String,
    sessions_topic: String,
    produced: Vec<(Envelope, Telemetry)>,
    session: (Envelope, SessionEvent),
}

async fn produce_fixture(app: &TestApp, registry: &str) -> Fixture {
    let mut settings = app.settings.clone();
    settings.schema_registry_url = registry.to_owned();
    let telemetry_topic = create_topic(app, "t-export-telemetry", 2).await;
    let sessions_topic = create_topic(app, "t-export-sessions", 1).await;
    for (topic, schema_of) in [
        (&telemetry_topic, topics::TELEMETRY.name()),
        (&sessions_topic, topics::SESSIONS.name()),
    ] {
        let schema = catalog::topic_schema_json(schema_of).expect("schema");
        register(registry, &catalog::value_subject(topic), &schema)
            .await
            .expect("registered");
    }
    let codec = WireCodec::new(registry);
    let producer = kafka::producer(&settings.kafka, "test-export").expect("producer");
    let mut produced = Vec::new();
    for i in 0..TELEMETRY_RECORDS {
        let value = telemetry(i);
        let frame = Envelope::new_root(
            topics::FRAMES,
            "/fleetlog/gateway/gw-test",
            &value.device_id,
        );
        let envelope = Envelope::child(
            &frame,
            topics::TELEMETRY,
            "/fleetlog/decoder",
            &value.device_id,
        );
        let payload = codec
            .encode(topics::TELEMETRY.renamed(&telemetry_topic), &value)
            .await
            .expect("encoded");
        send(
            &producer,
            &telemetry_topic,
            &value.device_id,
            &payload,
            &envelope,
        )
        .await;
        produced.push((envelope, value));
    }
    // Two records that cannot be decoded: not wire format, and an unknown schema id.
    let bad = Envelope::new_root(topics::TELEMETRY, "/fleetlog/test", "bad");
    send(&producer, &telemetry_topic, "bad", b"not avro at all", &bad).await;
    send(
        &producer,
        &telemetry_topic,
        "bad",
        &[0, 0x7f, 0xff, 0xff, 0xf0, 2, 4],
        &bad,
    )
    .await;

    let session = SessionEvent {
        session_id: uuid::Uuid::now_v7(),
        device_id: "356307042440000".into(),
        gateway_id: "gw-test".into(),
        at_ms: 1_700_000_000_000,
        change: SessionChange::SessionConnected(SessionConnected {
            protocol: Protocol::Teltonika,
            remote_addr: "127.0.0.2:40000".into(),
        }),
    };
    let envelope = Envelope::new_root(
        topics::SESSIONS,
        "/fleetlog/gateway/gw-test",
        &session.device_id,
    );
    let payload = codec
        .encode(topics::SESSIONS.renamed(&sessions_topic), &session)
        .await
        .expect("encoded");
    send(
        &producer,
        &sessions_topic,
        &session.device_id,
        &payload,
        &envelope,
    )
    .await;
    Fixture {
        settings,
        telemetry_topic,
        sessions_topic,
        produced,
        session: (envelope, session),
    }
}
