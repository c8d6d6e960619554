//! GT06 framing and packet building.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::crc::crc16_x25;
use crate::protocol::cursor::Reader;
use crate::protocol::{
    DecodeError, EncodeError, Frame, FrameError, FrameKind, FrameStatus, Protocol,
};

const STOP: [u8; 2] = [0x0D, 0x0A];
/// Protocol number + serial + CRC: the smallest length field value.
const MIN_LEN: usize = 5;

/// Cuts the next GT06 packet from `buf` (see [`crate::protocol::next_frame`]). A packet with
/// a bad CRC is still returned, with [`FrameStatus::BadChecksum`].
pub fn next_frame(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    match frame_len(buf, max_frame)? {
        Some((len, header)) => {
            let raw = buf.split_to(len).freeze();
            let protocol_number = raw.get(header).copied().unwrap_or_default();
            let status = match parse_packet(&raw) {
                Ok(_) => FrameStatus::Ok,
                Err(_) => FrameStatus::BadChecksum,
            };
            let kind = FrameKind::Gt06Packet { protocol_number };
            Ok(Some(Frame {
                protocol: Protocol::Gt06,
                kind,
                status,
                raw,
            }))
        }
        None if buf.len() >= max_frame => Err(FrameError::Oversize {
            size: buf.len(),
            max: max_frame,
        }),
        None => Ok(None),
    }
}

/// Total length and header size of the packet at the start of `buf`.
fn frame_len(buf: &[u8], max: usize) -> Result<Option<(usize, usize)>, FrameError> {
    let (len, header) = match buf {
        [] | [0x78] | [0x79] | [0x78, 0x78] | [0x79, 0x79] | [0x79, 0x79, _] => return Ok(None),
        [0x78, 0x78, len, ..] => (usize::from(*len), 3),
        [0x79, 0x79, hi, lo, ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), 4),
        _ => {
            return Err(FrameError::Garbage(
                "gt06 packet must start with 7878 or 7979",
            ));
        }
    };
    if len < MIN_LEN {
        return Err(FrameError::Garbage("gt06 length field below 5"));
    }
    let total = header + len + STOP.len();
    if total > max {
        return Err(FrameError::Oversize { size: total, max });
    }
    match buf.get(total - STOP.len()..total) {
        None => Ok(None),
        Some(stop) if stop == STOP => Ok(Some((total, header))),
        Some(_) => Err(FrameError::Garbage("gt06 packet does not end with 0D0A")),
    }
}

/// A checked GT06 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Whether it used the `79 79` 2-byte-length form.
    pub extended: bool,
    /// Protocol number.
    pub protocol_number: u8,
    /// Information content between protocol number and serial.
    pub content: &'a [u8],
    /// Information serial number.
    pub serial: u16,
}

/// Checks start, length, stop bytes and CRC-16/X-25 of one whole packet.
pub fn parse_packet(raw: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(raw);
    let extended = match r.u16()? {
        0x7878 => false,
        0x7979 => true,
        _ => {
            return Err(DecodeError::Malformed(
                "gt06 packet must start with 7878 or 7979",
            ));
        }
    };
    let header = if extended { 4 } else { 3 };
    let len = if extended {
        usize::from(r.u16()?)
    } else {
        usize::from(r.u8()?)
    };
    if len < MIN_LEN || raw.len() != header + len + STOP.len() {
        return Err(DecodeError::Malformed(
            "gt06 length field does not match the packet",
        ));
    }
    let protocol_number = r.u8()?;
    let content = r.take(len - MIN_LEN)?;
    let serial = r.u16()?;
    let crc = r.u16()?;
    if r.take(2)? != STOP {
        return Err(DecodeError::Malformed("gt06 packet does not end with 0D0A"));
    }
    let computed = crc16_x25(raw.get(2..header + len - 2).unwrap_or_default());
    if computed != crc {
        return Err(DecodeError::BadChecksum {
            expected: crc.into(),
            computed: computed.into(),
        });
    }
    Ok(Packet {
        extended,
        protocol_number,
        content,
        serial,
    })
}

/// Builds a packet: `78 78` when the length fits one byte, else `79 79`.
pub fn build_packet(
    protocol_number: u8,
    content: &[u8],
    serial: u16,
) -> Result<Bytes, EncodeError> {
    let len = content.len() + MIN_LEN;
    let mut out = BytesMut::with_capacity(len + 6);
    if let Ok(short) = u8::try_from(len) {
        out.put_slice(&[0x78, 0x78, short]);
    } else {
        let long = u16::try_from(len).map_err(|_| EncodeError::TooLarge(len))?;
        out.put_slice(&[0x79, 0x79]);
        out.put_u16(long);
    }
    out.put_u8(protocol_number);
    out.put_slice(content);
    out.put_u16(serial);
    let crc = crc16_x25(out.get(2..).unwrap_or_default());
    out.put_u16(crc);
    out.put_slice(&STOP);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_round_trip() {
        let content = vec![0x41; 300];
        let raw = build_packet(0x94, &content, 7).unwrap();
        assert_eq!(&raw[..2], &[0x79, 0x79]);
        let p = parse_packet(&raw).unwrap();
        assert!(p.extended);
        assert_eq!(
            (p.protocol_number, p.content.len(), p.serial),
            (0x94, 300, 7)
        );
        let mut buf = BytesMut::from(&raw[..]);
        assert_eq!(next_frame(&mut buf, 1024).unwrap().unwrap().raw, raw);
    }
}
