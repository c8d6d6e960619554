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

/// A [`RawFrame`] borrowed from where its parts already live, so the gateway's hot path
/// encodes without building owned strings first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrameRef<'a> {
    /// See [`RawFrame::frame_id`].
    pub frame_id: Uuid,
    /// See [`RawFrame::gateway_id`].
    pub gateway_id: &'a str,
    /// See [`RawFrame::protocol`].
    pub protocol: Protocol,
    /// See [`RawFrame::remote_addr`].
    pub remote_addr: &'a str,
    /// See [`RawFrame::received_at_ms`].
    pub received_at_ms: i64,
    /// See [`RawFrame::raw`].
    pub raw: &'a [u8],
    /// See [`RawFrame::status`].
    pub status: FrameStatus,
    /// See [`RawFrame::device_id`].
    pub device_id: Option<&'a str>,
}

impl RawFrame {
    /// This frame, borrowed.
    pub fn borrowed(&self) -> RawFrameRef<'_> {
        RawFrameRef {
            frame_id: self.frame_id,
            gateway_id: &self.gateway_id,
            protocol: self.protocol,
            remote_addr: &self.remote_addr,
            received_at_ms: self.received_at_ms,
            raw: &self.raw,
            status: self.status,
            device_id: self.device_id.as_deref(),
        }
    }
}

impl RawFrameRef<'_> {
    /// Append the Avro binary body of `RawFrame.avsc` to `out` (field order, enum symbol
    /// indexes and the `["null", "string"]` union as the schema has them; the tests in
    /// `schemas/tests/contracts.rs` compare it byte for byte with apache-avro's writer).
    pub fn write_avro(&self, out: &mut Vec<u8>) {
        let id = self.frame_id.hyphenated();
        write_str(out, id.encode_lower(&mut Uuid::encode_buffer()));
        write_str(out, self.gateway_id);
        write_long(
            out,
            match self.protocol {
                Protocol::Teltonika => 0,
                Protocol::Omni => 1,
                Protocol::Gt06 => 2,
            },
        );
        write_str(out, self.remote_addr);
        write_long(out, self.received_at_ms);
        write_bytes(out, self.raw);
        write_long(
            out,
            match self.status {
                FrameStatus::Ok => 0,
                FrameStatus::BadChecksum => 1,
                FrameStatus::Oversize => 2,
                FrameStatus::UnknownDevice => 3,
            },
        );
        match self.device_id {
            None => write_long(out, 0),
            Some(id) => {
                write_long(out, 1);
                write_str(out, id);
            }
        }
    }
}

/// Avro `long`: zig-zag, then base-128 varint.
fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, i64::try_from(bytes.len()).unwrap_or(i64::MAX));
    out.extend_from_slice(bytes);
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    write_bytes(out, text.as_bytes());
}
