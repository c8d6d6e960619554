//! Teltonika TCP framing: IMEI packet, `00000000` + length packets, `0xFF` keep-alive.

use bytes::BytesMut;

use crate::protocol::crc::crc16_ibm;
use crate::protocol::cursor::Reader;
use crate::protocol::{DecodeError, Frame, FrameError, FrameKind, FrameStatus, Protocol};

/// Longest IMEI accepted in the login packet.
pub const MAX_IMEI_LEN: usize = 20;

/// Preamble + length before the data field, CRC after it.
const HEADER: usize = 8;
const TRAILER: usize = 4;

/// Cuts the next Teltonika frame from `buf` (see [`crate::protocol::next_frame`]).
pub fn next_frame(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    match frame_len(buf, max_frame)? {
        Some((len, kind)) => {
            let raw = buf.split_to(len).freeze();
            let status = if matches!(kind, FrameKind::TeltonikaPacket { .. }) {
                packet_status(&raw)
            } else {
                FrameStatus::Ok
            };
            Ok(Some(Frame {
                protocol: Protocol::Teltonika,
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

/// Length and kind of the frame at the start of `buf`, once enough bytes are there to know.
fn frame_len(buf: &BytesMut, max: usize) -> Result<Option<(usize, FrameKind)>, FrameError> {
    let second = match buf.as_ref() {
        [] | [0x00] => return Ok(None),
        [0xFF, ..] => return Ok(Some((1, FrameKind::TeltonikaKeepAlive))),
        [0x00, second, ..] => *second,
        [_, ..] => {
            return Err(FrameError::Garbage(
                "teltonika frame must start with 0x00 or 0xFF",
            ));
        }
    };
    if second != 0 {
        if usize::from(second) > MAX_IMEI_LEN {
            return Err(FrameError::Garbage("teltonika IMEI length too large"));
        }
        return check_len(buf, 2 + usize::from(second), max, FrameKind::TeltonikaLogin);
    }
    let Some(header) = buf.get(..HEADER) else {
        let preamble_rest = buf.get(2..buf.len().min(4)).unwrap_or_default();
        return match preamble_rest.iter().any(|&b| b != 0) {
            true => Err(FrameError::Garbage("teltonika preamble is not 00000000")),
            false => Ok(None),
        };
    };
    let mut r = Reader::new(header);
    let preamble = r.u32().map_err(|_| FrameError::Garbage("short header"))?;
    let data_len = r.u32().map_err(|_| FrameError::Garbage("short header"))?;
    if preamble != 0 {
        return Err(FrameError::Garbage("teltonika preamble is not 00000000"));
    }
    if data_len < 3 {
        return Err(FrameError::Garbage("teltonika data length below 3"));
    }
    let len = usize::try_from(data_len)
        .ok()
        .and_then(|l| l.checked_add(HEADER + TRAILER))
        .unwrap_or(usize::MAX);
    let codec_id = buf.get(HEADER).copied().unwrap_or_default();
    check_len(buf, len, max, FrameKind::TeltonikaPacket { codec_id })
}

fn check_len(
    buf: &BytesMut,
    len: usize,
    max: usize,
    kind: FrameKind,
) -> Result<Option<(usize, FrameKind)>, FrameError> {
    if len > max {
        Err(FrameError::Oversize { size: len, max })
    } else if buf.len() < len {
        Ok(None)
    } else {
        Ok(Some((len, kind)))
    }
}

fn packet_status(raw: &[u8]) -> FrameStatus {
    match split_packet(raw) {
        Ok(_) => FrameStatus::Ok,
        Err(_) => FrameStatus::BadChecksum,
    }
}

/// A checked `00000000` packet: the data field from codec id through the second count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Codec id (first byte of `data`).
    pub codec_id: u8,
    /// Data field: codec id .. N2 inclusive.
    pub data: &'a [u8],
}

/// Checks preamble, length and CRC-16/IBM of one whole packet and returns its data field.
pub fn split_packet(raw: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(raw);
    if r.u32()? != 0 {
        return Err(DecodeError::Malformed("teltonika preamble is not 00000000"));
    }
    let data_len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    let data = r.take(data_len)?;
    let crc_field = r.u32()?;
    if r.remaining() != 0 {
        return Err(DecodeError::Malformed("bytes after teltonika CRC"));
    }
    let computed = crc16_ibm(data);
    if crc_field != u32::from(computed) {
        return Err(DecodeError::BadChecksum {
            expected: crc_field,
            computed: computed.into(),
        });
    }
    let codec_id = *data
        .first()
        .ok_or(DecodeError::Malformed("empty data field"))?;
    Ok(Packet { codec_id, data })
}

/// Parses the IMEI login packet (2-byte length + ASCII digits).
pub fn parse_login(raw: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::new(raw);
    let len = usize::from(r.u16()?);
    let imei = r.take(len)?;
    if r.remaining() != 0 {
        return Err(DecodeError::Malformed("bytes after the IMEI"));
    }
    if imei.is_empty() || len > MAX_IMEI_LEN || !imei.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::invalid("imei", String::from_utf8_lossy(imei)));
    }
    Ok(String::from_utf8_lossy(imei).into_owned())
}
