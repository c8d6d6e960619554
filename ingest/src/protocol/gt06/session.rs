//! GT06 per-connection state: 0x01 login, then echoed ACKs and 0x15 command replies.

use super::{
    ALARM, COMMAND_REPLY, HEARTBEAT, LOGIN, parse_command_reply, parse_packet, reply, terminal_id,
};
use crate::protocol::{
    CommandReply, Frame, FrameKind, Inbound, Login, SessionError, learn_device_id,
};

/// Handshake state of one GT06 connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    terminal_id: Option<String>,
}

impl Session {
    /// The BCD-decoded terminal id of the login packet.
    pub fn device_id(&self) -> Option<&str> {
        self.terminal_id.as_deref()
    }

    /// Handles one packet: login (reply on accept), heartbeat/alarm (ACK echo after the
    /// append), 0x15 command reply (carries the server flag), other data (append only).
    pub fn on_frame(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        let FrameKind::Gt06Packet { protocol_number } = frame.kind else {
            return Err(SessionError::WrongProtocol);
        };
        if protocol_number == LOGIN {
            return self.login(frame);
        }
        if self.terminal_id.is_none() {
            return Err(SessionError::NotLoggedIn);
        }
        let mut inbound = Inbound {
            append: true,
            ..Inbound::default()
        };
        let Ok(packet) = parse_packet(&frame.raw) else {
            return Ok(inbound);
        };
        match protocol_number {
            HEARTBEAT | ALARM => inbound.ack = Some(reply(protocol_number, packet.serial)),
            COMMAND_REPLY => {
                inbound.command_reply =
                    parse_command_reply(packet.content)
                        .ok()
                        .map(|c| CommandReply {
                            correlation: Some(c.server_flag),
                            payload: c.text,
                            ..CommandReply::default()
                        });
            }
            _ => {}
        }
        Ok(inbound)
    }

    fn login(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        let packet =
            parse_packet(&frame.raw).map_err(|e| SessionError::InvalidLogin(e.to_string()))?;
        let id =
            terminal_id(packet.content).map_err(|e| SessionError::InvalidLogin(e.to_string()))?;
        learn_device_id(&mut self.terminal_id, &id)?;
        Ok(Inbound {
            login: Some(Login {
                device_id: id,
                accept_reply: Some(reply(LOGIN, packet.serial)),
                reject_reply: None,
            }),
            ..Inbound::default()
        })
    }
}
