//! Quarantine over real connections: a device no vehicle is registered for logs in, its
//! frames are ACKed and kept in `scooter.frames.v1` as `UNKNOWN_DEVICE`, and the decoder
//! reads them without writing telemetry, so the fleet read model never shows its position
//! (a forged device cannot move a scooter). Once its vehicle is registered, the gateway
//! learns it from the log and the same connection's next frames count.

use std::time::{Duration, Instant};

use fleetlog_runtime::settings::AdmissionPolicy;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    FleetEvent, FleetEventBody, FrameStatus, Protocol, VehicleRegistered,
};
use fleetlog_schemas::topics;
use fleetlog_tests::log::{append, next_offsets, read_to_end, wait_until_committed};
use rdkafka::Message;
use uuid::Uuid;

use super::{device, history, imei, record, send, stack_with, teltonika};

const T0: i64 = 1_764_000_000_000;

#[tokio::test]
async fn an_unknown_device_changes_no_fleet_state_until_its_vehicle_is_registered() {
    let stack = stack_with(AdmissionPolicy::Quarantine).await;
    let settings = &stack.app.settings;
    let codec = &stack.codec;
    let id = imei();

    // The attack: frames of a device nobody registered, ACKed as usual.
    let mut stream = teltonika(&stack, &id).await;
    send(&mut stream, &[record(T0, 375_665_000)]).await;
    send(&mut stream, &[record(T0 + 1_000, 375_665_100)]).await;
    let frames = read_to_end(settings, topics::FRAMES.name(), Duration::from_secs(60)).await;
    let mut statuses = Vec::new();
    for message in &frames {
        let (frame, _) = codec
            .decode(topics::FRAMES, message.payload().unwrap())
            .await
            .unwrap();
        statuses.push(frame.status);
    }
    // The login and the two reports.
    assert_eq!(
        statuses,
        vec![FrameStatus::UnknownDevice; 3],
        "stored, marked"
    );
    // The decoder has read both frames (its transactions committed their offsets)...
    let decoder = format!("{}-decoder", settings.kafka.client_id);
    wait_until_committed(
        settings,
        &decoder,
        &next_offsets(&frames),
        Duration::from_secs(60),
    )
    .await;
    // ...and wrote no telemetry for them: no position, no history.
    let telemetry = read_to_end(settings, topics::TELEMETRY.name(), Duration::from_secs(60)).await;
    assert!(telemetry.is_empty(), "telemetry of a quarantined device");
    let row = device(&stack.app.pool, &id).await;
    assert!(
        row.as_ref().is_none_or(|r| r["lat_e7"].is_null()),
        "the unknown device shows a position: {row:?}"
    );
    assert!(history(&stack.app.pool, &id).await.is_empty());

    // The legitimate path: the operator registers the vehicle; the gateway reads that
    // from the log and the same connection's next frames are decoded.
    let registered = FleetEvent {
        occurred_at_ms: T0 + 2_000,
        event: FleetEventBody::VehicleRegistered(VehicleRegistered {
            vehicle_id: Uuid::new_v4(),
            device_id: id.clone(),
            protocol: Protocol::Teltonika,
            model: "S9".into(),
            qr_code: format!("QR-{id}"),
        }),
    };
    let payload = codec
        .encode(topics::FLEET_EVENTS, &registered)
        .await
        .unwrap();
    let envelope = Envelope::new_root(topics::FLEET_EVENTS, "/fleetlog/test", &id);
    let producer = fleetlog_runtime::kafka::producer(&settings.kafka, "test").unwrap();
    append(
        &producer,
        topics::FLEET_EVENTS.name(),
        &id,
        &payload,
        &envelope,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut step = 2;
    let row = loop {
        send(&mut stream, &[record(T0 + step * 1_000, 375_666_000)]).await;
        step += 1;
        if let Some(row) = device(&stack.app.pool, &id)
            .await
            .filter(|r| !r["lat_e7"].is_null())
        {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the registered device's frames never counted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(row["lat_e7"], 375_666_000);
    let times: Vec<i64> = history(&stack.app.pool, &id)
        .await
        .iter()
        .map(|h| h["device_time_ms"].as_i64().unwrap())
        .collect();
    assert!(
        !times.is_empty() && times.iter().all(|t| *t >= T0 + 2_000),
        "only frames after the registration count: {times:?}"
    );
}
