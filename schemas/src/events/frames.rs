//! `scooter.frames.v1`: raw device frames (`schemas/avro/frames/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::Protocol;
use super::ids::uuid_text;

/// The gateway's verdict on a frame (`FrameStatus.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FrameStatus {
    /// Well-formed; will be decoded.
    Ok,
    /// Checksum (CRC) did not match.
    BadChecksum,
    /// Longer than the protocol's maximum frame length; `raw` is truncated.
    Oversize,
    /// The device is not known to the fleet.
    UnknownDevice,
}

/// One frame as a device sent it (`RawFrame.avsc`); value of [`crate::topics::FRAMES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFrame {
    /// Id of this frame (UUID v7); the correlation id of everything derived from it.
    #[serde(with = "uuid_text")]
    pub frame_id: Uuid,
    /// Gateway instance that received it.
    pub gateway_id: String,
    /// Protocol of the listener it arrived on.
    pub protocol: Protocol,
    /// Peer address, `ip:port`.
    pub remote_addr: String,
    /// When the gateway read it, ms since the Unix epoch.
    pub received_at_ms: i64,
    /// The frame's bytes.
    #[serde(with = "apache_avro::serde::bytes")]
    pub raw: Vec<u8>,
    /// Gateway verdict.
    pub status: FrameStatus,
    /// Device id of the session (or the claimed id); `None` before the device identified itself.
    pub device_id: Option<String>,
}
