//! Concox / Jimi GT06: `78 78` + 1-byte length (or `79 79` + 2-byte length) packets ending
//! `0D 0A`, CRC-16/X-25 over length..serial, BCD terminal id in the 0x01 login, 0x80 server
//! commands with a 4-byte server flag echoed by the 0x15 reply.

mod command;
mod decode;
pub mod device;
mod framing;
mod session;

use bytes::Bytes;

pub use command::{
    CommandText, MAX_TEXT, command_text, encode_command, encode_text_command, parse_command_reply,
};
pub use decode::{decode_records, terminal_id};
pub use framing::{Packet, build_packet, next_frame, parse_packet};
pub use session::Session;

/// Login packet.
pub const LOGIN: u8 = 0x01;
/// GPS + LBS location packet.
pub const LOCATION: u8 = 0x12;
/// Status / heartbeat packet.
pub const HEARTBEAT: u8 = 0x13;
/// String information: the device's reply to a 0x80 command.
pub const COMMAND_REPLY: u8 = 0x15;
/// Alarm packet (GPS + LBS + status).
pub const ALARM: u8 = 0x16;
/// GPS + LBS location packet of newer firmware (adds ACC and upload mode).
pub const LOCATION_2: u8 = 0x22;
/// Server command packet.
pub const COMMAND: u8 = 0x80;

/// The empty-content reply echoing a packet's protocol number and serial (login reply,
/// heartbeat/alarm ACK): `78 78 05 <pn> <serial> <crc> 0D 0A`.
pub fn reply(protocol_number: u8, serial: u16) -> Bytes {
    let mut out = Vec::with_capacity(10);
    out.extend_from_slice(&[0x78, 0x78, 0x05, protocol_number]);
    out.extend_from_slice(&serial.to_be_bytes());
    let crc = crate::protocol::crc16_x25(out.get(2..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&[0x0D, 0x0A]);
    out.into()
}
