//! The fleet projection end to end: scooters over the real gateway, the decoder and the
//! projection against the real broker and PostgreSQL show up in `devices` with their
//! decoded values; re-sent and older records change nothing; sessions flip `online` only
//! forward; applying a batch twice (or cut differently) leaves the same rows; an unknown
//! device's frames change nothing until its vehicle is registered. Tests
//! with a broker have their own, so the fixed topic names hold only their records.

mod apply;
mod quarantine;

use std::time::{Duration, Instant};

use fleetlog_ingest::protocol::{LockState, Protocol as DeviceProtocol, Record, teltonika};
use fleetlog_ingest::simulator::{Scooter, SimScooter};
use fleetlog_projections::fleet;
use fleetlog_runtime::settings::AdmissionPolicy;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    DisconnectReason, Protocol, SessionChange, SessionConnected, SessionDisconnected, SessionEvent,
};
use fleetlog_schemas::topics;
use fleetlog_tests::test_stack::{Projected, TestStack};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// A stack whose gateway admits every device (these tests are not about admission).
async fn stack() -> TestStack {
    stack_with(AdmissionPolicy::Open).await
}

/// Gateway, decoder and fleet projection.
async fn stack_with(admission: AdmissionPolicy) -> TestStack {
    TestStack::builder()
        .gateway(admission)
        .decoder()
        .projection(Projected::Fleet)
        .start()
        .await
}

fn imei() -> String {
    fleetlog_tests::unique_imei("359")
}

async fn device(pool: &PgPool, id: &str) -> Option<Value> {
    sqlx::query_scalar("SELECT to_jsonb(d) FROM proj_fleet_v1.devices d WHERE device_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
}

/// The device row once `ready` says so.
async fn device_when(pool: &PgPool, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(row) = device(pool, id).await.filter(|r| ready(r)) {
            return row;
        }
        assert!(Instant::now() < deadline, "device {id} never got ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(pool: &PgPool, id: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(h) FROM proj_fleet_v1.telemetry_history h WHERE device_id = $1 \
         ORDER BY device_time_ms, record_index",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn e7(deg: f64) -> i64 {
    (deg * 1e7).round() as i64
}

async fn report(scooter: &mut SimScooter, addr: std::net::SocketAddr) -> Scooter {
    scooter.connect(&addr.to_string()).await.unwrap();
    scooter.login().await.unwrap();
    let outcome = scooter.send_report().await.unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    scooter.state().clone()
}

#[tokio::test]
async fn frames_from_simulated_scooters_show_up_in_devices_with_their_decoded_values() {
    let stack = stack().await;
    let riding = Scooter {
        lock: LockState::Unlocked,
        speed_kmh: 15.0,
        battery_pct: 63.0,
        odometer_m: 5_000.0,
        ..Scooter::at(37.5665, 126.978)
    };
    let (telt_id, omni_id) = (imei(), imei());
    let mut telt = SimScooter::new(DeviceProtocol::Teltonika, &telt_id, 1).with_state(riding);
    let sent = report(&mut telt, stack.gateway().teltonika).await;
    let mut omni =
        SimScooter::new(DeviceProtocol::Omni, &omni_id, 2).with_state(Scooter::at(37.55, 126.99));
    let omni_sent = report(&mut omni, stack.gateway().omni).await;

    let row = device_when(&stack.app.pool, &telt_id, |r| {
        !r["device_time_ms"].is_null() && r["online"] == true
    })
    .await;
    assert_eq!(row["lat_e7"], e7(sent.lat_deg));
    assert_eq!(row["lon_e7"], e7(sent.lon_deg));
    assert_eq!(row["speed_kmh"], sent.speed_kmh.round() as i64);
    assert_eq!(row["battery_pct"], sent.battery_pct.round() as i64);
    assert_eq!(row["lock_state"], "UNLOCKED");
    assert_eq!(row["odometer_m"], sent.odometer_m as i64);
    assert_eq!(row["protocol"], "TELTONIKA");
    assert_eq!(row["online"], true);
    assert_eq!(history(&stack.app.pool, &telt_id).await.len(), 1);

    let row = device_when(&stack.app.pool, &omni_id, |r| {
        !r["lat_e7"].is_null() && !r["battery_pct"].is_null() && !r["protocol"].is_null()
    })
    .await;
    assert!((row["lat_e7"].as_i64().unwrap() - e7(omni_sent.lat_deg)).abs() <= 2);
    assert!((row["lon_e7"].as_i64().unwrap() - e7(omni_sent.lon_deg)).abs() <= 2);
    assert_eq!(row["battery_pct"], omni_sent.battery_pct.round() as i64);
    assert_eq!(row["lock_state"], "LOCKED");
    assert_eq!(row["protocol"], "OMNI");
}

fn record(time_ms: i64, lat_e7: i32) -> Record {
    Record {
        message: "avl".into(),
        device_time_ms: Some(time_ms),
        lat_e7: Some(lat_e7),
        lon_e7: Some(1_269_780_000),
        speed_kmh: Some(12.0),
        heading_deg: Some(90),
        satellites: Some(9),
        position_valid: true,
        battery_pct: Some(80),
        odometer_m: Some(10_000),
        ..Record::default()
    }
}

/// A logged-in Teltonika connection.
async fn teltonika(stack: &TestStack, device: &str) -> TcpStream {
    let mut stream = TcpStream::connect(stack.gateway().teltonika).await.unwrap();
    let login = teltonika::device::login_packet(device).unwrap();
    stream.write_all(&login).await.unwrap();
    assert_eq!(read(&mut stream, 1).await, vec![1], "login accepted");
    stream
}

async fn read(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf
}

async fn send(stream: &mut TcpStream, records: &[Record]) {
    let packet = teltonika::device::codec8e_packet(records).unwrap();
    stream.write_all(&packet).await.unwrap();
    let count = u32::try_from(records.len()).unwrap();
    assert_eq!(read(stream, 4).await, count.to_be_bytes().to_vec());
}

#[tokio::test]
async fn a_frame_sent_twice_leaves_the_read_model_as_if_it_came_once() {
    let stack = stack().await;
    let id = imei();
    let mut stream = teltonika(&stack, &id).await;
    let records = [
        record(1_764_000_000_000, 375_665_000),
        record(1_764_000_001_000, 375_665_100),
    ];
    send(&mut stream, &records).await;
    stack
        .wait_applied(fleet::NAME, topics::SESSIONS.name(), 1)
        .await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 2)
        .await;
    let once = (
        device(&stack.app.pool, &id).await,
        history(&stack.app.pool, &id).await,
    );

    // No ACK seen: the device sends the same bytes again (a new frame on the log).
    send(&mut stream, &records).await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 4)
        .await;
    let twice = (
        device(&stack.app.pool, &id).await,
        history(&stack.app.pool, &id).await,
    );
    assert_eq!(twice, once);
    assert_eq!(once.1.len(), 2);
    assert_eq!(once.0.unwrap()["lat_e7"], 375_665_100);
}

#[tokio::test]
async fn a_record_with_an_older_device_time_does_not_move_the_scooter_backwards() {
    let stack = stack().await;
    let id = imei();
    let mut stream = teltonika(&stack, &id).await;
    send(&mut stream, &[record(1_764_000_010_000, 375_660_000)]).await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 1)
        .await;
    let before = device(&stack.app.pool, &id).await.unwrap();

    send(&mut stream, &[record(1_764_000_005_000, 375_000_000)]).await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 2)
        .await;
    let after = device(&stack.app.pool, &id).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after["lat_e7"], 375_660_000);
    assert_eq!(after["device_time_ms"], 1_764_000_010_000_i64);
    assert_eq!(
        history(&stack.app.pool, &id).await.len(),
        2,
        "history keeps both"
    );
}

async fn produce_session(stack: &TestStack, device: &str, at_ms: i64, connected: bool) {
    let change = if connected {
        SessionChange::SessionConnected(SessionConnected {
            protocol: Protocol::Teltonika,
            remote_addr: "127.0.0.1:9".into(),
        })
    } else {
        SessionChange::SessionDisconnected(SessionDisconnected {
            reason: DisconnectReason::IdleTimeout,
            detail: None,
            frames: 0,
        })
    };
    let event = SessionEvent {
        session_id: Uuid::now_v7(),
        device_id: device.into(),
        gateway_id: "gw-test".into(),
        at_ms,
        change,
    };
    let payload = stack.codec.encode(topics::SESSIONS, &event).await.unwrap();
    let envelope = Envelope::new_root(topics::SESSIONS, "/fleetlog/test", device);
    fleetlog_tests::log::append(
        &stack.producer,
        topics::SESSIONS.name(),
        device,
        &payload,
        &envelope,
    )
    .await;
}

#[tokio::test]
async fn sessions_flip_online_and_an_old_disconnect_processed_late_does_not_flip_it_back() {
    let stack = stack().await;
    let id = imei();
    let stream = teltonika(&stack, &id).await;
    let row = device_when(&stack.app.pool, &id, |r| r["online"] == true).await;
    assert_eq!(row["gateway_id"], stack.app.settings.gateway.gateway_id);
    drop(stream);
    let row = device_when(&stack.app.pool, &id, |r| r["online"] == false).await;
    let offline_since = row["online_since_ms"].as_i64().unwrap();

    produce_session(&stack, &id, offline_since + 100_000, true).await;
    produce_session(&stack, &id, offline_since + 50_000, false).await;
    stack
        .wait_applied(fleet::NAME, topics::SESSIONS.name(), 4)
        .await;
    let row = device(&stack.app.pool, &id).await.unwrap();
    assert_eq!(row["online"], true);
    assert_eq!(row["online_since_ms"], offline_since + 100_000);
}

#[tokio::test]
async fn a_record_dated_next_year_does_not_freeze_the_scooter() {
    let stack = stack().await;
    let id = imei();
    let mut stream = teltonika(&stack, &id).await;
    let next_year = chrono::Utc::now().timestamp_millis() + 365 * 24 * 3600 * 1000;
    send(&mut stream, &[record(next_year, 375_660_000)]).await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 1)
        .await;
    let forged = device(&stack.app.pool, &id).await.unwrap();
    assert!(
        forged["device_time_ms"].as_i64().unwrap() < next_year,
        "dated at its receive time: {forged}"
    );

    let now = chrono::Utc::now().timestamp_millis();
    send(&mut stream, &[record(now, 375_000_000)]).await;
    stack
        .wait_applied(fleet::NAME, topics::TELEMETRY.name(), 2)
        .await;
    let after = device(&stack.app.pool, &id).await.unwrap();
    assert_eq!(
        after["lat_e7"], 375_000_000,
        "the next genuine record applies"
    );
    assert_eq!(after["device_time_ms"], now);
}
