//! A stopping gateway appends the disconnects of its devices before it returns: session
//! events are tasks shutdown waits for, and the producer is flushed, so a process that
//! exits right after its gateway returned loses none.

use std::net::SocketAddr;
use std::time::Duration;

use fleetlog_ingest::gateway::{self, Listeners};
use fleetlog_runtime::Settings;
use fleetlog_runtime::producer::Producer;
use fleetlog_schemas::events::{DisconnectReason, SessionChange, SessionEvent};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{imei, read_exact_within, records};

/// A gateway on a runtime of its own, dropped as soon as the gateway returns (as a
/// process's runtime is when `main` returns): tasks nobody waited for die with it.
fn gateway_in_its_own_runtime(
    settings: Settings,
    stop: CancellationToken,
) -> (SocketAddr, std::thread::JoinHandle<anyhow::Result<()>>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new()?;
        let result = runtime.block_on(async move {
            let listeners = Listeners::bind(&settings.gateway).await?;
            addr_tx.send(listeners.teltonika.local_addr()?)?;
            let producer = Producer::from_settings(&settings.kafka, "test-gateway")?;
            let codec = std::sync::Arc::new(WireCodec::new(&settings.schema_registry_url));
            gateway::run(&settings, listeners, producer, codec, stop).await
        });
        drop(runtime);
        result
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the gateway listens");
    (addr, thread)
}

#[tokio::test]
async fn a_stopping_gateway_appends_the_disconnects_of_its_devices_before_it_returns() {
    let app = spawn_app().await;
    let device = imei();
    // The registry (and the schemas) of the test; its own gateway stays unused.
    let services = Services::start(&app, |_| {}).await;
    let mut settings = services.settings.clone();
    settings.gateway.gateway_id = fleetlog_tests::unique_name("gw-stopping");
    settings.gateway.known_devices = device.clone();
    // Records wait in the producer's queue for a second: a disconnect only gets out if
    // shutdown waits for it (or flushes), not by winning a race with the runtime's end.
    settings.kafka.linger_ms = 1000;
    for addr in [
        &mut settings.gateway.teltonika_addr,
        &mut settings.gateway.omni_addr,
        &mut settings.gateway.gt06_addr,
    ] {
        *addr = "127.0.0.1:0".into();
    }
    let stop = CancellationToken::new();
    let (teltonika, gateway) = gateway_in_its_own_runtime(settings, stop.clone());

    let mut stream = TcpStream::connect(teltonika).await.unwrap();
    let login = fleetlog_ingest::protocol::teltonika::device::login_packet(&device).unwrap();
    stream.write_all(&login).await.unwrap();
    let accepted = read_exact_within(&mut stream, 1, Duration::from_secs(30)).await;
    assert_eq!(accepted, Some(vec![0x01]));
    let packet = fleetlog_ingest::protocol::teltonika::device::codec8e_packet(&records(1)).unwrap();
    stream.write_all(&packet).await.unwrap();
    let ack = read_exact_within(&mut stream, 4, Duration::from_secs(30)).await;
    assert_eq!(ack, Some(vec![0, 0, 0, 1]));

    stop.cancel();
    tokio::task::spawn_blocking(move || gateway.join())
        .await
        .unwrap()
        .expect("the gateway thread ends")
        .expect("the gateway stops cleanly");

    let messages = read_key_until(
        &services.settings,
        topics::SESSIONS.name(),
        &device,
        Duration::from_secs(30),
        |m| m.len() >= 2,
    )
    .await;
    let codec = services.codec();
    let mut changes = Vec::new();
    for message in &messages {
        let payload = rdkafka::Message::payload(message).unwrap();
        let (event, _): (SessionEvent, _) = codec.decode(topics::SESSIONS, payload).await.unwrap();
        changes.push(event.change);
    }
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        matches!(changes[0], SessionChange::SessionConnected(_)),
        "{changes:?}"
    );
    assert!(
        matches!(&changes[1], SessionChange::SessionDisconnected(d)
            if d.reason == DisconnectReason::GatewayShutdown && d.frames == 2),
        "{changes:?}"
    );
}
