//! Admission and takeover: an unknown device is refused under the reject policy and
//! quarantined by default; a login with an online device's id from another address is
//! refused, while a reconnect from its address or after silence takes over.

use std::time::Duration;

use fleetlog_ingest::protocol::teltonika;
use fleetlog_schemas::events::{DownlinkCommand, DownlinkKind, FrameStatus};
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{
    closed_by_gateway, frames_of, imei, read_exact_within, records, send_downlink, teltonika_login,
    teltonika_login_from,
};

#[tokio::test]
async fn an_unknown_teltonika_device_is_refused_under_the_reject_policy() {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| {
        s.gateway.admission = fleetlog_runtime::settings::AdmissionPolicy::Reject;
    })
    .await;
    let mut stream = TcpStream::connect(services.teltonika).await.unwrap();
    stream
        .write_all(&teltonika::device::login_packet(&imei()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        read_exact_within(&mut stream, 1, Duration::from_secs(10)).await,
        Some(vec![0])
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "closed after the refusal");
}

#[tokio::test]
async fn unknown_devices_are_quarantined_by_default_and_their_frames_marked() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let device = imei();
    let mut stream = teltonika_login(&services, &device).await;
    stream
        .write_all(&teltonika::device::codec8e_packet(&records(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        read_exact_within(&mut stream, 4, Duration::from_secs(30)).await,
        Some(vec![0, 0, 0, 1])
    );
    let frames = frames_of(&services, &device, 2).await;
    assert!(
        frames
            .iter()
            .all(|f| f.status == FrameStatus::UnknownDevice),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_login_with_an_online_devices_id_from_another_address_is_refused_and_the_device_keeps_its_downlink()
 {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.takeover_silence_ms = 60_000).await;
    let device = imei();
    let (mut genuine, reply) = teltonika_login_from(&services, &device, [127, 0, 0, 1]).await;
    assert_eq!(reply, Some(vec![0x01]));

    let (mut hijacker, reply) = teltonika_login_from(&services, &device, [127, 0, 0, 2]).await;
    assert_eq!(reply, Some(vec![0x00]), "the hijacker's login is refused");
    assert!(closed_by_gateway(&mut hijacker).await);

    let command = DownlinkCommand {
        command_id: uuid::Uuid::now_v7(),
        device_id: device.clone(),
        vehicle_id: None,
        kind: DownlinkKind::Unlock,
        params: None,
        expires_at_ms: chrono::Utc::now().timestamp_millis() + 30_000,
    };
    send_downlink(&services, &command).await;
    let mut buf = vec![0; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), genuine.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let message = teltonika::codec12::parse(&buf[..n]).unwrap();
    assert_eq!(
        message.text(),
        "sclockctrl 0",
        "the genuine device still gets it"
    );
}

#[tokio::test]
async fn a_device_reconnecting_from_its_address_or_after_its_old_connection_fell_silent_is_accepted()
 {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.takeover_silence_ms = 1_000).await;
    let device = imei();
    let (_first, reply) = teltonika_login_from(&services, &device, [127, 0, 0, 1]).await;
    assert_eq!(reply, Some(vec![0x01]));
    let (_second, reply) = teltonika_login_from(&services, &device, [127, 0, 0, 1]).await;
    assert_eq!(
        reply,
        Some(vec![0x01]),
        "the same address replaces its old connection"
    );

    // A new network (another address): refused while the old connection is fresh,
    // accepted once it has been silent for the takeover time.
    let started = std::time::Instant::now();
    let mut refusals = 0;
    loop {
        let (_stream, reply) = teltonika_login_from(&services, &device, [127, 0, 0, 3]).await;
        if reply == Some(vec![0x01]) {
            break;
        }
        refusals += 1;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never accepted: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(refusals >= 1, "accepted while the old connection was fresh");
    assert!(started.elapsed() >= Duration::from_millis(500));
}
