//! The gateway directory and downlink routing across gateway processes on one broker and
//! one database: a command reaches only the gateway holding its device (the others report
//! nothing), a command for an offline device waits in `pending_downlink` through a gateway
//! restart and is delivered where the device logs in, a device that moves to another
//! gateway gets its commands there, and every command has exactly one final outcome — also
//! when the gateway that recorded it never got it appended (the sweep relays it, as the
//! same event).
//!
//! Other tests' gateways share the broker (not the database): they see these commands too
//! and, in their own deployments, report them. Outcomes are therefore counted per source:
//! only this test's gateways, which share the directory, must agree on one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fleetlog_ingest::protocol::teltonika;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DownlinkCommand, DownlinkKind, ReplyOutcome};
use fleetlog_schemas::topics;
use fleetlog_tests::log::read_key_until;
use fleetlog_tests::spawn_app;
use fleetlog_tests::stack::Services;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{imei, read_exact_within, send_downlink};

const WAIT: Duration = Duration::from_secs(40);

async fn login_at(addr: SocketAddr, device: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&teltonika::device::login_packet(device).unwrap())
        .await
        .unwrap();
    let reply = read_exact_within(&mut stream, 1, Duration::from_secs(30)).await;
    assert_eq!(reply, Some(vec![0x01]), "login accepted");
    stream
}

fn command(device: &str, ttl_ms: i64) -> DownlinkCommand {
    DownlinkCommand {
        command_id: uuid::Uuid::now_v7(),
        device_id: device.to_owned(),
        vehicle_id: None,
        kind: DownlinkKind::Unlock,
        params: None,
        expires_at_ms: chrono::Utc::now().timestamp_millis() + ttl_ms,
    }
}

/// The device reads its command (Codec 12 `sclockctrl 0`) and answers it.
async fn obey(stream: &mut TcpStream) {
    let mut buf = vec![0; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .expect("a command within 30 s")
        .unwrap();
    let message = teltonika::codec12::parse(&buf[..n]).unwrap();
    assert_eq!(message.text(), "sclockctrl 0");
    stream
        .write_all(&teltonika::device::command_response("sclockctrl: unlocked").unwrap())
        .await
        .unwrap();
}

/// Poll until the directory names `gateway` as the holder of `device`.
async fn wait_for_holder(pool: &PgPool, device: &str, gateway: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT gateway_id FROM device_sessions \
             WHERE device_id = $1 AND disconnected_at IS NULL",
        )
        .bind(device)
        .fetch_optional(pool)
        .await
        .unwrap();
        if holder.as_deref() == Some(gateway) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "directory holder of {device}: {holder:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll until `command` is in `pending_downlink` (some gateway stored it).
async fn wait_for_stored(pool: &PgPool, command: uuid::Uuid) {
    let deadline = Instant::now() + WAIT;
    loop {
        let stored: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT command_id FROM pending_downlink WHERE command_id = $1")
                .bind(command)
                .fetch_optional(pool)
                .await
                .unwrap();
        if stored.is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "command {command} never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The recorded (final outcome, delivering gateway, finishing gateway) of `command`.
async fn recorded(
    pool: &PgPool,
    command: uuid::Uuid,
) -> (Option<String>, Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT outcome, delivered_by, outcome_by FROM pending_downlink WHERE command_id = $1",
    )
    .bind(command)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Poll until the final outcome of `command` is marked reported (its append acknowledged).
async fn wait_for_reported(pool: &PgPool, command: uuid::Uuid) {
    let deadline = Instant::now() + WAIT;
    loop {
        let reported: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT reported_at FROM pending_downlink WHERE command_id = $1")
                .bind(command)
                .fetch_one(pool)
                .await
                .unwrap();
        if reported.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "outcome of {command} never reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The outcomes of `command` on `scooter.replies.v1` from the gateways `ids`, with the
/// gateway that appended each, once `done` says they are enough (or after 40 s).
async fn outcomes(
    services: &Services,
    device: &str,
    command: uuid::Uuid,
    ids: &[&str],
    done: impl Fn(&[(ReplyOutcome, String)]) -> bool,
) -> Vec<(ReplyOutcome, String)> {
    let codec = services.codec();
    let sources: Vec<String> = ids
        .iter()
        .map(|id| format!("/fleetlog/gateway/{id}"))
        .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let messages = read_key_until(
            &services.settings,
            topics::REPLIES.name(),
            device,
            Duration::from_secs(2),
            |_| false,
        )
        .await;
        let mut seen = Vec::new();
        for message in messages {
            let envelope = Envelope::from_message(&message).unwrap();
            let Some(gateway) = sources.iter().position(|s| *s == envelope.source) else {
                continue;
            };
            let payload = rdkafka::Message::payload(&message).unwrap();
            let reply = codec.decode(topics::REPLIES, payload).await.unwrap().0;
            if reply.command_id == command {
                seen.push((reply.outcome, ids[gateway].to_owned()));
            }
        }
        if done(&seen) || Instant::now() >= deadline {
            return seen;
        }
    }
}

fn finals(seen: &[(ReplyOutcome, String)]) -> Vec<&(ReplyOutcome, String)> {
    seen.iter()
        .filter(|(o, _)| *o != ReplyOutcome::Delivered)
        .collect()
}

/// `DELIVERED` and `ANSWERED` from `b`, nothing else (in either order: each is appended by
/// a task of its own, and only the final one is recorded first).
fn assert_only_b_delivered_and_answered(seen: &[(ReplyOutcome, String)], b: &str) {
    assert_eq!(seen.len(), 2, "{seen:?}");
    for outcome in [ReplyOutcome::Delivered, ReplyOutcome::Answered] {
        assert!(seen.contains(&(outcome, b.to_owned())), "{seen:?}");
    }
}

#[tokio::test]
async fn a_command_reaches_only_the_gateway_holding_its_device_and_the_others_report_nothing() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let a = services.settings.gateway.gateway_id.clone();
    let b = services.another_gateway().await;
    let b_id = b.settings.gateway.gateway_id.clone();
    let device = imei();
    let mut stream = login_at(b.teltonika, &device).await;
    wait_for_holder(&app.pool, &device, &b_id).await;

    let sent = command(&device, 5_000);
    send_downlink(&services, &sent).await;
    obey(&mut stream).await;
    // A marker for a device that never connects, expiring after the command: once its
    // `UNDELIVERABLE` is out, every gateway swept past the command's expiry too.
    let absent = imei();
    let marker = command(&absent, 6_000);
    send_downlink(&services, &marker).await;
    let marked = outcomes(&services, &absent, marker.command_id, &[&a, &b_id], |s| {
        !s.is_empty()
    })
    .await;
    assert_eq!(finals(&marked).len(), 1, "{marked:?}");

    let seen = outcomes(&services, &device, sent.command_id, &[&a, &b_id], |s| {
        s.len() >= 2
    })
    .await;
    assert_only_b_delivered_and_answered(&seen, &b_id);
    let row = recorded(&app.pool, sent.command_id).await;
    assert_eq!(
        row,
        (Some("ANSWERED".into()), Some(b_id.clone()), Some(b_id))
    );
    wait_for_reported(&app.pool, sent.command_id).await;
}

/// A command that reaches the gateways already expired (decided long before, for example
/// across a processor handover) for a device that is connected is `TIMED_OUT`, not
/// `UNDELIVERABLE`: the device was there, the command was late.
#[tokio::test]
async fn a_command_that_expired_before_delivery_while_its_device_was_connected_times_out() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let a = services.settings.gateway.gateway_id.clone();
    let device = imei();
    let _stream = login_at(services.teltonika, &device).await;
    wait_for_holder(&app.pool, &device, &a).await;

    let late = command(&device, 0);
    send_downlink(&services, &late).await;
    let seen = outcomes(&services, &device, late.command_id, &[&a], |s| {
        !s.is_empty()
    })
    .await;
    assert_eq!(seen, vec![(ReplyOutcome::TimedOut, a.clone())]);
    let row = recorded(&app.pool, late.command_id).await;
    assert_eq!(row, (Some("TIMED_OUT".into()), None, Some(a)));
}

#[tokio::test]
async fn a_command_for_an_offline_device_survives_a_gateway_restart_and_reaches_it_on_another_gateway()
 {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let first = services.settings.gateway.gateway_id.clone();
    let a = services.another_gateway().await;
    let a_id = a.settings.gateway.gateway_id.clone();
    let device = imei();
    let sent = command(&device, 25_000);
    send_downlink(&services, &sent).await;
    wait_for_stored(&app.pool, sent.command_id).await;
    a.stop().await;

    let b = services.another_gateway().await;
    let b_id = b.settings.gateway.gateway_id.clone();
    let mut stream = login_at(b.teltonika, &device).await;
    obey(&mut stream).await;

    let ids = [first.as_str(), a_id.as_str(), b_id.as_str()];
    let seen = outcomes(&services, &device, sent.command_id, &ids, |s| {
        !finals(s).is_empty()
    })
    .await;
    assert!(
        seen.contains(&(ReplyOutcome::Delivered, b_id.clone())),
        "{seen:?}"
    );
    assert_eq!(
        finals(&seen),
        vec![&(ReplyOutcome::Answered, b_id.clone())],
        "exactly one final outcome, from B: {seen:?}"
    );
    let row = recorded(&app.pool, sent.command_id).await;
    assert_eq!(
        row,
        (Some("ANSWERED".into()), Some(b_id.clone()), Some(b_id))
    );
}

#[tokio::test]
async fn a_device_that_moves_to_another_gateway_gets_its_commands_there_and_not_on_the_old_one() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    let a = services.settings.gateway.gateway_id.clone();
    let b = services.another_gateway().await;
    let b_id = b.settings.gateway.gateway_id.clone();
    let device = imei();
    // The old connection on A stays open (A still believes it holds the device: a
    // half-open connection after a network change), the device logs in on B.
    let old = login_at(services.teltonika, &device).await;
    wait_for_holder(&app.pool, &device, &a).await;
    let mut stream = login_at(b.teltonika, &device).await;
    wait_for_holder(&app.pool, &device, &b_id).await;

    let sent = command(&device, 25_000);
    send_downlink(&services, &sent).await;
    obey(&mut stream).await;
    let seen = outcomes(&services, &device, sent.command_id, &[&a, &b_id], |s| {
        !finals(s).is_empty()
    })
    .await;
    assert_only_b_delivered_and_answered(&seen, &b_id);
    let row = recorded(&app.pool, sent.command_id).await;
    assert_eq!(
        row,
        (Some("ANSWERED".into()), Some(b_id.clone()), Some(b_id))
    );
    let mut buf = [0u8; 64];
    assert!(
        old.try_read(&mut buf).is_err(),
        "nothing was written to the old connection on A"
    );
}

/// The replies to `command` on `scooter.replies.v1` (key `device`), with their envelopes,
/// read from the beginning for `within`, or until `done` says they are enough.
async fn replies_to(
    services: &Services,
    device: &str,
    command: uuid::Uuid,
    within: Duration,
    done: impl Fn(usize) -> bool,
) -> Vec<(Envelope, fleetlog_schemas::events::DeviceReply)> {
    let codec = services.codec();
    let messages = read_key_until(
        &services.settings,
        topics::REPLIES.name(),
        device,
        within,
        |m| done(m.len()),
    )
    .await;
    let mut seen = Vec::new();
    for message in messages {
        let envelope = Envelope::from_message(&message).unwrap();
        let payload = rdkafka::Message::payload(&message).unwrap();
        let reply = codec.decode(topics::REPLIES, payload).await.unwrap().0;
        if reply.command_id == command {
            seen.push((envelope, reply));
        }
    }
    seen
}

/// The state a gateway leaves when it is killed between recording a final outcome and
/// the broker's acknowledgement of its append: recorded (with the reply's text, time and
/// event id), never reported. A running gateway's sweep relays it, exactly once, as the
/// same event, and marks it reported.
#[tokio::test]
async fn an_outcome_recorded_but_never_appended_is_relayed_once_by_the_sweep_as_the_same_event() {
    let app = spawn_app().await;
    let services = Services::start(&app, |_| {}).await;
    // A device that never connects, a command expiring long after the test: nothing but
    // the relay gives it an outcome.
    let device = imei();
    let sent = command(&device, 120_000);
    send_downlink(&services, &sent).await;
    wait_for_stored(&app.pool, sent.command_id).await;

    // Recorded by a gateway that is gone ("killed" before its append was acknowledged).
    let dead = format!("gw-killed-{}", uuid::Uuid::now_v7().simple());
    let event_id = uuid::Uuid::now_v7();
    let at_ms = chrono::Utc::now().timestamp_millis() - 60_000;
    let updated = sqlx::query(
        "UPDATE pending_downlink SET outcome = 'REJECTED', outcome_by = $2, \
         outcome_text = 'relay me', outcome_at_ms = $3, outcome_event_id = $4, \
         finished_at = now() - interval '1 minute', reported_at = NULL, relayed_at = NULL \
         WHERE command_id = $1 AND outcome IS NULL",
    )
    .bind(sent.command_id)
    .bind(&dead)
    .bind(at_ms)
    .bind(event_id)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(updated.rows_affected(), 1, "the command was still open");
    let cause: uuid::Uuid =
        sqlx::query_scalar("SELECT envelope_id FROM pending_downlink WHERE command_id = $1")
            .bind(sent.command_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    // Appended by the running gateway's sweep, then marked reported. (Only replies in the
    // dead gateway's name count: other tests' gateways share the broker.)
    let source = format!("/fleetlog/gateway/{dead}");
    let seen = replies_to(&services, &device, sent.command_id, WAIT, |n| n >= 1).await;
    let seen: Vec<_> = seen
        .into_iter()
        .filter(|(e, _)| e.source == source)
        .collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    wait_for_reported(&app.pool, sent.command_id).await;
    let relayed: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT relayed_at FROM pending_downlink WHERE command_id = $1")
            .bind(sent.command_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(relayed.is_some(), "claimed by the relay (relayed_at)");

    // Well past the relay's retry interval (5 s): still exactly one append.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let seen = replies_to(
        &services,
        &device,
        sent.command_id,
        Duration::from_secs(10),
        |_| false,
    )
    .await;
    let seen: Vec<_> = seen
        .into_iter()
        .filter(|(e, _)| e.source == source)
        .collect();
    assert_eq!(seen.len(), 1, "appended exactly once: {seen:?}");
    let (envelope, reply) = &seen[0];
    assert_eq!(envelope.id, event_id, "the recorded event id");
    assert_eq!(envelope.causation_id, Some(cause));
    assert_eq!(envelope.time.timestamp_millis(), at_ms);
    assert_eq!(reply.outcome, ReplyOutcome::Rejected);
    assert_eq!(reply.reply_text.as_deref(), Some("relay me"));
    assert_eq!(reply.at_ms, at_ms);
    assert_eq!(reply.device_id, device);
}
