//! One framed unit of a device's byte stream, as the gateway stores it.

use bytes::Bytes;

use super::Protocol;

/// What a frame is, as far as framing can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Teltonika first packet: 2-byte length + ASCII IMEI.
    TeltonikaLogin,
    /// Teltonika lone `0xFF` keep-alive byte.
    TeltonikaKeepAlive,
    /// Teltonika `00000000` + length packet (AVL data, Codec 12/13 …).
    TeltonikaPacket {
        /// Codec id byte (0x08, 0x8E, 0x10, 0x0C …).
        codec_id: u8,
    },
    /// One Omni `*…#` text message (cleaned of CR/LF and 0xFF).
    OmniMessage,
    /// One GT06 `78 78` / `79 79` packet.
    Gt06Packet {
        /// Protocol number byte (0x01 login, 0x12 location …).
        protocol_number: u8,
    },
}

/// Integrity of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameStatus {
    /// Checksum matches, or the frame kind carries none.
    Ok,
    /// Checksum does not match: store the frame with this status and do not ACK it.
    BadChecksum,
}

impl FrameStatus {
    /// Stable lower-case name for storage (`"ok"`, `"bad_checksum"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadChecksum => "bad_checksum",
        }
    }
}

/// One frame cut from a device's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Protocol the frame was cut with.
    pub protocol: Protocol,
    /// What the frame is.
    pub kind: FrameKind,
    /// Checksum status.
    pub status: FrameStatus,
    /// The frame's bytes (for Omni: `*…#` without CR/LF/0xFF).
    pub raw: Bytes,
}

impl Frame {
    /// Whether the checksum is good (or absent by protocol).
    pub fn is_ok(&self) -> bool {
        self.status == FrameStatus::Ok
    }
}
