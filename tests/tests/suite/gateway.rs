//! The gateway over real TCP against the real broker: ACK only after the append, the raw
//! bytes on `scooter.frames.v1`, no ACK for bad frames, downlink delivery and outcomes,
//! hostile clients cut off without harming others.
//!
//! Here: the device ids, records, logins and log reads the tests share; the tests, by
//! concern, in the submodules.

mod ack;
mod admission;
mod directory;
mod downlink;
mod limits;
mod shutdown;

use std::time::Duration;

use fleetlog_ingest::protocol::{Record, teltonika};
use fleetlog_runtime::kafka;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DownlinkCommand, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::stack::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn imei() -> String {
    fleetlog_tests::unique_imei("359")
}

fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            message: "avl".into(),
            device_time_ms: Some(1_764_000_000_000 + i as i64 * 1000),
            lat_e7: Some(375_665_000 + i as i32),
            lon_e7: Some(1_269_780_000),
            speed_kmh: Some(12.0),
            heading_deg: Some(90),
            satellites: Some(9),
            position_valid: true,
            battery_pct: Some(80),
            ..Record::default()
        })
        .collect()
}

async fn read_exact_within(stream: &mut TcpStream, n: usize, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0; n];
    match tokio::time::timeout(wait, stream.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Some(buf),
        _ => None,
    }
}

async fn frames_of(services: &Services, device: &str, want: usize) -> Vec<RawFrame> {
    let codec = services.codec();
    let messages = read_key_until(
        &services.settings,
        topics::FRAMES.name(),
        device,
        Duration::from_secs(30),
        |m| m.len() >= want,
    )
    .await;
    let mut frames = Vec::new();
    for message in messages {
        let payload = rdkafka::Message::payload(&message).unwrap();
        frames.push(codec.decode(topics::FRAMES, payload).await.unwrap().0);
    }
    frames
}

async fn teltonika_login(services: &Services, device: &str) -> TcpStream {
    let mut stream = TcpStream::connect(services.teltonika).await.unwrap();
    stream
        .write_all(&teltonika::device::login_packet(device).unwrap())
        .await
        .unwrap();
    let reply = read_exact_within(&mut stream, 1, Duration::from_secs(30)).await;
    assert_eq!(reply, Some(vec![0x01]), "login accepted");
    stream
}

async fn send_downlink(services: &Services, command: &DownlinkCommand) {
    let codec = WireCodec::new(&services.settings.schema_registry_url);
    let payload = codec.encode(topics::DOWNLINK, command).await.unwrap();
    let envelope = Envelope::new_root(topics::DOWNLINK, "/fleetlog/test", &command.device_id);
    let producer = kafka::producer(&services.settings.kafka, "test").unwrap();
    let key = &command.device_id;
    fleetlog_tests::log::append(&producer, topics::DOWNLINK.name(), key, &payload, &envelope).await;
}

/// A Teltonika login for `device` from the local address `from`; the stream and the
/// one-byte reply (`None` when the connection closed without one).
async fn teltonika_login_from(
    services: &Services,
    device: &str,
    from: [u8; 4],
) -> (TcpStream, Option<Vec<u8>>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(services.teltonika).await.unwrap();
    stream
        .write_all(&teltonika::device::login_packet(device).unwrap())
        .await
        .unwrap();
    let reply = read_exact_within(&mut stream, 1, Duration::from_secs(30)).await;
    (stream, reply)
}

/// Whether the gateway closed `stream` (EOF within 10 s).
async fn closed_by_gateway(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}
