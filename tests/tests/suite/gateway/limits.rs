//! Limits and hostile clients: silent and garbage clients are cut off, the connection limit
//! and the per-address cap refuse new connections while the others keep working, and
//! trickled bytes of an unfinished frame do not keep a connection alive.

use std::time::Duration;

use fleetlog_ingest::protocol::teltonika;
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{
    closed_by_gateway, imei, read_exact_within, records, teltonika_login, teltonika_login_from,
};

#[tokio::test]
async fn silent_and_garbage_clients_are_cut_off_while_a_real_device_keeps_working() {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.handshake_timeout_ms = 1000).await;
    let device = imei();
    let mut good = teltonika_login(&services, &device).await;

    let mut silent = TcpStream::connect(services.teltonika).await.unwrap();
    let mut garbage = TcpStream::connect(services.teltonika).await.unwrap();
    let junk = vec![b'A'; 10 * 1024 * 1024];
    let sent = tokio::time::timeout(Duration::from_secs(20), garbage.write_all(&junk)).await;
    assert!(
        matches!(sent, Ok(Err(_))),
        "the gateway stops reading and closes: {sent:?}"
    );

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "silent client closed after the handshake timeout"
    );

    good.write_all(&teltonika::device::codec8e_packet(&records(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        read_exact_within(&mut good, 4, Duration::from_secs(30)).await,
        Some(vec![0, 0, 0, 1])
    );
}

#[tokio::test]
async fn at_the_connection_limit_new_connections_are_refused_and_the_others_keep_working() {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.max_connections = 1).await;
    let device = imei();
    let mut first = teltonika_login(&services, &device).await;
    let mut second = TcpStream::connect(services.teltonika).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), second.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "refused: {closed:?}"
    );
    first
        .write_all(&teltonika::device::codec8e_packet(&records(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        read_exact_within(&mut first, 4, Duration::from_secs(30)).await,
        Some(vec![0, 0, 0, 1])
    );
}

#[tokio::test]
async fn one_address_cannot_open_more_than_its_connections_and_others_still_connect() {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.max_connections_per_address = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let (stream, reply) = teltonika_login_from(&services, &imei(), [127, 0, 0, 4]).await;
        assert_eq!(reply, Some(vec![0x01]));
        held.push(stream);
    }
    let (mut third, reply) = teltonika_login_from(&services, &imei(), [127, 0, 0, 4]).await;
    assert_eq!(
        reply, None,
        "the third connection from the address is closed unanswered"
    );
    assert!(closed_by_gateway(&mut third).await);
    let (_other, reply) = teltonika_login_from(&services, &imei(), [127, 0, 0, 5]).await;
    assert_eq!(reply, Some(vec![0x01]), "another address connects");
    drop(held.pop());
    // Its slot comes back once the gateway has seen the close.
    let started = std::time::Instant::now();
    loop {
        let (_s, reply) = teltonika_login_from(&services, &imei(), [127, 0, 0, 4]).await;
        if reply == Some(vec![0x01]) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "slot never freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn trickled_bytes_of_an_unfinished_frame_do_not_keep_a_connection_alive_but_frames_do() {
    let app = spawn_app().await;
    let services = Services::start(&app, |s| s.gateway.idle_timeout_ms = 1_000).await;
    let packet = teltonika::device::codec8e_packet(&records(1)).unwrap();

    // One byte every 200 ms: never a whole frame.
    let mut trickler = teltonika_login(&services, &imei()).await;
    let started = std::time::Instant::now();
    let mut cut_off = false;
    for byte in packet.iter().take(packet.len() - 1) {
        if trickler.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_millis(200), trickler.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "still open after {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Whole frames every 400 ms keep a connection open past the idle timeout.
    let mut device = teltonika_login(&services, &imei()).await;
    for _ in 0..6 {
        device.write_all(&packet).await.unwrap();
        assert_eq!(
            read_exact_within(&mut device, 4, Duration::from_secs(30)).await,
            Some(vec![0, 0, 0, 1])
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}
