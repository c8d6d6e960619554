//! The downlink command a connection is working on: one at a time per device, matched to
//! the device's reply (Teltonika: the only pending one; Omni: R0 → key → L0/L1; GT06: the
//! server flag echoed in the 0x15 reply).

use bytes::Bytes;
use fleetlog_schemas::events::{DownlinkKind, ReplyOutcome};

use super::router::DownlinkRequest;
use crate::protocol::{CommandContext, CommandError, CommandReply, DeviceCommand, Protocol};

/// The protocol-neutral command for a downlink record.
///
/// # Errors
/// A custom command without parameters.
pub(crate) fn device_command(
    protocol: Protocol,
    kind: DownlinkKind,
    params: Option<&str>,
) -> Result<DeviceCommand, String> {
    Ok(match kind {
        DownlinkKind::Unlock => DeviceCommand::Unlock,
        DownlinkKind::Lock => DeviceCommand::Lock,
        // Operators "locate" a scooter on the street by making it beep and flash; GT06
        // trackers cannot beep, so they report their position instead.
        DownlinkKind::Locate if protocol == Protocol::Gt06 => DeviceCommand::Locate,
        DownlinkKind::Locate => DeviceCommand::Beep,
        DownlinkKind::Custom => match params {
            Some(text) if !text.is_empty() => DeviceCommand::Custom(text.to_owned()),
            _ => return Err("custom command without parameters".into()),
        },
    })
}

/// What a device reply means for the command in flight.
#[derive(Debug)]
pub(crate) struct ReplyMatch {
    /// The finished command (`None` while a follow-up step is pending).
    pub(crate) finished: Option<(DownlinkRequest, ReplyOutcome, String)>,
    /// Bytes to send next (Omni L0/L1 after the key).
    pub(crate) follow_up: Option<Bytes>,
}

/// One connection's command state.
#[derive(Debug, Default)]
pub(crate) struct CommandState {
    current: Option<(DownlinkRequest, u32)>,
    next_request_id: u32,
    serial: u16,
}

impl CommandState {
    /// Whether a command is waiting for its reply.
    pub(crate) fn busy(&self) -> bool {
        self.current.is_some()
    }

    /// Encode `request` for the device and make it the command in flight.
    ///
    /// # Errors
    /// Invalid parameters (e.g. `,`/`#`/newline in an Omni parameter) or a command the
    /// protocol cannot express: report it `rejected`, nothing is sent.
    pub(crate) fn start(
        &mut self,
        protocol: Protocol,
        device_id: &str,
        request: &DownlinkRequest,
    ) -> Result<Bytes, String> {
        let command = device_command(
            protocol,
            request.command.kind,
            request.command.params.as_deref(),
        )?;
        self.next_request_id = self.next_request_id.wrapping_add(1).max(1);
        self.serial = self.serial.wrapping_add(1);
        let ctx = CommandContext {
            request_id: self.next_request_id,
            serial: self.serial,
            user_id: 1,
            unix_time_s: u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(0),
            key_valid_s: 0,
        };
        match crate::protocol::encode_command(protocol, device_id, &command, &ctx) {
            Ok(bytes) => {
                self.current = Some((request.clone(), self.next_request_id));
                Ok(bytes)
            }
            Err(err) => Err(describe(&err)),
        }
    }

    /// A reply frame arrived; `None` if it answers nothing in flight.
    pub(crate) fn on_reply(
        &mut self,
        protocol: Protocol,
        reply: &CommandReply,
    ) -> Option<ReplyMatch> {
        let (_, request_id) = self.current.as_ref()?;
        if protocol == Protocol::Gt06 && reply.correlation.is_some_and(|c| c != *request_id) {
            return None;
        }
        if let Some(follow_up) = &reply.follow_up {
            return Some(ReplyMatch {
                finished: None,
                follow_up: Some(follow_up.clone()),
            });
        }
        let (request, _) = self.current.take()?;
        let outcome = if reply.success == Some(false) {
            ReplyOutcome::Rejected
        } else {
            ReplyOutcome::Answered
        };
        Some(ReplyMatch {
            finished: Some((request, outcome, reply.text().into_owned())),
            follow_up: None,
        })
    }

    /// The command in flight, if it expired at `now_ms` without an answer.
    pub(crate) fn take_expired(&mut self, now_ms: i64) -> Option<DownlinkRequest> {
        let expired = self.current.as_ref()?.0.command.expires_at_ms <= now_ms;
        if expired {
            self.current.take().map(|(r, _)| r)
        } else {
            None
        }
    }

    /// The command in flight, when the connection closes.
    pub(crate) fn take_current(&mut self) -> Option<DownlinkRequest> {
        self.current.take().map(|(r, _)| r)
    }

    /// When the command in flight expires.
    pub(crate) fn deadline_ms(&self) -> Option<i64> {
        self.current.as_ref().map(|(r, _)| r.command.expires_at_ms)
    }
}

fn describe(err: &CommandError) -> String {
    format!("not sent: {err}")
}
