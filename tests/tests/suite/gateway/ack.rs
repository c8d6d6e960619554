//! ACK only after the append: a Teltonika device gets its record count and the same bytes
//! are on `scooter.frames.v1`, Omni and GT06 devices get their own ACKs, and with the broker
//! down no ACK goes out until the re-sent frame is stored.

use std::time::Duration;

use fleetlog_ingest::protocol::{gt06, omni, teltonika};
use fleetlog_runtime::kafka;
use fleetlog_schemas::events::FrameStatus;
use fleetlog_schemas::topics;
use fleetlog_tests::broker::TestBroker;
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{frames_of, imei, read_exact_within, records, teltonika_login};

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
