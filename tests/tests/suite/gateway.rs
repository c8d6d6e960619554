//! The gateway over real TCP against the real broker: ACK only after the append, the raw
//! bytes on `scooter.frames.v1`, no ACK for bad frames, downlink delivery and outcomes,
//! hostile clients cut off without harming others.

use std::time::Duration;

use fleetlog_ingest::protocol::{Record, gt06, omni, teltonika};
use fleetlog_runtime::kafka;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    DownlinkCommand, DownlinkKind, FrameStatus, RawFrame, ReplyOutcome,
};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::broker::TestBroker;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::stack::Services;
use fleetlog_tests::{spawn_app, unique_name};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn imei() -> String {
    // 15 digits, unique per test run.
    let n = u64::from_str_radix(&unique_name("x")[2..14], 16).unwrap() % 1_000_000_000_000;
    format!("359{n:012}")
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

#[tokio::test]
async fn a_teltonika_device_gets_its_record_count_and_the_same_bytes_are_on_the_log() {
    let app = spawn_app().await;
    let device = imei();
    let known = device.clone();
    let services = Services::start(&app, |s| s.gateway.known_devices = known).await;
    let mut stream = teltonika_login(&services, &device).await;

    let packet = teltonika::device::codec8e_packet(&records(3)).unwrap();
    stream.write_all(&packet).await.unwrap();
    let ack = read_exact_within(&mut stream, 4, Duration::from_secs(30)).await;
    assert_eq!(ack, Some(vec![0, 0, 0, 3]));

    let mut bad = packet.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xFF;
    stream.write_all(&bad).await.unwrap();
    assert_eq!(
        read_exact_within(&mut stream, 1, Duration::from_secs(2)).await,
        None,
        "no ACK"
    );

    let frames = frames_of(&services, &device, 3).await;
    let data: Vec<_> = frames.iter().filter(|f| f.raw.len() > 20).collect();
    assert_eq!(data.len(), 2, "{frames:?}");
    assert_eq!(data[0].raw, packet.to_vec());
    assert_eq!(data[0].status, FrameStatus::Ok);
    assert_eq!(data[1].raw, bad);
    assert_eq!(data[1].status, FrameStatus::BadChecksum);
    assert!(
        frames
            .iter()
            .all(|f| f.device_id.as_deref() == Some(device.as_str()))
    );
}

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
async fn omni_and_gt06_devices_get_their_own_acks_after_the_append() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;

    let device = imei();
    let mut omni_stream = TcpStream::connect(services.omni).await.unwrap();
    omni_stream
        .write_all(&omni::device::checkin(&device, 3900, 80, 20).unwrap())
        .await
        .unwrap();
    let alarm = omni::device::alarm(&device, 1).unwrap();
    omni_stream.write_all(&alarm).await.unwrap();
    let expected = format!("*SCOS,OM,{device},W0#\n");
    let mut ack = vec![0; expected.len() + 2];
    tokio::time::timeout(Duration::from_secs(30), omni_stream.read_exact(&mut ack))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&ack[..2], &[0xFF, 0xFF]);
    assert_eq!(String::from_utf8_lossy(&ack[2..]), expected);
    let frames = frames_of(&services, &device, 2).await;
    assert_eq!(frames.len(), 2);
    assert!(String::from_utf8_lossy(&frames[1].raw).contains(",W0,"));

    let terminal = format!("0{}", &imei()[..15]);
    let mut gt = TcpStream::connect(services.gt06).await.unwrap();
    gt.write_all(&gt06::device::login(&terminal, 1).unwrap())
        .await
        .unwrap();
    let login_reply = gt06::reply(0x01, 1);
    let got = read_exact_within(&mut gt, login_reply.len(), Duration::from_secs(30)).await;
    assert_eq!(got.as_deref(), Some(&login_reply[..]));
    gt.write_all(&gt06::device::heartbeat(&records(1)[0], 2).unwrap())
        .await
        .unwrap();
    let hb_reply = gt06::reply(0x13, 2);
    let got = read_exact_within(&mut gt, hb_reply.len(), Duration::from_secs(30)).await;
    assert_eq!(got.as_deref(), Some(&hb_reply[..]));
    let terminal_id = frames_of_any_key(&services, &terminal).await;
    assert!(
        terminal_id >= 2,
        "login and heartbeat stored under the terminal id"
    );
}

async fn frames_of_any_key(services: &Services, key: &str) -> usize {
    let trimmed = key.trim_start_matches('0');
    for candidate in [key, trimmed] {
        let got = frames_of(services, candidate, 2).await;
        if !got.is_empty() {
            return got.len();
        }
    }
    0
}

#[tokio::test]
async fn with_the_broker_down_no_ack_goes_out_and_the_resent_frame_is_stored_and_acked() {
    let app = spawn_app().await;
    let mut broker = TestBroker::start();
    let mut settings = app.settings.clone();
    settings.kafka.brokers = broker.address();
    let admin = kafka::admin(&settings.kafka).unwrap();
    kafka::create_topics(&admin, &topics::all(1, 1), 1)
        .await
        .unwrap();
    let app = fleetlog_tests::TestApp {
        settings,
        pool: app.pool.clone(),
        database: app.database.clone(),
    };
    let services = Services::start(&app, |_| {}).await;
    let device = imei();
    let mut stream = teltonika_login(&services, &device).await;

    broker.kill();
    let packet = teltonika::device::codec8e_packet(&records(2)).unwrap();
    stream.write_all(&packet).await.unwrap();
    assert_eq!(
        read_exact_within(&mut stream, 1, Duration::from_secs(3)).await,
        None,
        "no ACK while down"
    );

    broker.restart();
    stream.write_all(&packet).await.unwrap(); // the device re-sends
    let acks = read_exact_within(&mut stream, 8, Duration::from_secs(60)).await;
    assert_eq!(
        acks,
        Some(vec![0, 0, 0, 2, 0, 0, 0, 2]),
        "both sends ACKed once stored"
    );
    let frames = frames_of(&services, &device, 3).await;
    let copies = frames.iter().filter(|f| f.raw == packet.to_vec()).count();
    assert_eq!(copies, 2, "stored once per send");
}

async fn send_downlink(services: &Services, command: &DownlinkCommand) {
    let codec = WireCodec::new(&services.settings.schema_registry_url);
    let payload = codec.encode(topics::DOWNLINK, command).await.unwrap();
    let envelope = Envelope::new_root(topics::DOWNLINK, "/fleetlog/test", &command.device_id);
    let producer = kafka::producer(&services.settings.kafka, "test").unwrap();
    let key = &command.device_id;
    fleetlog_tests::log::append(&producer, topics::DOWNLINK.name(), key, &payload, &envelope).await;
}

async fn outcomes(
    services: &Services,
    device: &str,
    command: uuid::Uuid,
    want: usize,
) -> Vec<ReplyOutcome> {
    let codec = services.codec();
    let messages = read_key_until(
        &services.settings,
        topics::REPLIES.name(),
        device,
        Duration::from_secs(40),
        |m| m.len() >= want,
    )
    .await;
    let mut seen = Vec::new();
    for message in messages {
        let payload = rdkafka::Message::payload(&message).unwrap();
        let reply = codec.decode(topics::REPLIES, payload).await.unwrap().0;
        if reply.command_id == command {
            seen.push(reply.outcome);
        }
    }
    seen
}

#[tokio::test]
async fn a_downlink_unlock_reaches_the_connected_device_and_its_reply_is_on_the_log() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let device = imei();
    let mut stream = teltonika_login(&services, &device).await;
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
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let message = teltonika::codec12::parse(&buf[..n]).unwrap();
    assert_eq!(message.text(), "sclockctrl 0");
    stream
        .write_all(&teltonika::device::command_response("sclockctrl: unlocked").unwrap())
        .await
        .unwrap();

    let seen = outcomes(&services, &device, command.command_id, 2).await;
    assert!(seen.contains(&ReplyOutcome::Delivered), "{seen:?}");
    assert!(seen.contains(&ReplyOutcome::Answered), "{seen:?}");
}

#[tokio::test]
async fn a_command_for_a_device_that_never_connects_becomes_undeliverable_after_expiry() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let device = imei();
    let command = DownlinkCommand {
        command_id: uuid::Uuid::now_v7(),
        device_id: device.clone(),
        vehicle_id: None,
        kind: DownlinkKind::Lock,
        params: None,
        expires_at_ms: chrono::Utc::now().timestamp_millis() + 3_000,
    };
    send_downlink(&services, &command).await;
    let seen = outcomes(&services, &device, command.command_id, 1).await;
    assert_eq!(seen.first(), Some(&ReplyOutcome::Undeliverable));
}

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

/// The simulator's own scooter (not a hand-written peer) logs in, gets an unlock from
/// `scooter.downlink.v1`, obeys it and answers in its protocol; the gateway puts the
/// answer on `scooter.replies.v1`.
async fn simulated_scooter_obeys_an_unlock(
    protocol: fleetlog_ingest::protocol::Protocol,
    device: &str,
) {
    use fleetlog_ingest::protocol::LockState;
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let addr = match protocol {
        fleetlog_ingest::protocol::Protocol::Teltonika => services.teltonika,
        fleetlog_ingest::protocol::Protocol::Omni => services.omni,
        fleetlog_ingest::protocol::Protocol::Gt06 => services.gt06,
    }
    .to_string();
    let mut scooter = fleetlog_ingest::simulator::connect(protocol, &addr, device)
        .await
        .unwrap();
    scooter.login().await.unwrap();
    assert!(scooter.send_report().await.unwrap().is_ok());
    assert_eq!(scooter.state().lock, LockState::Locked);
    let device_id = scooter.device_id().to_owned();
    let command = DownlinkCommand {
        command_id: uuid::Uuid::now_v7(),
        device_id: device_id.clone(),
        vehicle_id: None,
        kind: DownlinkKind::Unlock,
        params: None,
        expires_at_ms: chrono::Utc::now().timestamp_millis() + 30_000,
    };
    send_downlink(&services, &command).await;
    // Omni unlocks in two steps (R0 → key, then L0), the others in one.
    for _ in 0..2 {
        if scooter.state().lock == LockState::Unlocked {
            break;
        }
        let next = scooter.next_command(Duration::from_secs(30)).await.unwrap();
        scooter
            .obey(next.expect("a command from the gateway"))
            .await
            .unwrap();
    }
    assert_eq!(
        scooter.state().lock,
        LockState::Unlocked,
        "the scooter unlocked"
    );
    let seen = outcomes(&services, &device_id, command.command_id, 2).await;
    assert!(seen.contains(&ReplyOutcome::Delivered), "{seen:?}");
    assert!(seen.contains(&ReplyOutcome::Answered), "{seen:?}");
}

#[tokio::test]
async fn a_simulated_teltonika_scooter_unlocks_on_a_downlink_command_and_its_reply_is_logged() {
    simulated_scooter_obeys_an_unlock(fleetlog_ingest::protocol::Protocol::Teltonika, &imei())
        .await;
}

#[tokio::test]
async fn a_simulated_omni_scooter_unlocks_through_the_key_exchange_and_its_reply_is_logged() {
    simulated_scooter_obeys_an_unlock(fleetlog_ingest::protocol::Protocol::Omni, &imei()).await;
}

#[tokio::test]
async fn a_simulated_gt06_scooter_unlocks_with_the_server_flag_echoed_and_its_reply_is_logged() {
    simulated_scooter_obeys_an_unlock(fleetlog_ingest::protocol::Protocol::Gt06, &imei()).await;
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
