//! Reporting downlink outcomes on `scooter.replies.v1`.
//!
//! `DELIVERED` is appended as it is (the delivery was claimed before the write; it is not
//! final and not kept). A final outcome is first recorded in `pending_downlink`
//! ([`super::directory::Directory::finish`], or the sweep), with its reply's text, time
//! and envelope id; then [`Gateway::append_final`] appends that reply and marks it reported
//! once the broker acknowledged. The sweep's relay (outcomes recorded but never reported:
//! the gateway was killed in between, the append failed) goes through the same
//! [`Gateway::append_final`], so a relayed reply is the same event as the one that was lost
//! or merely slow: the same envelope id, source, time and value bytes, which consumers
//! dedupe by id.

use std::sync::Arc;

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DeviceReply, ReplyOutcome};
use fleetlog_schemas::topics;

use super::directory::Final;
use super::publish::{now_ms, source_of};
use super::router::DownlinkRequest;
use super::{Gateway, metrics};

impl Gateway {
    /// Report a downlink outcome (in a task shutdown waits for): `DELIVERED` is appended
    /// as it is; a final outcome only when [`super::directory::Directory::finish`] records
    /// it as the command's first.
    pub(super) fn report(
        self: &Arc<Self>,
        request: DownlinkRequest,
        outcome: ReplyOutcome,
        text: Option<String>,
    ) {
        if outcome == ReplyOutcome::Delivered {
            self.append_delivered(request);
            return;
        }
        let gw = self.clone();
        self.tasks.spawn(async move {
            let command = request.command.command_id;
            match gw.directory.finish(request, outcome, text).await {
                Ok(Some(recorded)) => gw.append_final(recorded, false),
                Ok(None) => tracing::debug!(%command, ?outcome,
                    "command already finished: outcome not reported again"),
                Err(err) => tracing::warn!(%command, error = %err,
                    "outcome not recorded (the sweep finishes the command at its expiry)"),
            }
        });
    }

    /// Append `DELIVERED` (not final, not recorded) and count it.
    fn append_delivered(&self, request: DownlinkRequest) {
        let outcome = ReplyOutcome::Delivered;
        count(outcome, false);
        let (command, envelope) = (request.command, request.envelope);
        let envelope = Envelope::child(
            &envelope,
            topics::REPLIES,
            self.publisher.source(),
            &command.device_id,
        );
        let reply = DeviceReply {
            command_id: command.command_id,
            device_id: command.device_id,
            outcome,
            reply_text: None,
            at_ms: now_ms(),
        };
        let publisher = self.publisher.clone();
        self.tasks.spawn(async move {
            if let Err(err) = publisher.reply(&envelope, &reply).await {
                tracing::warn!(command = %reply.command_id, error = %err, "downlink outcome not appended");
            }
        });
    }

    /// Append a recorded final outcome exactly as recorded (envelope id, source and time,
    /// value), then mark it reported once the broker acknowledged (in a task shutdown waits
    /// for). `relayed`: appended again by the sweep's relay rather than by the gateway
    /// that recorded it — possibly a duplicate of a slow append, the same event either way.
    pub(super) fn append_final(self: &Arc<Self>, recorded: Final, relayed: bool) {
        count(recorded.outcome, relayed);
        let Final {
            request,
            outcome,
            text,
            at_ms,
            event_id,
            recorded_by,
        } = recorded;
        let (command, cause) = (request.command, request.envelope);
        let envelope = Envelope::child_with_id(
            &cause,
            event_id,
            topics::REPLIES,
            source_of(&recorded_by),
            &command.device_id,
        );
        let envelope = Envelope {
            time: chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or(envelope.time),
            ..envelope
        };
        let reply = DeviceReply {
            command_id: command.command_id,
            device_id: command.device_id,
            outcome,
            reply_text: text,
            at_ms,
        };
        let gw = self.clone();
        self.tasks.spawn(async move {
            if let Err(err) = gw.publisher.reply(&envelope, &reply).await {
                tracing::warn!(command = %reply.command_id, relayed, error = %err,
                    "downlink outcome not appended (the sweep appends it again)");
                return;
            }
            if let Err(err) = gw.directory.reported(reply.command_id).await {
                tracing::warn!(command = %reply.command_id, error = %err,
                    "downlink outcome appended but not marked reported (the sweep may append the same event again)");
            }
        });
    }
}

/// Count an outcome appended (or appended again by the relay).
fn count(outcome: ReplyOutcome, relayed: bool) {
    let label = format!("{outcome:?}").to_lowercase();
    let name = if relayed {
        metrics::DOWNLINK_OUTCOMES_RELAYED
    } else {
        metrics::DOWNLINK_OUTCOMES
    };
    ::metrics::counter!(name, "outcome" => label).increment(1);
}
