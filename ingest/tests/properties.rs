//! Property tests: random bytes, chunked and truncated valid frames through every framer,
//! decoder and session. Nothing panics, no frame exceeds the maximum, the buffer stays
//! bounded, and framing does not depend on how the stream is chunked.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use bytes::BytesMut;
use fleetlog_ingest::protocol::{
    Frame, IoValue, LockState, Protocol, Record, Session, crc16_ibm, crc16_x25, decode_records,
    gt06, next_frame, omni, teltonika,
};
use proptest::prelude::*;

/// Device → server vector frames of a protocol, plus simulator frames of the kinds the
/// vectors lack.
fn valid_frames(protocol: Protocol) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = common::load_vectors()
        .iter()
        .filter(|v| v["protocol"] == protocol.as_str() && v["direction"] == "device_to_server")
        .map(common::frame_bytes)
        .collect();
    frames.extend(simulator_frames(protocol));
    frames
}

fn simulator_frames(protocol: Protocol) -> Vec<Vec<u8>> {
    let rec = Record {
        device_time_ms: Some(1_700_000_000_000),
        lat_e7: Some(-339_656_016),
        lon_e7: Some(188_357_883),
        battery_pct: Some(50),
        lock_state: Some(LockState::Locked),
        io: [
            (7u16, IoValue::Bytes(vec![1, 2, 3])),
            (300, IoValue::U16(9)),
        ]
        .into(),
        ..Record::new("sim")
    };
    let imei = "356307042441013";
    let frames = match protocol {
        Protocol::Teltonika => {
            vec![teltonika::device::codec8e_packet(&[rec.clone(), rec]).unwrap()]
        }
        Protocol::Gt06 => vec![
            gt06::device::heartbeat(&rec, 1).unwrap(),
            gt06::device::alarm(&rec, 0x02, 2).unwrap(),
        ],
        Protocol::Omni => vec![
            omni::device::vehicle_info(imei, &rec, 1).unwrap(),
            omni::device::lock_result(imei, true, 0, 1, 2, 3).unwrap(),
            omni::device::message(imei, "E0", &["12"]).unwrap(),
        ],
    };
    frames.into_iter().map(|b| b.to_vec()).collect()
}

fn any_protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::Teltonika),
        Just(Protocol::Omni),
        Just(Protocol::Gt06)
    ]
}

/// Feeds `stream` in chunks like a gateway would; checks the bounds and returns the frames
/// cut before the end or the first error.
fn gateway_loop(protocol: Protocol, stream: &[u8], chunks: &[usize], max: usize) -> Vec<Frame> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        let chunk_max = chunks.iter().max().copied().unwrap_or(1).max(1);
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        assert!(
            buf.len() <= max + chunk_max,
            "buffer {} > max {max} + chunk",
            buf.len()
        );
        loop {
            match next_frame(protocol, &mut buf, max) {
                Ok(Some(frame)) => {
                    assert!(
                        frame.raw.len() <= max,
                        "frame {} > max {max}",
                        frame.raw.len()
                    );
                    assert_eq!(frame.protocol, protocol);
                    frames.push(frame);
                }
                Ok(None) => {
                    assert!(
                        buf.len() < max,
                        "waiting with {} buffered, max {max}",
                        buf.len()
                    );
                    break;
                }
                Err(_) => return frames,
            }
        }
    }
    frames
}

/// Fixes the CRC of a mutated Teltonika/GT06 frame so the decoder parses deeper.
fn fix_crc(protocol: Protocol, raw: &mut [u8]) {
    let n = raw.len();
    match protocol {
        Protocol::Teltonika if n >= 12 && raw[..4] == [0; 4] => {
            let crc = crc16_ibm(&raw[8..n - 4]);
            raw[n - 4..].copy_from_slice(&u32::from(crc).to_be_bytes());
        }
        Protocol::Gt06 if n >= 10 => {
            let header = if raw[0] == 0x79 { 4 } else { 3 };
            let crc = crc16_x25(&raw[2..n - 4]);
            raw[n - 4..n - 2].copy_from_slice(&crc.to_be_bytes());
            let _ = header;
        }
        _ => {}
    }
}

fn session_survives(protocol: Protocol, frames: &[Frame]) {
    let mut session = Session::new(protocol);
    for frame in frames {
        if session.on_frame(frame).is_err() {
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(
        protocol in any_protocol(),
        stream in proptest::collection::vec(any::<u8>(), 0..2048),
        chunks in proptest::collection::vec(1usize..300, 1..8),
        max in 1usize..1500,
    ) {
        let frames = gateway_loop(protocol, &stream, &chunks, max);
        session_survives(protocol, &frames);
        let _ = decode_records(protocol, &stream);
        for frame in &frames {
            let _ = decode_records(protocol, &frame.raw);
        }
    }

    #[test]
    fn random_bytes_behind_a_valid_prefix(
        protocol in any_protocol(),
        pick in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let valid = valid_frames(protocol);
        let mut stream = pick.get(&valid).clone();
        stream.extend_from_slice(&tail);
        let frames = gateway_loop(protocol, &stream, &[7, 64, 3], 1024);
        prop_assert!(!frames.is_empty());
        session_survives(protocol, &frames);
    }

    #[test]
    fn chunking_does_not_change_frames(
        protocol in any_protocol(),
        chunks in proptest::collection::vec(1usize..40, 1..6),
    ) {
        let valid = valid_frames(protocol);
        let stream: Vec<u8> = valid.concat();
        let whole = gateway_loop(protocol, &stream, &[stream.len()], 4096);
        let chunked = gateway_loop(protocol, &stream, &chunks, 4096);
        prop_assert_eq!(whole.len(), valid.len());
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn truncated_frames_wait_for_more(protocol in any_protocol(), pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let valid = valid_frames(protocol);
        let frame = pick.get(&valid);
        // Omni frames end at '#'; a trailing newline is not part of the frame.
        let end = frame.iter().rposition(|&b| b == b'#').map_or(frame.len(), |p| p + 1);
        let len = cut.index(if protocol == Protocol::Omni { end } else { frame.len() });
        let mut buf = BytesMut::from(&frame[..len]);
        prop_assert_eq!(next_frame(protocol, &mut buf, 4096), Ok(None));
        prop_assert!(decode_records(protocol, &frame[..len]).is_err() || len == 0 && protocol == Protocol::Omni);
    }

    #[test]
    fn mutated_frames_never_panic(
        protocol in any_protocol(),
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let valid = valid_frames(protocol);
        let mut raw = pick.get(&valid).clone();
        for (at, byte) in edits {
            let i = at.index(raw.len());
            raw[i] = byte;
        }
        fix_crc(protocol, &mut raw);
        let _ = decode_records(protocol, &raw);
        let frames = gateway_loop(protocol, &raw, &[raw.len()], 4096);
        session_survives(protocol, &frames);
    }

    #[test]
    fn oversize_announcements_are_refused_before_buffering(
        len in 2000u32..u32::MAX,
    ) {
        let mut telt = BytesMut::from(&[&[0u8; 4][..], &len.to_be_bytes()[..], &[0x08]][..].concat()[..]);
        prop_assert!(next_frame(Protocol::Teltonika, &mut telt, 1280).is_err());
        let [_, _, hi, lo] = len.to_be_bytes();
        let mut gt06 = BytesMut::from(&[0x79, 0x79, hi | 0x08, lo][..]);
        prop_assert!(next_frame(Protocol::Gt06, &mut gt06, 1024).is_err());
    }
}
