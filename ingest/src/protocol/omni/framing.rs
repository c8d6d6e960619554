//! Omni framing: `*` … `#`, dropping CR/LF and stray `0xFF` bytes.

use bytes::{Buf, BytesMut};

use crate::protocol::{Frame, FrameError, FrameKind, FrameStatus, Protocol};

fn is_filler(b: u8) -> bool {
    matches!(b, 0xFF | b'\r' | b'\n')
}

fn is_text(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

/// Cuts the next Omni frame from `buf` (see [`crate::protocol::next_frame`]).
///
/// The frame's `raw` is the `*…#` text with any CR/LF/0xFF inside removed. Anything but
/// fillers before `*`, a second `*`, or a non-printable byte is garbage.
pub fn next_frame(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Frame>, FrameError> {
    let skip = buf.iter().take_while(|&&b| is_filler(b)).count();
    buf.advance(skip);
    match buf.first() {
        None => return Ok(None),
        Some(b'*') => {}
        Some(_) => return Err(FrameError::Garbage("omni frame must start with '*'")),
    }
    let end = buf.iter().position(|&b| b == b'#');
    let scanned = end.map_or(buf.len(), |e| e + 1);
    if scanned > max_frame || (end.is_none() && scanned >= max_frame) {
        return Err(FrameError::Oversize {
            size: scanned,
            max: max_frame,
        });
    }
    let body = buf.get(1..scanned).unwrap_or_default();
    if body
        .iter()
        .any(|&b| b == b'*' || !(is_text(b) || is_filler(b)))
    {
        return Err(FrameError::Garbage(
            "omni frame holds '*' or a non-printable byte",
        ));
    }
    if end.is_none() {
        return Ok(None);
    }
    let chunk = buf.split_to(scanned);
    let trailing = buf.iter().take_while(|&&b| is_filler(b)).count();
    buf.advance(trailing);
    let raw: Vec<u8> = chunk.iter().copied().filter(|&b| !is_filler(b)).collect();
    Ok(Some(Frame {
        protocol: Protocol::Omni,
        kind: FrameKind::OmniMessage,
        status: FrameStatus::Ok,
        raw: raw.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_fillers_and_splits() {
        let mut buf = BytesMut::from(&b"\xff\xff*SCOS,OM,1,D0#\n*SCOR,OM,1,\r\nQ0,1,2,3#"[..]);
        let a = next_frame(&mut buf, 256).unwrap().unwrap();
        assert_eq!(&a.raw[..], b"*SCOS,OM,1,D0#");
        let b = next_frame(&mut buf, 256).unwrap().unwrap();
        assert_eq!(&b.raw[..], b"*SCOR,OM,1,Q0,1,2,3#");
        assert_eq!(next_frame(&mut buf, 256).unwrap(), None);
        assert!(buf.is_empty());
    }

    #[test]
    fn garbage_and_oversize() {
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1"[..]);
        assert!(next_frame(&mut buf, 256).is_err());
        let mut buf = BytesMut::from(&b"*SCOR,OM,1,Q0,1,2,3"[..]);
        assert!(matches!(
            next_frame(&mut buf, 10),
            Err(FrameError::Oversize { .. })
        ));
    }
}
