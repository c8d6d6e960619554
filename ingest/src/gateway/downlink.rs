//! Delivering `scooter.downlink.v1` to the connection holding each command's device.
//!
//! Every gateway instance reads every downlink command (its own consumer group,
//! `fleetlog-gateway-<gateway id>`) and stores it in `pending_downlink`
//! ([`super::directory`]; the first insert wins, the others change nothing), before its
//! offset is committed. Only a gateway with a connection holding the device puts it in that
//! device's mailbox; the others stay silent. A device that logs in (here or on any other
//! gateway, also after a restart) gets the commands still pending for it from the table.
//! Each command is written to a device only after a delivery claim for the session the
//! directory names, and gets exactly one final outcome: the first recorded in the table
//! (the connection's answer, rejection or timeout, or the sweep's `undeliverable` /
//! `timed_out` at expiry, which every gateway runs and exactly one wins per command). The
//! sweep also relays final outcomes recorded but never reported on the log (an outbox:
//! [`super::directory`]).

use std::sync::Arc;
use std::time::Duration;

use fleetlog_runtime::settings::KafkaSettings;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use tokio_util::sync::CancellationToken;

use super::Gateway;
use super::publish::now_ms;
use super::router::DownlinkRequest;

const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// A command read after a (re)start is still stored when it expired at most this long
/// before the start, ms: a gateway restarting through a burst of commands decided late
/// (expired on arrival) must not leave them without an outcome. Longer than any restart,
/// far shorter than the 7 days finished commands are kept (so a stored one is never
/// reported twice).
const REPORT_EXPIRED_WITHIN_MS: i64 = 10 * 60 * 1000;

/// Consume downlink commands and route them until `shutdown`.
///
/// # Errors
/// When the consumer cannot be created or subscribed.
pub async fn run(
    gw: Arc<Gateway>,
    kafka: &KafkaSettings,
    codec: Arc<WireCodec>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let group = format!("fleetlog-gateway-{}", gw.settings.gateway_id);
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(kafka, &group).create()?;
    consumer.subscribe(&[topics::DOWNLINK.name()])?;
    let started_ms = now_ms();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = sweep.tick() => sweep_expired(&gw).await,
            message = consumer.recv() => match message {
                Ok(message) => {
                    if route(&gw, &codec, &message, started_ms, &shutdown).await {
                        let _ = consumer.commit_message(&message, CommitMode::Async);
                    } else {
                        // Stopping before the command was stored: the next start reads it again.
                        return Ok(());
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "downlink consumer error");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// Finish what expired (the table's sweep; mailboxes here only drop their copies), and
/// relay the final outcomes recorded but not reported (their gateway died before the
/// broker acknowledged, or the append failed): each is appended again as recorded, the
/// same event (envelope id, value) as the lost or merely slow append, which consumers
/// dedupe by id.
async fn sweep_expired(gw: &Arc<Gateway>) {
    let dropped = gw.router.take_expired(now_ms());
    if dropped > 0 {
        tracing::debug!(dropped, "expired commands left the mailboxes");
    }
    match gw.directory.sweep().await {
        Ok(swept) => {
            for recorded in swept {
                gw.append_final(recorded, false);
            }
        }
        Err(err) => tracing::warn!(error = %err, "pending downlink commands not swept"),
    }
    match gw.directory.unreported().await {
        Ok(unreported) => {
            for recorded in unreported {
                tracing::info!(command = %recorded.request.command.command_id,
                    event = %recorded.event_id, "relaying a final outcome recorded but not reported");
                gw.append_final(recorded, true);
            }
        }
        Err(err) => tracing::warn!(error = %err, "unreported downlink outcomes not relayed"),
    }
}

/// Store the command and hand it to the connection holding its device here, if any;
/// `false` only when `shutdown` came before it could be stored.
async fn route(
    gw: &Gateway,
    codec: &WireCodec,
    message: &BorrowedMessage<'_>,
    started_ms: i64,
    shutdown: &CancellationToken,
) -> bool {
    let Some(headers) = message.headers() else {
        tracing::warn!(
            offset = message.offset(),
            "downlink record without headers skipped"
        );
        return true;
    };
    let envelope = match Envelope::from_headers(headers) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(offset = message.offset(), error = %err, "downlink envelope invalid");
            return true;
        }
    };
    let command = match codec
        .decode(topics::DOWNLINK, message.payload().unwrap_or_default())
        .await
    {
        Ok((command, _)) => command,
        Err(err) => {
            tracing::warn!(offset = message.offset(), error = %err, "downlink value undecodable");
            return true;
        }
    };
    // Commands that expired long before this process started are history (a gateway with
    // a new id replays the topic): not reported again. Those that expired shortly before
    // are stored all the same (a no-op when another gateway stored them): they may have
    // arrived while every gateway was restarting, and the sweep then gives them their one
    // final outcome.
    if command.expires_at_ms < started_ms - REPORT_EXPIRED_WITHIN_MS {
        return true;
    }
    let request = DownlinkRequest { command, envelope };
    let mut backoff = Duration::from_millis(100);
    while let Err(err) = gw.directory.record(&request).await {
        tracing::warn!(command = %request.command.command_id, error = %err,
            "downlink command not stored yet: retrying");
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    let local = gw.router.route(request);
    tracing::debug!(local, "downlink command routed");
    true
}
