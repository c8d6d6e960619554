//! Teltonika per-connection state: IMEI login, then ACKed AVL packets and Codec 12 replies.

use super::{CODEC_8, CODEC_8E, CODEC_12, CODEC_16, codec12, data_ack, login_reply, parse_login};
use crate::protocol::{
    CommandReply, Frame, FrameKind, Inbound, Login, SessionError, learn_device_id,
};

/// Handshake state of one Teltonika connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    imei: Option<String>,
}

impl Session {
    /// The IMEI from the login packet.
    pub fn device_id(&self) -> Option<&str> {
        self.imei.as_deref()
    }

    /// Handles one frame: login, keep-alive, AVL data (ACK = record count) or a Codec 12
    /// reply (appended, never ACKed).
    pub fn on_frame(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        match frame.kind {
            FrameKind::TeltonikaLogin => self.login(frame),
            FrameKind::TeltonikaKeepAlive => Ok(Inbound::default()),
            FrameKind::TeltonikaPacket { codec_id } => {
                if self.imei.is_none() {
                    return Err(SessionError::NotLoggedIn);
                }
                Ok(packet(frame, codec_id))
            }
            _ => Err(SessionError::WrongProtocol),
        }
    }

    fn login(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        let imei =
            parse_login(&frame.raw).map_err(|e| SessionError::InvalidLogin(e.to_string()))?;
        learn_device_id(&mut self.imei, &imei)?;
        Ok(Inbound {
            login: Some(Login {
                device_id: imei,
                accept_reply: Some(login_reply(true)),
                reject_reply: Some(login_reply(false)),
            }),
            ..Inbound::default()
        })
    }
}

fn packet(frame: &Frame, codec_id: u8) -> Inbound {
    let mut inbound = Inbound {
        append: true,
        ..Inbound::default()
    };
    if !frame.is_ok() {
        return inbound;
    }
    match codec_id {
        CODEC_8 | CODEC_8E | CODEC_16 => inbound.ack = record_count(&frame.raw).map(data_ack),
        CODEC_12 => {
            inbound.command_reply = codec12::parse(&frame.raw)
                .ok()
                .filter(|m| m.message_type == codec12::TYPE_RESPONSE)
                .map(|m| CommandReply {
                    payload: m.payload,
                    ..CommandReply::default()
                });
        }
        _ => {}
    }
    inbound
}

/// N1 when it equals N2; otherwise `None` (no ACK, the device re-sends).
fn record_count(raw: &[u8]) -> Option<u32> {
    let first = *raw.get(9)?;
    let second = *raw.get(raw.len().checked_sub(5)?)?;
    (first == second).then_some(u32::from(first))
}
