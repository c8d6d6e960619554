//! `fleetlog export --from/--to` as analysts mean them, against the real broker and
//! registry: a plain date is its midnight UTC, an RFC 3339 time with any offset is that
//! instant, an offset is an offset; a time after the log's end is the end and one before
//! its start is the start; an export that finds records never reports 0 (a re-run says
//! they were exported before); a range that really is empty says so and why.
//!
//! Five telemetry records are produced with broker timestamps spread over three days of
//! January 2026 (topics are created with `retention.ms=-1`, so old timestamps stay).
//! Needs the broker (`KAFKA_BROKERS`), PostgreSQL (`DATABASE_URL`) and the built binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetlog_export::{Bound, ExportReport, ExportRequest, Format, NoProgress};
use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka::{self, TopicSpec};
use fleetlog_schemas::catalog;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::Telemetry;
use fleetlog_schemas::registration::register;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::{TestApp, spawn_app, stack, unique_name};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Broker timestamps of the five records, in offset order.
const TIMES: [&str; 5] = [
    "2026-01-01T10:00:00Z",
    "2026-01-01T20:00:00Z",
    "2026-01-02T10:00:00Z",
    "2026-01-02T11:00:00Z",
    "2026-01-03T09:00:00Z",
];

struct Log {
    settings: Settings,
    topic: String,
    empty_topic: String,
    scratch: PathBuf,
}

fn telemetry(i: usize, at_ms: i64) -> Telemetry {
    Telemetry {
        device_id: "356307042440001".into(),
        frame_id: uuid::Uuid::now_v7(),
        record_index: i as i32,
        device_time_ms: at_ms,
        received_at_ms: at_ms,
        lat_e7: 375_665_000,
        lon_e7: 1_269_780_000,
        altitude_m: 34,
        speed_kmh: 0,
        heading_deg: 0,
        satellites: 9,
        position_valid: true,
        battery_pct: Some(80),
        lock_state: None,
        alarms: vec![],
        odometer_m: None,
        io: vec![],
    }
}

async fn create_topic(app: &TestApp, prefix: &str) -> String {
    let topic = unique_name(prefix);
    let admin = kafka::admin(&app.settings.kafka).expect("admin");
    let spec = TopicSpec {
        name: topic.clone(),
        partitions: 1,
    };
    kafka::create_topics(&admin, &[spec], 1)
        .await
        .expect("topic created");
    topic
}

async fn produce(app: &TestApp, registry: &str) -> Log {
    let mut settings = app.settings.clone();
    settings.schema_registry_url = registry.to_owned();
    let topic = create_topic(app, "t-export-range").await;
    let empty_topic = create_topic(app, "t-export-empty").await;
    let schema = catalog::topic_schema_json(topics::TELEMETRY.name()).expect("schema");
    register(registry, &catalog::value_subject(&topic), &schema)
        .await
        .expect("registered");
    let codec = WireCodec::new(registry);
    let producer: FutureProducer =
        kafka::producer(&settings.kafka, "test-export-range").expect("producer");
    for (i, time) in TIMES.iter().enumerate() {
        let at_ms = chrono::DateTime::parse_from_rfc3339(time)
            .expect("a time")
            .timestamp_millis();
        let value = telemetry(i, at_ms);
        let envelope = Envelope::new_root(topics::TELEMETRY, "/fleetlog/decoder", &value.device_id);
        let payload = codec
            .encode(topics::TELEMETRY.renamed(&topic), &value)
            .await
            .expect("encoded");
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&value.device_id)
                    .payload(&payload)
                    .timestamp(at_ms)
                    .headers(envelope.to_headers()),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("record acknowledged");
    }
    Log {
        settings,
        topic,
        empty_topic,
        scratch: std::env::temp_dir().join(unique_name("fleetlog-export-range")),
    }
}

impl Log {
    /// The library's export of `[from, to)` of the topic into a fresh directory.
    async fn export(&self, from: &str, to: &str) -> ExportReport {
        let request = ExportRequest {
            topics: vec![self.topic.clone()],
            from: from.parse().expect("--from"),
            to: to.parse().expect("--to"),
            out: self.scratch.join(unique_name("out")),
            format: Format::Jsonl,
            max_rows_per_file: 1_000_000,
        };
        fleetlog_export::export(&self.settings, &request, &NoProgress)
            .await
            .unwrap_or_else(|e| panic!("export [{from}, {to}): {e}"))
    }

    /// Offsets of the rows an export of `[from, to)` wrote.
    async fn offsets(&self, from: &str, to: &str) -> Vec<i64> {
        let report = self.export(from, to).await;
        assert_eq!(report.rows, report.records, "every record decodes");
        let mut offsets: Vec<i64> = report.exported.iter().flat_map(|r| r.from..r.to).collect();
        offsets.sort_unstable();
        assert_eq!(offsets.len() as u64, report.records, "[{from}, {to})");
        offsets
    }

    /// The binary's stdout for `export --topics <topics> <args> --out <out>`.
    fn run(&self, topics: &str, args: &[&str], out: &Path) -> String {
        let output = fleetlog(&self.settings)
            .args([
                "export",
                "--no-progress",
                "--format",
                "jsonl",
                "--topics",
                topics,
            ])
            .args(args)
            .arg("--out")
            .arg(out)
            .output()
            .expect("fleetlog runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_times_and_offsets_select_the_records_analysts_mean() {
    let app = spawn_app().await;
    let (registry, token) = stack::registry(&app).await;
    let log = produce(&app, &registry).await;

    // A plain date is midnight UTC: one whole day, `--to` exclusive.
    assert_eq!(log.offsets("2026-01-02", "2026-01-03").await, [2, 3]);
    // An RFC 3339 time in any offset is that instant (21:00+01:00 is 20:00Z).
    assert_eq!(
        log.offsets("2026-01-01T21:00:00+01:00", "latest").await,
        [1, 2, 3, 4]
    );
    assert_eq!(
        log.offsets("earliest", "2026-01-02T10:30:00+00:00").await,
        [0, 1, 2]
    );
    // An offset is an offset.
    assert_eq!(log.offsets("1", "3").await, [1, 2]);
    // After the log's end is the end, before its start is the start.
    let all = [0, 1, 2, 3, 4];
    assert_eq!(log.offsets("earliest", "2100-01-01T00:00:00Z").await, all);
    assert_eq!(log.offsets("2020-01-01", "latest").await, all);
    assert_eq!(log.offsets("2020-01-01", "2100-01-01").await, all);

    token.cancel();
    let _ = std::fs::remove_dir_all(&log.scratch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_finds_records_never_reports_zero_and_an_empty_range_says_why() {
    let app = spawn_app().await;
    let (registry, token) = stack::registry(&app).await;
    let log = produce(&app, &registry).await;
    let out = log.scratch.join("lake");
    let topic = log.topic.as_str();

    let first = log.run(topic, &["--to", "2100-01-01T00:00:00Z"], &out);
    assert!(
        first.starts_with("exported 5 records (5 rows, 0 rejected)"),
        "{first}"
    );
    // Again: the records are there, and were exported before — not "0 records".
    let again = log.run(topic, &["--to", "2100-01-01T00:00:00Z"], &out);
    assert!(
        again.starts_with("nothing new: the 5 records in [earliest, 2100-01-01T00:00:00Z)"),
        "{again}"
    );
    assert!(!again.contains("exported 0"), "{again}");

    // Truly empty ranges, each with its reason and what the topic holds.
    let held = "it holds 5 records, broker times 2026-01-01T10:00:00.000Z to \
                2026-01-03T09:00:00.000Z";
    let fresh = || log.scratch.join(unique_name("empty"));
    for (args, reason) in [
        (
            ["--from", "2030-01-01"],
            "--from 2030-01-01T00:00:00Z is after its last record",
        ),
        (
            ["--to", "2025-12-31"],
            "--to 2025-12-31T00:00:00Z is at or before its first record",
        ),
        (
            ["--from", "99"],
            "--from 99 is at or past the end of every partition (at most 5)",
        ),
    ] {
        let stdout = log.run(topic, &args, &fresh());
        assert!(
            stdout.starts_with("nothing to export: no record in"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("  empty     {topic}: {reason}; {held}")),
            "{args:?}: {stdout}"
        );
    }
    let gap = log.run(
        topic,
        &[
            "--from",
            "2026-01-02T12:00:00Z",
            "--to",
            "2026-01-03T00:00:00Z",
        ],
        &fresh(),
    );
    assert!(
        gap.contains("no record falls in [2026-01-02T12:00:00Z, 2026-01-03T00:00:00Z)"),
        "{gap}"
    );
    let never = log.run(&log.empty_topic, &[], &fresh());
    assert!(
        never.contains("the topic holds no records (nothing was ever written to it)"),
        "{never}"
    );
    // Two topics, one empty: the records are exported, the empty one is named.
    let both = format!("{topic},{}", log.empty_topic);
    let mixed = log.run(&both, &[], &fresh());
    assert!(mixed.starts_with("exported 5 records"), "{mixed}");
    assert!(
        mixed.contains(&format!("  empty     {}: ", log.empty_topic)),
        "{mixed}"
    );

    let report = log.export("2030-01-01", "latest").await;
    assert_eq!((report.records, report.in_range), (0, 0));
    assert_eq!(report.empty.len(), 1);
    assert_eq!(report.empty[0].topic, log.topic);

    token.cancel();
    let _ = std::fs::remove_dir_all(&log.scratch);
}

#[test]
fn a_bound_is_a_keyword_an_offset_a_date_or_a_time() {
    let day: Bound = "2026-01-02".parse().expect("a date");
    assert_eq!(day, "2026-01-02T09:00:00+09:00".parse().expect("a time"));
    assert_eq!("7".parse(), Ok(Bound::Offset(7)));
    assert!("02/01/2026".parse::<Bound>().is_err());
}
