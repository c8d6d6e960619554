//! Delivering `scooter.downlink.v1` to the connections of this gateway.
//!
//! Every gateway instance reads every downlink command (its own consumer group,
//! `fleetlog-gateway-<gateway id>`) and keeps it in the device's mailbox until the device's
//! connection here takes it or it expires. Scaling limit: with several gateways each one
//! holds every command until expiry, and each reports `undeliverable` for devices it did
//! not hold; consumers of `scooter.replies.v1` take the first final outcome per command
//! (`answered`/`rejected`/`timed_out` from the gateway that held the device win over
//! another instance's `undeliverable`). Commands in a gateway's memory are lost if it
//! crashes; the ride saga's own timeout covers that.

use std::sync::Arc;
use std::time::Duration;

use fleetlog_runtime::settings::KafkaSettings;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::ReplyOutcome;
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
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = sweep.tick() => {
                for request in gw.router.take_expired(now_ms()) {
                    let text = "device not connected to this gateway before expiry".to_owned();
                    gw.report(request, ReplyOutcome::Undeliverable, Some(text));
                }
            }
            message = consumer.recv() => match message {
                Ok(message) => {
                    route(&gw, &codec, &message, started_ms).await;
                    let _ = consumer.commit_message(&message, CommitMode::Async);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "downlink consumer error");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

async fn route(gw: &Gateway, codec: &WireCodec, message: &BorrowedMessage<'_>, started_ms: i64) {
    let Some(headers) = message.headers() else {
        tracing::warn!(
            offset = message.offset(),
            "downlink record without headers skipped"
        );
        return;
    };
    let envelope = match Envelope::from_headers(headers) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(offset = message.offset(), error = %err, "downlink envelope invalid");
            return;
        }
    };
    let command = match codec
        .decode(topics::DOWNLINK, message.payload().unwrap_or_default())
        .await
    {
        Ok((command, _)) => command,
        Err(err) => {
            tracing::warn!(offset = message.offset(), error = %err, "downlink value undecodable");
            return;
        }
    };
    // Commands that had already expired before this process started were someone else's
    // to report (or nobody's to deliver): replaying history must not re-report them.
    if command.expires_at_ms < started_ms {
        return;
    }
    let local = gw.router.route(DownlinkRequest { command, envelope });
    tracing::debug!(local, "downlink command routed");
}
