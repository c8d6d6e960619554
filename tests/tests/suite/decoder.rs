//! The decoder: frames become telemetry with deterministic ids and a traceable chain;
//! undecodable frames go to the DLQ and the rest keep flowing. Each test has its own
//! broker, so the topics hold only its records.

use std::time::Duration;

use fleetlog_ingest::protocol::{Record, teltonika};
use fleetlog_runtime::kafka;
use fleetlog_runtime::settings::AdmissionPolicy;
use fleetlog_schemas::dlq::header;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{FrameStatus, Protocol, RawFrame, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::stack::Services;
use fleetlog_tests::unique_name;
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn start_decoder(services: &Services) -> CancellationToken {
    let token = CancellationToken::new();
    let settings = services.settings.clone();
    let stop = token.clone();
    tokio::spawn(async move { fleetlog_ingest::decoder::run(&settings, stop).await });
    token
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
        odometer_m: Some(12_000 + i as u64),
        ..Record::default()
    }
}

async fn append_frame(services: &Services, device: &str, raw: Vec<u8>) -> Envelope {
    let envelope = Envelope::new_root(topics::FRAMES, "/fleetlog/test", device);
    let frame = RawFrame {
        frame_id: envelope.id,
        gateway_id: "test".into(),
        protocol: Protocol::Teltonika,
        remote_addr: "127.0.0.1:1".into(),
        received_at_ms: 1_764_000_100_000,
        raw,
        status: FrameStatus::Ok,
        device_id: Some(device.to_owned()),
    };
    let payload = services
        .codec()
        .encode(topics::FRAMES, &frame)
        .await
        .unwrap();
    let producer = kafka::producer(&services.settings.kafka, "test").unwrap();
    fleetlog_tests::log::append(
        &producer,
        topics::FRAMES.name(),
        device,
        &payload,
        &envelope,
    )
    .await;
    envelope
}

async fn telemetry_of(
    services: &Services,
    device: &str,
    want: usize,
) -> Vec<(Envelope, Telemetry)> {
    let messages: Vec<OwnedMessage> = read_key_until(
        &services.settings,
        topics::TELEMETRY.name(),
        device,
        Duration::from_secs(40),
        |m| m.len() >= want,
    )
    .await;
    let codec = services.codec();
    let mut out = Vec::new();
    for m in messages {
        let envelope = Envelope::from_headers(m.headers().unwrap()).unwrap();
        out.push((
            envelope,
            codec
                .decode(topics::TELEMETRY, m.payload().unwrap())
                .await
                .unwrap()
                .0,
        ));
    }
    out
}

#[tokio::test]
async fn a_frame_becomes_one_telemetry_event_per_record_with_the_frame_as_cause() {
    let (_broker, app) = fleetlog_tests::broker::isolated_app().await;
    let services = Services::start(&app, |s| s.gateway.admission = AdmissionPolicy::Open).await;
    let _decoder = start_decoder(&services);
    let device = "356307042441013";
    let packet = teltonika::device::codec8e_packet(&[record(0), record(1), record(2)]).unwrap();
    let frame = append_frame(&services, device, packet.to_vec()).await;

    let events = telemetry_of(&services, device, 3).await;
    assert_eq!(events.len(), 3);
    for (i, (envelope, telemetry)) in events.iter().enumerate() {
        assert_eq!(telemetry.record_index, i as i32);
        assert_eq!(telemetry.frame_id, frame.id);
        assert_eq!(
            telemetry.device_time_ms,
            1_764_000_000_000 + i as i64 * 1000
        );
        assert_eq!(telemetry.lat_e7, 375_665_000 + i as i32 * 10);
        assert_eq!(telemetry.battery_pct, Some(77));
        assert_eq!(telemetry.speed_kmh, 14);
        assert!(telemetry.position_valid);
        assert_eq!(envelope.correlation_id, frame.id);
        assert_eq!(envelope.causation_id, Some(frame.id));
        assert_eq!(
            envelope.id,
            Uuid::new_v5(&frame.id, format!("record-{i}").as_bytes())
        );
    }
}

#[tokio::test]
async fn a_frame_with_an_unknown_codec_goes_to_the_dlq_and_other_frames_keep_flowing() {
    let (_broker, app) = fleetlog_tests::broker::isolated_app().await;
    let services = Services::start(&app, |s| s.gateway.admission = AdmissionPolicy::Open).await;
    let _decoder = start_decoder(&services);
    let mut unknown = teltonika::device::codec8e_packet(&[record(0)])
        .unwrap()
        .to_vec();
    unknown[8] = 0x99; // codec id; the decoder must refuse it with a reason
    let crc_at = unknown.len() - 4;
    let crc = fleetlog_ingest::protocol::crc16_ibm(&unknown[8..crc_at]);
    unknown[crc_at..].copy_from_slice(&u32::from(crc).to_be_bytes());
    let bad = append_frame(&services, "350000000000001", unknown).await;
    let good_packet = teltonika::device::codec8e_packet(&[record(5)]).unwrap();
    append_frame(&services, "350000000000002", good_packet.to_vec()).await;

    let dlq = read_key_until(
        &services.settings,
        &topics::FRAMES.dlq(),
        "350000000000001",
        Duration::from_secs(40),
        |m| !m.is_empty(),
    )
    .await;
    assert_eq!(dlq.len(), 1);
    let headers = dlq[0].headers().unwrap();
    let get = |name: &str| {
        headers
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert!(
        get(header::ERROR).unwrap().contains("codec"),
        "{:?}",
        get(header::ERROR)
    );
    assert_eq!(
        get("ce_id"),
        Some(bad.id.to_string()),
        "original headers kept"
    );
    assert_eq!(telemetry_of(&services, "350000000000002", 1).await.len(), 1);
}

#[tokio::test]
async fn decoding_the_same_frames_again_produces_the_same_event_ids() {
    let (_broker, app) = fleetlog_tests::broker::isolated_app().await;
    let services = Services::start(&app, |s| s.gateway.admission = AdmissionPolicy::Open).await;
    let device = "356307042441099";
    let packet = teltonika::device::codec8e_packet(&[record(0), record(1)]).unwrap();
    append_frame(&services, device, packet.to_vec()).await;
    let first = start_decoder(&services);
    let once = telemetry_of(&services, device, 2).await;
    first.cancel();
    // A second decoder with a fresh group replays the frame, as after a crash before commit.
    let mut again = services.settings.clone();
    again.kafka.client_id = unique_name("replay");
    let token = CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move { fleetlog_ingest::decoder::run(&again, stop).await });
    let twice = telemetry_of(&services, device, 4).await;
    token.cancel();
    assert_eq!(twice.len(), 4);
    let ids: Vec<_> = twice.iter().map(|(e, _)| e.id).collect();
    assert_eq!(ids[0..2], ids[2..4]);
    assert_eq!(
        ids[0..2],
        once.iter().map(|(e, _)| e.id).collect::<Vec<_>>()[..]
    );
}
