//! Codec 12: GPRS commands (type 0x05, server → device) and their replies (type 0x06).
//!
//! `00000000 | size 4B | 0x0C | qty 1B | type 1B | len 4B | payload | qty 1B | CRC 4B`

use bytes::{BufMut, Bytes, BytesMut};

use super::{CODEC_12, split_packet};
use crate::protocol::crc::crc16_ibm;
use crate::protocol::cursor::Reader;
use crate::protocol::{CommandError, DecodeError};

/// Message type of a server → device command.
pub const TYPE_COMMAND: u8 = 0x05;
/// Message type of a device → server reply.
pub const TYPE_RESPONSE: u8 = 0x06;
/// Longest payload encoded here; devices take packets of about 1280 bytes at most.
pub const MAX_PAYLOAD: usize = 1024;

/// A parsed Codec 12 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`TYPE_COMMAND`] or [`TYPE_RESPONSE`].
    pub message_type: u8,
    /// Command or reply bytes (usually ASCII text).
    pub payload: Bytes,
}

impl Message {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// Parses a whole Codec 12 packet, checking its CRC and both quantities.
pub fn parse(raw: &[u8]) -> Result<Message, DecodeError> {
    let packet = split_packet(raw)?;
    if packet.codec_id != CODEC_12 {
        return Err(DecodeError::UnknownCodec(packet.codec_id));
    }
    let mut r = Reader::new(packet.data);
    let _codec = r.u8()?;
    let first = r.u8()?;
    let message_type = r.u8()?;
    let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    let payload = Bytes::copy_from_slice(r.take(len)?);
    let second = r.u8()?;
    if first != second {
        return Err(DecodeError::CountMismatch { first, second });
    }
    if r.remaining() != 0 {
        return Err(DecodeError::Malformed("bytes after the codec 12 quantity"));
    }
    if message_type != TYPE_COMMAND && message_type != TYPE_RESPONSE {
        return Err(DecodeError::invalid(
            "codec 12 type",
            format!("0x{message_type:02x}"),
        ));
    }
    Ok(Message {
        message_type,
        payload,
    })
}

/// Builds a Codec 12 packet of the given type around `payload`.
fn encode(message_type: u8, payload: &[u8]) -> Result<Bytes, CommandError> {
    if payload.is_empty() {
        return Err(CommandError::Empty);
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(CommandError::TooLong {
            len: payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    let mut data = BytesMut::with_capacity(payload.len() + 8);
    data.put_u8(CODEC_12);
    data.put_u8(1);
    data.put_u8(message_type);
    data.put_u32(payload.len() as u32);
    data.put_slice(payload);
    data.put_u8(1);
    let mut out = BytesMut::with_capacity(data.len() + 12);
    out.put_u32(0);
    out.put_u32(data.len() as u32);
    out.put_slice(&data);
    out.put_u32(u32::from(crc16_ibm(&data)));
    Ok(out.freeze())
}

/// A server → device command frame (type 0x05). The payload is the SMS command text, or
/// raw bytes for binary commands.
pub fn encode_command(payload: &[u8]) -> Result<Bytes, CommandError> {
    encode(TYPE_COMMAND, payload)
}

/// A device → server reply frame (type 0x06), for the simulator.
pub fn encode_response(payload: &[u8]) -> Result<Bytes, CommandError> {
    encode(TYPE_RESPONSE, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let frame = encode_command(b"getver").unwrap();
        let msg = parse(&frame).unwrap();
        assert_eq!(msg.message_type, TYPE_COMMAND);
        assert_eq!(msg.text(), "getver");
        let long = vec![b'a'; MAX_PAYLOAD + 1];
        assert!(matches!(
            encode_command(&long),
            Err(CommandError::TooLong { .. })
        ));
    }
}
