//! Omni per-connection state: the IMEI of the first frame, ACKs and command replies.

use bytes::Bytes;

use super::ACKED_TYPES;
use super::command::{KeyReply, ack, follow_up};
use super::message::{Message, parse_message};
use crate::protocol::{
    CommandReply, Frame, FrameKind, Inbound, Login, SessionError, learn_device_id,
};

/// Handshake state of one Omni connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    imei: Option<String>,
}

impl Session {
    /// The IMEI of the first frame.
    pub fn device_id(&self) -> Option<&str> {
        self.imei.as_deref()
    }

    /// Handles one frame. Every device message is appended; L0/L1/W0/E0/E1 get an ACK;
    /// R0/L0/L1, V0 and a D0 with trigger 0 are command replies.
    pub fn on_frame(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        if frame.kind != FrameKind::OmniMessage {
            return Err(SessionError::WrongProtocol);
        }
        let msg = parse_message(&frame.raw)?;
        if !msg.is_from_device() {
            return Err(SessionError::Malformed(
                crate::protocol::DecodeError::Malformed("server frame sent by a device"),
            ));
        }
        let mut inbound = Inbound {
            append: true,
            ..Inbound::default()
        };
        if learn_device_id(&mut self.imei, &msg.imei)? {
            let login = Login {
                device_id: msg.imei.clone(),
                accept_reply: None,
                reject_reply: None,
            };
            inbound.login = Some(login);
        }
        if ACKED_TYPES.contains(&msg.msg_type.as_str()) {
            inbound.ack = ack(&msg).ok();
        }
        inbound.command_reply = command_reply(&msg);
        Ok(inbound)
    }
}

fn command_reply(msg: &Message) -> Option<CommandReply> {
    let first = msg.params.first().map(String::as_str);
    let (success, follow) = match (msg.msg_type.as_str(), first) {
        ("R0", _) => {
            let follow = KeyReply::from_message(msg).and_then(|k| follow_up(&k).ok());
            (Some(follow.is_some()), follow)
        }
        ("L0" | "L1", status) => (Some(status == Some("0")), None),
        ("D0", Some("0")) => (Some(true), None),
        // Beep / find-me answer (`V0,<mode>`).
        ("V0", _) => (Some(true), None),
        _ => return None,
    };
    Some(CommandReply {
        correlation: None,
        command_type: Some(msg.msg_type.clone()),
        payload: Bytes::from(msg.params.join(",")),
        success,
        follow_up: follow,
    })
}
