//! `FleetProjection::apply` without a broker (only the registry, to encode values):
//! applying a batch twice leaves identical rows, a batch cut differently ends the same, and
//! an undecodable value is a poison record.

use std::time::Duration;

use fleetlog_processor::{Projection, SourceRecord};
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    DisconnectReason, FleetEvent, FleetEventBody, LockState, Protocol, SessionChange,
    SessionConnected, SessionDisconnected, SessionEvent, Telemetry, VehicleRegistered,
    VehicleState, VehicleStateChanged,
};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::{TestApp, spawn_app};
use rdkafka::message::Headers;
use serde_json::Value;
use uuid::Uuid;

fn source(
    topic: &str,
    offset: i64,
    key: &str,
    envelope: &Envelope,
    value: Vec<u8>,
) -> SourceRecord {
    let headers = envelope
        .to_headers()
        .iter()
        .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
        .collect();
    SourceRecord {
        topic: topic.into(),
        partition: 0,
        offset,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(value),
        headers,
        timestamp_ms: Some(1_764_000_000_000),
    }
}

fn telemetry(device: &str, time_ms: i64, index: i32, valid: bool) -> Telemetry {
    Telemetry {
        device_id: device.into(),
        frame_id: Uuid::now_v7(),
        record_index: index,
        device_time_ms: time_ms,
        received_at_ms: time_ms + 40,
        lat_e7: if valid { 375_000_000 + index } else { 0 },
        lon_e7: if valid { 1_270_000_000 } else { 0 },
        altitude_m: 30,
        speed_kmh: index,
        heading_deg: 180,
        satellites: 8,
        position_valid: valid,
        battery_pct: valid.then_some(70 - index),
        lock_state: Some(LockState::Locked),
        alarms: vec![],
        odometer_m: Some(1_000),
        io: vec![],
    }
}

/// A mixed batch: telemetry of two devices (out of order, one record re-sent, one without
/// a fix), their sessions, and a vehicle registered and made available.
async fn mixed_batch(codec: &WireCodec) -> Vec<SourceRecord> {
    let vehicle = Uuid::now_v7();
    let mut batch = Vec::new();
    let records = [
        telemetry("d1", 3_000, 0, true),
        telemetry("d1", 1_000, 0, true),
        telemetry("d1", 3_000, 0, true),
        telemetry("d1", 4_000, 1, false),
        telemetry("d2", 2_000, 0, true),
    ];
    for t in &records {
        let value = codec.encode(topics::TELEMETRY, t).await.unwrap();
        let env = Envelope::new_root(topics::TELEMETRY, "/fleetlog/test", &t.device_id);
        batch.push(source(
            topics::TELEMETRY.name(),
            batch.len() as i64,
            &t.device_id,
            &env,
            value,
        ));
    }
    for (device, at, connected) in [("d1", 500, true), ("d2", 900, false), ("d2", 800, true)] {
        let event = SessionEvent {
            session_id: Uuid::now_v7(),
            device_id: device.into(),
            gateway_id: "gw-1".into(),
            at_ms: at,
            change: if connected {
                SessionChange::SessionConnected(SessionConnected {
                    protocol: Protocol::Gt06,
                    remote_addr: "127.0.0.1:9".into(),
                })
            } else {
                SessionChange::SessionDisconnected(SessionDisconnected {
                    reason: DisconnectReason::PeerClosed,
                    detail: None,
                    frames: 1,
                })
            },
        };
        let value = codec.encode(topics::SESSIONS, &event).await.unwrap();
        let env = Envelope::new_root(topics::SESSIONS, "/fleetlog/test", device);
        batch.push(source(
            topics::SESSIONS.name(),
            batch.len() as i64,
            device,
            &env,
            value,
        ));
    }
    let events = [
        FleetEventBody::VehicleRegistered(VehicleRegistered {
            vehicle_id: vehicle,
            device_id: "d1".into(),
            protocol: Protocol::Teltonika,
            model: "S9".into(),
            qr_code: "QR-1".into(),
        }),
        FleetEventBody::VehicleStateChanged(VehicleStateChanged {
            vehicle_id: vehicle,
            from_state: VehicleState::OutOfService,
            to_state: VehicleState::Available,
            reason: None,
        }),
    ];
    for body in events {
        let event = FleetEvent {
            occurred_at_ms: 600,
            event: body,
        };
        let value = codec.encode(topics::FLEET_EVENTS, &event).await.unwrap();
        let key = vehicle.to_string();
        let env = Envelope::new_root(topics::FLEET_EVENTS, "/fleetlog/test", &key);
        batch.push(source(
            topics::FLEET_EVENTS.name(),
            batch.len() as i64,
            &key,
            &env,
            value,
        ));
    }
    batch
}

/// Every table of `schema` as JSON, ordered. Without `all`, the columns that depend on when
/// and in which order across topics rows were written (`updated_at`, `last_event_id`) are
/// left out.
async fn dump(conn: &mut sqlx::PgConnection, schema: &str, all: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for (table, order) in [
        ("devices", "device_id"),
        (
            "telemetry_history",
            "device_id, device_time_ms, record_index",
        ),
        ("vehicles", "vehicle_id"),
    ] {
        let sql = format!("SELECT to_jsonb(t) FROM {schema}.{table} t ORDER BY {order}");
        let rows: Vec<Value> = sqlx::query_scalar(&sql)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        out.extend(rows.into_iter().map(|mut r| {
            if !all {
                let row = r.as_object_mut().unwrap();
                row.remove("updated_at");
                row.remove("last_event_id");
            }
            r
        }));
    }
    out
}

async fn fresh_schema(conn: &mut sqlx::PgConnection, p: &FleetProjection, schema: &str) {
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    p.migrate(conn, schema).await.unwrap();
}

async fn registry(app: &TestApp) -> String {
    let (url, _token) = fleetlog_tests::stack::registry(app).await;
    fleetlog_schemas::registration::register_all(&url)
        .await
        .unwrap();
    url
}

#[tokio::test]
async fn applying_the_same_batch_twice_leaves_identical_rows() {
    let app = spawn_app().await;
    let url = registry(&app).await;
    let projection = FleetProjection::new(&url);
    let batch = mixed_batch(&WireCodec::new(&url)).await;
    let mut conn = app.pool.acquire().await.unwrap();
    fresh_schema(&mut conn, &projection, "proj_fleet_v1").await;

    projection
        .apply(&mut conn, "proj_fleet_v1", &batch)
        .await
        .unwrap();
    let once = dump(&mut conn, "proj_fleet_v1", true).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    projection
        .apply(&mut conn, "proj_fleet_v1", &batch)
        .await
        .unwrap();
    assert_eq!(dump(&mut conn, "proj_fleet_v1", true).await, once);

    let d1 = once
        .iter()
        .find(|r| r["device_id"] == "d1" && r.get("online").is_some())
        .unwrap();
    assert_eq!(
        d1["device_time_ms"], 4_000,
        "the newest record, even without a fix"
    );
    assert_eq!(
        d1["position_time_ms"], 3_000,
        "position only from a valid fix"
    );
    assert_eq!(d1["battery_time_ms"], 3_000);
    assert_eq!(d1["online"], true);
    assert_eq!(
        d1["protocol"], "GT06",
        "the wire protocol wins over the registered one"
    );
    assert!(!d1["vehicle_id"].is_null());
    let d2 = once
        .iter()
        .find(|r| r["device_id"] == "d2" && r.get("online").is_some())
        .unwrap();
    assert_eq!(
        d2["online"], false,
        "the disconnect at 900 is newer than the connect at 800"
    );
    let history = once.iter().filter(|r| r.get("day").is_some()).count();
    assert_eq!(history, 4, "the re-sent record is stored once");
    let vehicle = once.iter().find(|r| r.get("qr_code").is_some()).unwrap();
    assert_eq!(vehicle["state"], "AVAILABLE");
    assert_eq!(vehicle["device_id"], "d1");
}

#[tokio::test]
async fn a_batch_applied_whole_or_record_by_record_ends_with_the_same_rows() {
    let app = spawn_app().await;
    let url = registry(&app).await;
    let projection = FleetProjection::new(&url);
    let batch = mixed_batch(&WireCodec::new(&url)).await;
    let mut conn = app.pool.acquire().await.unwrap();
    fresh_schema(&mut conn, &projection, "proj_fleet_v1").await;
    fresh_schema(&mut conn, &projection, "proj_fleet_v2").await;

    projection
        .apply(&mut conn, "proj_fleet_v1", &batch)
        .await
        .unwrap();
    for record in &batch {
        let one = std::slice::from_ref(record);
        projection
            .apply(&mut conn, "proj_fleet_v2", one)
            .await
            .unwrap();
    }
    assert_eq!(
        dump(&mut conn, "proj_fleet_v2", false).await,
        dump(&mut conn, "proj_fleet_v1", false).await
    );
}

#[tokio::test]
async fn an_undecodable_value_is_a_poison_record_named_by_its_position() {
    let app = spawn_app().await;
    let url = registry(&app).await;
    let projection = FleetProjection::new(&url);
    let mut conn = app.pool.acquire().await.unwrap();
    fresh_schema(&mut conn, &projection, "proj_fleet_v1").await;
    let env = Envelope::new_root(topics::TELEMETRY, "/fleetlog/test", "d9");
    let bad = source(
        topics::TELEMETRY.name(),
        41,
        "d9",
        &env,
        b"not avro".to_vec(),
    );
    let err = projection
        .apply(&mut conn, "proj_fleet_v1", &[bad])
        .await
        .unwrap_err();
    assert!(err.is_poison(), "{err}");
    assert!(
        err.to_string().contains("scooter.telemetry.v1/0@41"),
        "{err}"
    );
}
