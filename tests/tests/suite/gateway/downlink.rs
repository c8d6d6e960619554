//! Downlink commands: an unlock reaches the connected device and its reply is on the log, a
//! command for a device that never connects becomes undeliverable, and the simulator's own
//! Teltonika, Omni and GT06 scooters obey an unlock.

use std::time::Duration;

use fleetlog_ingest::protocol::teltonika;
use fleetlog_schemas::events::{DownlinkCommand, DownlinkKind, ReplyOutcome};
use fleetlog_schemas::topics;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{imei, send_downlink, teltonika_login};

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

/// A command appended while no gateway ran, expired before one started (a gateway
/// restarting through a burst of late commands): the gateway that starts still stores it
/// and its sweep gives it its one final outcome, `TIMED_OUT` (it never reached a gateway in
/// time), instead of skipping it as history.
#[tokio::test]
async fn a_command_that_expired_while_no_gateway_ran_still_gets_its_outcome() {
    let app = spawn_app().await;
    let (registry, _stop_registry) = fleetlog_tests::stack::registry(&app).await;
    fleetlog_schemas::registration::register_all(&registry)
        .await
        .unwrap();
    let device = imei();
    let command = DownlinkCommand {
        command_id: uuid::Uuid::now_v7(),
        device_id: device.clone(),
        vehicle_id: None,
        kind: DownlinkKind::Locate,
        params: None,
        expires_at_ms: chrono::Utc::now().timestamp_millis() - 1_000,
    };
    let codec = fleetlog_schemas::wire::WireCodec::new(&registry);
    let payload = codec.encode(topics::DOWNLINK, &command).await.unwrap();
    let envelope =
        fleetlog_schemas::envelope::Envelope::new_root(topics::DOWNLINK, "/fleetlog/test", &device);
    let producer = fleetlog_runtime::kafka::producer(&app.settings.kafka, "test").unwrap();
    fleetlog_tests::log::append(
        &producer,
        topics::DOWNLINK.name(),
        &device,
        &payload,
        &envelope,
    )
    .await;

    let services = Services::start(&app, |_| {}).await;
    let seen = outcomes(&services, &device, command.command_id, 1).await;
    assert_eq!(seen.first(), Some(&ReplyOutcome::TimedOut), "{seen:?}");
    // This test's gateway stored it, finished it and reported it (the shared broker's other
    // gateways, in other tests' databases, may report it in theirs too).
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let row: Option<(Option<String>, Option<String>, bool)> = sqlx::query_as(
            "SELECT outcome, outcome_by, reported_at IS NOT NULL FROM pending_downlink \
             WHERE command_id = $1",
        )
        .bind(command.command_id)
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        let gateway = &services.settings.gateway.gateway_id;
        if row == Some((Some("TIMED_OUT".into()), Some(gateway.clone()), true)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "recorded: {row:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
