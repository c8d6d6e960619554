//! The lineage projection and `trace`: a frame sent over the real gateway traces to its
//! telemetry records and the fleet rows they wrote (in the library and with `fleetlog
//! trace`); records with a broken envelope get a synthetic id, dead-letter copies merge
//! into their event, and re-produced records keep their first position.

use std::time::{Duration, Instant};

use fleetlog_ingest::protocol::{Record, teltonika};
use fleetlog_processor::{Projection, SourceRecord};
use fleetlog_projections::lineage::{self, LineageProjection, SYNTHETIC_ID_NAMESPACE, Trace};
use fleetlog_runtime::settings::AdmissionPolicy;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::RawFrame;
use fleetlog_schemas::topics;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::spawn_app;
use fleetlog_tests::test_stack::{Projected, TestStack};
use rdkafka::Message;
use rdkafka::message::Headers;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// A stack and one Teltonika frame of two records sent by `device`, traced completely.
struct Traced {
    stack: TestStack,
    device: String,
    frame_id: Uuid,
}

fn imei() -> String {
    fleetlog_tests::unique_imei("358")
}

fn record(i: i64) -> Record {
    Record {
        message: "avl".into(),
        device_time_ms: Some(1_764_000_000_000 + i * 1000),
        lat_e7: Some(375_665_000 + i as i32 * 10),
        lon_e7: Some(1_269_780_000),
        speed_kmh: Some(14.0),
        heading_deg: Some(180),
        satellites: Some(8),
        position_valid: true,
        battery_pct: Some(77),
        ..Record::default()
    }
}

/// Gateway, decoder, fleet and lineage projections.
async fn start_stack() -> TestStack {
    TestStack::builder()
        .gateway(AdmissionPolicy::Open)
        .decoder()
        .projection(Projected::Fleet)
        .projection(Projected::Lineage)
        .start()
        .await
}

/// Whether the fleet projection has applied the device's session (so that the frame's
/// telemetry is the last event to change its row).
async fn online(pool: &PgPool, device: &str) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT online FROM proj_fleet_v1.devices WHERE device_id = $1")
        .bind(device)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

async fn send_frame(stack: &TestStack, device: &str) -> Uuid {
    let services = stack.gateway();
    let mut stream = TcpStream::connect(services.teltonika).await.unwrap();
    let login = teltonika::device::login_packet(device).unwrap();
    stream.write_all(&login).await.unwrap();
    let packet = teltonika::device::codec8e_packet(&[record(0), record(1)]).unwrap();
    let mut reply = [0; 5];
    tokio::time::timeout(Duration::from_secs(60), async {
        stream.read_exact(&mut reply[..1]).await.unwrap();
        while !online(&stack.app.pool, device).await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stream.write_all(&packet).await.unwrap();
        stream.read_exact(&mut reply[1..]).await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(reply, [1, 0, 0, 0, 2], "login accepted, two records ACKed");
    let frames = read_key_until(
        &services.settings,
        topics::FRAMES.name(),
        device,
        Duration::from_secs(30),
        |m| m.len() >= 2,
    )
    .await;
    let codec = services.codec();
    for message in frames {
        let frame: RawFrame = codec
            .decode(topics::FRAMES, message.payload().unwrap())
            .await
            .unwrap()
            .0;
        if frame.raw == packet.to_vec() {
            return frame.frame_id;
        }
    }
    panic!("the data frame of {device} is not on the log");
}

/// Whether the whole chain and the device row are in.
fn complete(trace: &Trace) -> bool {
    let Some(root) = trace.roots.first() else {
        return false;
    };
    root.children.len() == 2
        && root
            .children
            .iter()
            .any(|c| c.read_models.iter().any(|r| r.table.ends_with(".devices")))
}

async fn traced() -> Traced {
    let stack = start_stack().await;
    let device = imei();
    let frame_id = send_frame(&stack, &device).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let trace = lineage::trace(&stack.app.pool, frame_id)
            .await
            .ok()
            .flatten();
        if trace.as_ref().is_some_and(complete) {
            break;
        }
        assert!(Instant::now() < deadline, "trace never complete: {trace:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Traced {
        stack,
        device,
        frame_id,
    }
}

#[tokio::test]
async fn the_trace_of_a_frame_shows_its_records_and_the_device_row_they_wrote() {
    let t = traced().await;
    let trace = lineage::trace(&t.stack.app.pool, t.frame_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trace.correlation_id, Some(t.frame_id));
    assert_eq!(trace.events, 3);
    let root = &trace.roots[0];
    assert_eq!(root.event.event_id, t.frame_id);
    assert_eq!(root.event.kind(), "frame");
    assert_eq!(root.event.topic, topics::FRAMES.name());
    assert_eq!(root.event.key.as_deref(), Some(t.device.as_str()));
    assert_eq!(root.since_root_ms, Some(0));
    assert!(
        root.event
            .source
            .as_deref()
            .unwrap()
            .starts_with("/fleetlog/gateway/")
    );
    for (i, child) in root.children.iter().enumerate() {
        let id = Uuid::new_v5(&t.frame_id, format!("record-{i}").as_bytes());
        assert_eq!(child.event.event_id, id, "children by time, record order");
        assert_eq!(child.event.kind(), "telemetry");
        assert_eq!(child.event.causation_id, Some(t.frame_id));
        assert!(child.since_root_ms.unwrap() >= 0);
        assert!(
            child
                .read_models
                .iter()
                .any(|r| r.table == "proj_fleet_v1.telemetry_history"),
            "{child:?}"
        );
    }
    let newest = &root.children[1];
    let device_row = newest
        .read_models
        .iter()
        .find(|r| r.table == "proj_fleet_v1.devices");
    let device_row = device_row.unwrap();
    assert_eq!(device_row.key, t.device);
    assert_eq!(device_row.row["lat_e7"], 375_665_010);
    let text = trace.to_string();
    assert!(
        text.starts_with(&format!(
            "frame {}  {}",
            t.frame_id,
            topics::FRAMES.event_type()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("read model proj_fleet_v1.devices[{}]", t.device)),
        "{text}"
    );

    let from_child = lineage::trace(&t.stack.app.pool, newest.event.event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from_child.roots[0].event.event_id, t.frame_id);
    assert_eq!(from_child.id, newest.event.event_id);
}

#[tokio::test]
async fn fleetlog_trace_prints_the_tree_with_the_device_row() {
    let t = traced().await;
    let settings = &t.stack.app.settings;
    let frame = t.frame_id.to_string();
    let out = fleetlog(settings).args(["trace", &frame]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with(&format!("frame {frame}")), "{stdout}");
    assert!(stdout.contains("└─ telemetry "), "{stdout}");
    let row = format!("read model proj_fleet_v1.devices[{}]", t.device);
    assert!(stdout.contains(&row), "{stdout}");

    let out = fleetlog(settings)
        .args(["trace", &frame, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["roots"][0]["event_id"], frame);
    assert_eq!(json["roots"][0]["children"].as_array().unwrap().len(), 2);

    let unknown = Uuid::new_v4().to_string();
    let out = fleetlog(settings)
        .args(["trace", &unknown])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("no event with id {unknown}")),
        "{stderr}"
    );

    let out = fleetlog(settings)
        .args(["trace", "frame-42"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"frame-42\" is not an event, frame or command id"),
        "{stderr}"
    );
}

// ---- apply without a broker ----

fn source(topic: &str, offset: i64, headers: &[(&str, String)]) -> SourceRecord {
    SourceRecord {
        topic: topic.into(),
        partition: 0,
        offset,
        key: Some(b"356307042441013".to_vec()),
        payload: Some(b"anything: lineage never decodes values".to_vec()),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect(),
        timestamp_ms: Some(1_764_000_000_000),
    }
}

fn enveloped(topic: &str, offset: i64, envelope: &Envelope) -> SourceRecord {
    let owned = envelope.to_headers();
    let headers: Vec<(&str, String)> = owned
        .iter()
        .map(|h| {
            (
                h.key,
                String::from_utf8_lossy(h.value.unwrap()).into_owned(),
            )
        })
        .collect();
    source(topic, offset, &headers)
}

async fn events(pool: &PgPool) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(e) FROM proj_lineage_v1.events e ORDER BY topic, \"offset\"",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_record_is_recorded_once_even_with_a_broken_envelope_or_as_a_dead_letter() {
    let app = spawn_app().await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("CREATE SCHEMA proj_lineage_v1")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO projection_versions (projection, version, state) VALUES ('lineage', 1, 'live')")
        .execute(&mut *conn)
        .await
        .unwrap();
    LineageProjection
        .migrate(&mut conn, "proj_lineage_v1")
        .await
        .unwrap();

    let frame = Envelope::new_root(topics::FRAMES, "/fleetlog/gateway/gw-1", "356307042441013");
    let child_id = Uuid::new_v5(&frame.id, b"record-0");
    let child = Envelope::child_with_id(
        &frame,
        child_id,
        topics::TELEMETRY,
        "/fleetlog/decoder",
        "356307042441013",
    );
    let dlq_headers = [
        ("ce_id", child.id.to_string()),
        ("dlq_error", "value: bad".to_owned()),
        ("dlq_processor", "fleet".to_owned()),
        ("dlq_topic", topics::TELEMETRY.name().to_owned()),
        ("dlq_partition", "0".to_owned()),
        ("dlq_offset", "3".to_owned()),
    ];
    let batch = vec![
        enveloped(topics::FRAMES.name(), 2, &frame),
        enveloped(topics::TELEMETRY.name(), 3, &child),
        source(
            topics::REPLIES.name(),
            9,
            &[("ce_id", "garbage".to_owned())],
        ),
        enveloped(topics::TELEMETRY.name(), 7, &child), // re-produced: keeps offset 3
        source(&topics::TELEMETRY.dlq(), 0, &dlq_headers),
    ];
    LineageProjection
        .apply(&mut conn, "proj_lineage_v1", &batch)
        .await
        .unwrap();
    let once = events(&app.pool).await;
    LineageProjection
        .apply(&mut conn, "proj_lineage_v1", &batch)
        .await
        .unwrap();
    assert_eq!(
        events(&app.pool).await,
        once,
        "applying twice changes nothing"
    );

    assert_eq!(once.len(), 3);
    let replies = once
        .iter()
        .find(|e| e["topic"] == topics::REPLIES.name())
        .unwrap();
    let synthetic = Uuid::new_v5(&SYNTHETIC_ID_NAMESPACE, b"scooter.replies.v1/0@9");
    assert_eq!(replies["event_id"], synthetic.to_string());
    assert_eq!(replies["synthetic_id"], true);
    assert!(replies["correlation_id"].is_null());
    let telemetry = once
        .iter()
        .find(|e| e["topic"] == topics::TELEMETRY.name())
        .unwrap();
    assert_eq!(telemetry["offset"], 3);
    assert_eq!(telemetry["dlq_error"], "value: bad");
    assert_eq!(telemetry["dlq_record"], "scooter.telemetry.v1.dlq.v1/0@0");

    let trace = lineage::trace(&app.pool, frame.id).await.unwrap().unwrap();
    assert_eq!(trace.roots.len(), 1);
    assert_eq!(trace.roots[0].children[0].event.event_id, child_id);
    assert!(
        trace.to_string().contains("DEAD-LETTERED by fleet"),
        "{trace}"
    );
    let alone = lineage::trace(&app.pool, synthetic).await.unwrap().unwrap();
    assert_eq!((alone.events, alone.correlation_id), (1, None));
    assert!(
        lineage::trace(&app.pool, Uuid::new_v4())
            .await
            .unwrap()
            .is_none()
    );
}
