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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetlog_export::manifest::Manifest;
use fleetlog_export::{Bound, ExportRequest, Format, NoProgress};
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
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::{TestApp, spawn_app, stack, unique_name};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

const TELEMETRY_RECORDS: usize = 40;

fn python() -> PathBuf {
    std::env::var_os("TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("python/.venv/bin/python"),
        PathBuf::from,
    )
}

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
    assert!(
        python.exists(),
        "{} missing: install tests/python/requirements.txt (make test does) or set TEST_PYTHON",
        python.display()
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_read_by_pyarrow_and_a_second_export_of_the_range_is_byte_identical() {
    let app = spawn_app().await;
    let (registry, token) = stack::registry(&app).await;
    let fx = produce_fixture(&app, &registry).await;
    let scratch = std::env::temp_dir().join(unique_name("fleetlog-export-test"));
    let (first, second) = (scratch.join("first"), scratch.join("second"));
    let topics = [fx.telemetry_topic.as_str(), fx.sessions_topic.as_str()];

    let report = fleetlog_export::export(
        &fx.settings,
        &request(&topics, &first, Format::Parquet),
        &NoProgress,
    )
    .await
    .expect("export");
    assert_eq!(report.records, TELEMETRY_RECORDS as u64 + 3);
    assert_eq!(report.rows, TELEMETRY_RECORDS as u64 + 1);
    assert_eq!(report.rejected, 2);
    assert!(report.skipped.is_empty());

    // pyarrow reads what was written: rows, types and values.
    let read = read_with_pyarrow(&first);
    assert_eq!(read["total_rows"], TELEMETRY_RECORDS + 1);
    let files = read["files"].as_array().expect("files");
    let telemetry_files: Vec<&Value> = files
        .iter()
        .filter(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&fx.telemetry_topic))
        })
        .collect();
    assert!(!telemetry_files.is_empty());
    for file in &telemetry_files {
        let path = file["path"].as_str().expect("path");
        assert!(path.contains("/date=") && path.contains("/part-"), "{path}");
        assert_eq!(file["created_by"], fleetlog_export::CREATED_BY);
    }
    let schema = &telemetry_files[0]["schema"];
    let expected_types = [
        ("_partition", "int32"),
        ("_offset", "int64"),
        ("_timestamp", "timestamp[ms, tz=UTC]"),
        ("_key", "string"),
        ("_schema_id", "int32"),
        ("ce_id", "string"),
        ("ce_time", "timestamp[ms, tz=UTC]"),
        ("causation_id", "string"),
        ("device_id", "string"),
        ("record_index", "int32"),
        ("device_time_ms", "int64"),
        ("position_valid", "bool"),
        ("battery_pct", "int32"),
        ("lock_state", "string"),
        ("alarms", "list<item: string not null>"),
        ("odometer_m", "int64"),
        (
            "io",
            "list<item: struct<id: int32 not null, value: int64, raw: binary> not null>",
        ),
    ];
    for (column, ty) in expected_types {
        assert_eq!(schema[column], ty, "type of {column} in {schema}");
    }
    let rows: Vec<&Value> = telemetry_files
        .iter()
        .flat_map(|f| f["rows"].as_array().expect("rows"))
        .collect();
    assert_eq!(rows.len(), TELEMETRY_RECORDS);
    for (envelope, value) in &fx.produced {
        let row = rows
            .iter()
            .find(|r| r["ce_id"] == envelope.id.to_string())
            .unwrap_or_else(|| panic!("row of {}", envelope.id));
        assert_eq!(row["_key"], value.device_id);
        assert_eq!(row["device_id"], value.device_id);
        assert_eq!(row["frame_id"], value.frame_id.to_string());
        assert_eq!(row["record_index"], value.record_index);
        assert_eq!(row["device_time_ms"], value.device_time_ms);
        assert_eq!(row["lat_e7"], value.lat_e7);
        assert_eq!(row["position_valid"], value.position_valid);
        assert_eq!(row["battery_pct"], serde_json::json!(value.battery_pct));
        let lock = serde_json::to_value(value.lock_state).expect("json");
        assert_eq!(row["lock_state"], lock);
        assert_eq!(
            row["alarms"],
            serde_json::to_value(&value.alarms).expect("json")
        );
        assert_eq!(row["odometer_m"], Value::Null);
        assert_eq!(row["io"][0]["id"], 66);
        assert_eq!(row["io"][0]["value"], value.io[0].value.expect("value"));
        assert_eq!(row["io"][1]["raw"], "0102ff");
        assert_eq!(row["ce_type"], topics::TELEMETRY.event_type());
        assert_eq!(row["correlation_id"], envelope.correlation_id.to_string());
        assert_eq!(
            row["causation_id"],
            envelope.causation_id.map(|c| c.to_string()).expect("child")
        );
        assert_eq!(row["traceparent"], envelope.traceparent);
    }
    // A multi-branch union is a struct with one child per branch.
    let session_file = files
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&fx.sessions_topic))
        })
        .expect("sessions file");
    assert_eq!(session_file["num_rows"], 1);
    let change_type = session_file["schema"]["change"]
        .as_str()
        .expect("change type");
    assert!(
        change_type.starts_with("struct<SessionConnected: struct<protocol: string not null"),
        "{change_type}"
    );
    let row = &session_file["rows"][0];
    assert_eq!(row["ce_id"], fx.session.0.id.to_string());
    assert_eq!(row["causation_id"], Value::Null);
    assert_eq!(row["change"]["SessionConnected"]["protocol"], "TELTONIKA");
    assert_eq!(
        row["change"]["SessionConnected"]["remote_addr"],
        "127.0.0.2:40000"
    );
    assert_eq!(row["change"]["SessionDisconnected"], Value::Null);
    assert_eq!(row["session_id"], fx.session.1.session_id.to_string());

    // The rejects, with their reasons.
    let manifest = Manifest::load(&first)
        .expect("manifest")
        .expect("manifest exists");
    let rejects: Vec<Value> = manifest.topics[&fx.telemetry_topic]
        .values()
        .flat_map(|p| p.rejects.iter())
        .flat_map(|r| {
            std::fs::read_to_string(first.join(&r.path))
                .expect("rejects file")
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    let reasons: Vec<&str> = rejects
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not Confluent wire format")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("unknown to the registry")),
        "{reasons:?}"
    );
    assert!(rejects.iter().all(|r| r["key_hex"] == hex_of("bad")));
    let rows_in_manifest: u64 = manifest
        .topics
        .values()
        .flat_map(|t| t.values())
        .flat_map(|p| &p.files)
        .map(|f| f.rows)
        .sum();
    assert_eq!(rows_in_manifest, TELEMETRY_RECORDS as u64 + 1);
    assert!(
        manifest
            .topics
            .values()
            .flat_map(|t| t.values())
            .flat_map(|p| &p.files)
            .all(|f| f.sha256.len() == 64)
    );

    let first_manifest = std::fs::read(first.join("_manifest.json")).expect("manifest");

    // Again into the same directory, with the binary: every range is skipped.
    let before = file_bytes(&first);
    let output = fleetlog(&fx.settings)
        .args([
            "export",
            "--no-progress",
            "--topics",
            &topics.join(","),
            "--out",
        ])
        .arg(&first)
        .output()
        .expect("fleetlog runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with(&format!(
            "nothing new: the {} records in [earliest, latest) were exported before",
            TELEMETRY_RECORDS + 3
        )) && stdout.contains("skipped"),
        "{stdout}"
    );
    assert_eq!(file_bytes(&first), before, "a re-run changes no file");
    let rerun = Manifest::load(&first)
        .expect("manifest")
        .expect("manifest exists");
    assert!(rerun.last_run.exported.is_empty());
    assert_eq!(rerun.last_run.skipped, rerun.last_run.requested);
    assert_eq!(
        rerun.last_run.skipped.len(),
        3,
        "two telemetry partitions and one sessions"
    );
    assert_eq!(rerun.topics, manifest.topics);

    // The same range into a fresh directory: the same bytes.
    fleetlog_export::export(
        &fx.settings,
        &request(&topics, &second, Format::Parquet),
        &NoProgress,
    )
    .await
    .expect("second export");
    assert_eq!(
        file_bytes(&second),
        before,
        "a second export of the same range is byte-identical"
    );
    let again = Manifest::load(&second)
        .expect("manifest")
        .expect("manifest exists");
    assert_eq!(again.topics, manifest.topics);
    assert_eq!(
        std::fs::read(second.join("_manifest.json")).expect("manifest"),
        first_manifest,
        "the manifests of two exports of the same range are byte-identical too"
    );

    // JSON lines: the same rows, one object per line with sorted keys.
    let jsonl = scratch.join("jsonl");
    let report = fleetlog_export::export(
        &fx.settings,
        &request(&topics[..1], &jsonl, Format::Jsonl),
        &NoProgress,
    )
    .await
    .expect("jsonl export");
    assert_eq!(report.rows, TELEMETRY_RECORDS as u64);
    let lines: Vec<String> = file_bytes(&jsonl)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".jsonl") && !name.contains("_rejects"))
        .flat_map(|(_, bytes)| {
            String::from_utf8(bytes)
                .expect("utf-8")
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(lines.len(), TELEMETRY_RECORDS);
    let first_line: Value = serde_json::from_str(&lines[0]).expect("JSON");
    let keys: Vec<&String> = first_line.as_object().expect("object").keys().collect();
    assert!(lines[0].starts_with("{\"_key\":"), "{}", lines[0]);
    assert!(keys.contains(&&"io".to_owned()) && keys.contains(&&"ce_time".to_owned()));

    token.cancel();
    let _ = std::fs::remove_dir_all(&scratch);
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_names_an_unknown_topic_an_unreadable_registry_and_a_bad_bound() {
    let app = spawn_app().await;
    let (registry, token) = stack::registry(&app).await;
    let mut settings = app.settings.clone();
    settings.schema_registry_url = registry;
    let out = std::env::temp_dir().join(unique_name("fleetlog-export-errors"));
    let run = |settings: &Settings, args: &[&str]| {
        let output = fleetlog(settings)
            .arg("export")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&settings, &["--topics", "no-such-topic-anywhere"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unknown topic \"no-such-topic-anywhere\""),
        "{stderr}"
    );
    let (code, stderr) = run(
        &settings,
        &[
            "--topics",
            topics::TELEMETRY.name(),
            "--from",
            "last tuesday",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--from") && stderr.contains("RFC 3339"),
        "{stderr}"
    );
    let mut down = settings.clone();
    down.schema_registry_url = format!("http://127.0.0.1:{}", fleetlog_tests::process::free_port());
    let (code, stderr) = run(&down, &["--topics", topics::TELEMETRY.name()]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot read the schema registry"),
        "{stderr}"
    );
    token.cancel();
    let _ = std::fs::remove_dir_all(&out);
}
