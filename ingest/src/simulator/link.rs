//! The device side of one TCP connection: bytes out, server frames in, and the types the
//! protocol drivers share (server commands, ACK expectations, errors).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::device::AckOutcome;
use crate::protocol::{CommandError, DecodeError, EncodeError, FrameError, Protocol};

/// Largest server frame a simulated device accepts.
pub(crate) const MAX_SERVER_FRAME: usize = 4096;

/// A simulated device could not talk to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Connecting, reading or writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Connecting or writing took longer than the ACK timeout.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// The gateway closed the connection.
    #[error("connection closed by the gateway")]
    Closed,
    /// The operation needs a connection and there is none.
    #[error("not connected")]
    NotConnected,
    /// The gateway refused the login (Teltonika `00`).
    #[error("login rejected")]
    Rejected,
    /// The gateway did not answer the login in time.
    #[error("no login reply within the ACK timeout")]
    NoLoginReply,
    /// The gateway sent bytes the device cannot frame or parse.
    #[error("bad server frame: {0}")]
    BadFrame(String),
    /// A device frame could not be built from the scooter's state.
    #[error("cannot encode device frame: {0}")]
    Encode(String),
    /// A frame's ACK did not come in time or was wrong: reconnect and re-send.
    #[error("ACK failed: {0:?}")]
    AckFailed(AckOutcome),
}

impl From<FrameError> for DeviceError {
    fn from(err: FrameError) -> Self {
        Self::BadFrame(err.to_string())
    }
}

impl From<DecodeError> for DeviceError {
    fn from(err: DecodeError) -> Self {
        Self::BadFrame(err.to_string())
    }
}

impl From<EncodeError> for DeviceError {
    fn from(err: EncodeError) -> Self {
        Self::Encode(err.to_string())
    }
}

impl From<CommandError> for DeviceError {
    fn from(err: CommandError) -> Self {
        Self::Encode(err.to_string())
    }
}

/// What a server command asks the scooter to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Unlock (Teltonika `sclockctrl 0`, Omni L0 with the key, GT06 `Relay,0#`).
    Unlock,
    /// Lock (Teltonika `sclockctrl 1`, Omni L1 with the key, GT06 `Relay,1#`).
    Lock,
    /// Omni R0: hand out an operation key for a coming unlock (`true`) or lock.
    KeyRequest {
        /// Whether the key is for an unlock.
        unlock: bool,
    },
    /// Report the position now (Teltonika `getgps`, Omni `D0`, GT06 `WHERE#`).
    Locate,
    /// Beep and flash (Teltonika `sclookfor`, Omni `V0`).
    Beep,
    /// Anything else; answered where the protocol has a generic reply.
    Other,
}

/// One command frame the gateway sent to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCommand {
    /// Protocol it arrived in.
    pub protocol: Protocol,
    /// What it asks for.
    pub kind: CommandKind,
    /// The command as text: Teltonika SMS text, Omni `<type>[,<param>…]`, GT06 text.
    pub text: String,
    /// Omni: the fields after the type.
    pub params: Vec<String>,
    /// GT06: the server flag the 0x15 reply must echo.
    pub server_flag: Option<u32>,
}

/// The identity of an ACK frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AckKey {
    /// Teltonika: records accepted.
    Count(u32),
    /// Omni: `*SCOS,OM,<imei>,<type>#` of an L0/L1/W0/E0/E1 message.
    Omni(String),
    /// GT06: empty-content echo of a packet's protocol number and serial.
    Gt06 { protocol_number: u8, serial: u16 },
}

/// A frame from the server as a device reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerFrame {
    /// Teltonika login answer: `01` accepted, `00` rejected.
    LoginReply(bool),
    /// An ACK of something the device sent.
    Ack(AckKey),
    /// A command to obey.
    Command(ServerCommand),
}

/// What a device waits for after sending a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Teltonika login answer.
    LoginReply,
    /// An ACK with this key; for [`AckKey::Count`], any count answers (a wrong one too).
    Ack(AckKey),
}

/// A device frame to send, and what the server must answer, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub(crate) bytes: Bytes,
    pub(crate) expect: Option<Expect>,
}

impl Outgoing {
    /// A frame the server does not answer.
    pub(crate) fn plain(bytes: Bytes) -> Self {
        Self {
            bytes,
            expect: None,
        }
    }

    /// A frame the server must ACK with `key`.
    pub(crate) fn acked(bytes: Bytes, key: AckKey) -> Self {
        Self {
            bytes,
            expect: Some(Expect::Ack(key)),
        }
    }
}

/// An open connection with its read buffer.
#[derive(Debug)]
pub(crate) struct Link {
    stream: TcpStream,
    pub(crate) buf: BytesMut,
    io_timeout: Duration,
}

impl Link {
    /// Connects to `addr`, giving up after `io_timeout`.
    pub(crate) async fn connect(addr: &str, io_timeout: Duration) -> Result<Self, DeviceError> {
        let stream = timeout(io_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| DeviceError::Timeout("connect"))??;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: BytesMut::with_capacity(1024),
            io_timeout,
        })
    }

    /// Writes all of `bytes`.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        timeout(self.io_timeout, self.stream.write_all(bytes))
            .await
            .map_err(|_| DeviceError::Timeout("write"))??;
        Ok(())
    }

    /// Reads more bytes into the buffer; `Ok(false)` when `deadline` came first.
    pub(crate) async fn fill(&mut self, deadline: Instant) -> Result<bool, DeviceError> {
        if self.buf.len() >= MAX_SERVER_FRAME {
            return Err(DeviceError::BadFrame("server frame too large".into()));
        }
        match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Ok(false),
            Ok(Ok(0)) => Err(DeviceError::Closed),
            Ok(Ok(_)) => Ok(true),
            Ok(Err(err)) => Err(err.into()),
        }
    }
}
