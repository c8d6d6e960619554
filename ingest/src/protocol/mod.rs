//! Device protocols without I/O. Each works on byte buffers and is tested with the
//! published frames of `docs/reference/device-protocol-vectors.json`.
//!
//! - Gateway: [`next_frame`] cuts frames from a connection's buffer, a [`Session`] per
//!   connection turns each [`Frame`] into an [`Inbound`] (login, append, ACK, command
//!   reply), and [`encode_command`] builds the downlink bytes of a [`DeviceCommand`].
//! - Decoder: [`decode_records`] turns one stored raw frame into [`Record`]s.
//! - Simulator: the `device` module of each protocol builds device-side frames.

mod command;
mod crc;
mod cursor;
mod error;
mod frame;
mod record;
mod time;

pub mod gt06;
pub mod omni;
pub mod teltonika;

use std::fmt;
use std::str::FromStr;

use bytes::{Bytes, BytesMut};

pub use command::{CommandContext, CommandReply, DeviceCommand, Inbound, Login};
pub use crc::{crc16_ibm, crc16_x25};
pub use error::{CommandError, DecodeError, EncodeError, FrameError, SessionError};
pub use frame::{Frame, FrameKind, FrameStatus};
pub use record::{Alarm, IoValue, LockState, Record};

/// The device protocols the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Teltonika Codec 8 / 8E / 16 data with Codec 12 commands.
    Teltonika,
    /// Omni `*SCOR` / `*SCOS` text protocol.
    Omni,
    /// Concox / Jimi GT06 binary protocol.
    Gt06,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 3] = [Self::Teltonika, Self::Omni, Self::Gt06];

    /// Stable lower-case name: `"teltonika"`, `"omni"`, `"gt06"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teltonika => "teltonika",
            Self::Omni => "omni",
            Self::Gt06 => "gt06",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of `teltonika`, `omni`, `gt06`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?} (expected teltonika, omni or gt06)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

/// Cuts the next frame from `buf`.
///
/// `Ok(None)`: more bytes are needed (then `buf.len() < max_frame`). `Ok(Some(frame))`:
/// exactly one frame was consumed. `Err`: oversize or garbage; cut the connection.
pub fn next_frame(
    protocol: Protocol,
    buf: &mut BytesMut,
    max_frame: usize,
) -> Result<Option<Frame>, FrameError> {
    match protocol {
        Protocol::Teltonika => teltonika::next_frame(buf, max_frame),
        Protocol::Omni => omni::next_frame(buf, max_frame),
        Protocol::Gt06 => gt06::next_frame(buf, max_frame),
    }
}

/// Decodes one stored raw frame into records, without any connection state.
///
/// Frames without telemetry (logins, keep-alives, command replies) give an empty list.
pub fn decode_records(protocol: Protocol, raw: &[u8]) -> Result<Vec<Record>, DecodeError> {
    match protocol {
        Protocol::Teltonika => teltonika::decode_records(raw),
        Protocol::Omni => omni::decode_records(raw),
        Protocol::Gt06 => gt06::decode_records(raw),
    }
}

/// Encodes a downlink command for a device. For Omni Unlock/Lock this is the first step
/// (R0); the device's key answer yields the follow-up in [`CommandReply::follow_up`].
pub fn encode_command(
    protocol: Protocol,
    device_id: &str,
    command: &DeviceCommand,
    ctx: &CommandContext,
) -> Result<Bytes, CommandError> {
    match protocol {
        Protocol::Teltonika => teltonika::encode_command(command),
        Protocol::Omni => omni::encode_command(device_id, command, ctx),
        Protocol::Gt06 => gt06::encode_command(command, ctx),
    }
}

/// Per-connection handshake state for any protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Teltonika session.
    Teltonika(teltonika::Session),
    /// Omni session.
    Omni(omni::Session),
    /// GT06 session.
    Gt06(gt06::Session),
}

impl Session {
    /// A fresh session for a new connection.
    pub fn new(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Teltonika => Self::Teltonika(teltonika::Session::default()),
            Protocol::Omni => Self::Omni(omni::Session::default()),
            Protocol::Gt06 => Self::Gt06(gt06::Session::default()),
        }
    }

    /// The protocol of this session.
    pub fn protocol(&self) -> Protocol {
        match self {
            Self::Teltonika(_) => Protocol::Teltonika,
            Self::Omni(_) => Protocol::Omni,
            Self::Gt06(_) => Protocol::Gt06,
        }
    }

    /// The device id learned at login, if any.
    pub fn device_id(&self) -> Option<&str> {
        match self {
            Self::Teltonika(s) => s.device_id(),
            Self::Omni(s) => s.device_id(),
            Self::Gt06(s) => s.device_id(),
        }
    }

    /// Handles one inbound frame. An error means: cut the connection.
    pub fn on_frame(&mut self, frame: &Frame) -> Result<Inbound, SessionError> {
        if frame.protocol != self.protocol() {
            return Err(SessionError::WrongProtocol);
        }
        match self {
            Self::Teltonika(s) => s.on_frame(frame),
            Self::Omni(s) => s.on_frame(frame),
            Self::Gt06(s) => s.on_frame(frame),
        }
    }
}

/// Records a device id change or first login; shared by the sessions.
pub(crate) fn learn_device_id(slot: &mut Option<String>, id: &str) -> Result<bool, SessionError> {
    match slot {
        Some(old) if old == id => Ok(false),
        Some(old) => Err(SessionError::DeviceIdChanged {
            old: old.clone(),
            new: id.to_owned(),
        }),
        None => {
            *slot = Some(id.to_owned());
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert!("tcp".parse::<Protocol>().is_err());
    }
}
