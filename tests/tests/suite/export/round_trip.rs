//! One export, read back: pyarrow reads the expected rows, column types and values, the
//! undecodable records are in `_rejects` with their reasons, a re-run skips every range and
//! changes no file, an export of the same range elsewhere is byte-identical, and JSON lines
//! hold the same rows.

use fleetlog_export::manifest::Manifest;
use fleetlog_export::{Format, NoProgress};
use fleetlog_schemas::topics;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::{spawn_app, stack, unique_name};
use serde_json::Value;

use super::{TELEMETRY_RECORDS, file_bytes, produce_fixture, read_with_pyarrow, request};

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
