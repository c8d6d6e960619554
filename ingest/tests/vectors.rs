//! Every vector of `tests/fixtures/device-protocol-vectors.json` checked against the
//! protocol modules: decoded values, ACK/reply bytes, CRC status, command bytes.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;
#[path = "vectors/gt06.rs"]
mod gt06;
#[path = "vectors/omni.rs"]
mod omni;
#[path = "vectors/teltonika.rs"]
mod teltonika;

use common::{Exp, frame_bytes, load_vectors};
use fleetlog_ingest::protocol::{Frame, FrameStatus, Protocol, next_frame};

/// Frames `bytes` whole with the protocol's framer and checks exactly one frame results.
pub(crate) fn frame_one(id: &str, protocol: Protocol, bytes: &[u8]) -> Frame {
    let mut buf = bytes::BytesMut::from(bytes);
    let frame = next_frame(protocol, &mut buf, 4096)
        .unwrap_or_else(|e| panic!("{id}: framing failed: {e}"))
        .unwrap_or_else(|| panic!("{id}: incomplete frame"));
    assert!(
        buf.is_empty(),
        "{id}: {} bytes left after the frame",
        buf.len()
    );
    frame
}

/// A vector's CRC claim: `crc_verified: true` frames must pass our check.
pub(crate) fn check_crc_claim(v: &serde_json::Value, frame: &Frame) {
    if v["crc_verified"].as_bool() == Some(true) {
        assert_eq!(frame.status, FrameStatus::Ok, "{}", v["id"]);
    }
}

#[test]
fn every_vector_matches() {
    let vectors = load_vectors();
    assert_eq!(vectors.len(), 46);
    let mut checked = 0;
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let exp = Exp::new(id, &v["expected"]);
        let protocol: Protocol = v["protocol"].as_str().unwrap().parse().unwrap();
        let bytes = frame_bytes(v);
        let to_device = v["direction"].as_str() == Some("server_to_device");
        match (protocol, to_device) {
            (Protocol::Teltonika, false) => teltonika::device_frame(v, &exp, &bytes),
            (Protocol::Teltonika, true) => teltonika::server_frame(v, &exp, &bytes),
            (Protocol::Omni, false) => omni::device_frame(v, &exp, &bytes),
            (Protocol::Omni, true) => omni::server_frame(v, &exp, &bytes),
            (Protocol::Gt06, false) => gt06::device_frame(v, &exp, &bytes),
            (Protocol::Gt06, true) => gt06::server_frame(v, &exp, &bytes),
        }
        exp.done();
        checked += 1;
    }
    assert_eq!(checked, 46);
}

/// Flipping one content byte of every CRC-carrying vector must give a bad-checksum frame
/// that the session stores without ACK and the decoder rejects.
#[test]
fn corrupted_vectors_are_flagged() {
    use fleetlog_ingest::protocol::{DecodeError, Session, decode_records};
    let mut corrupted = 0;
    for v in load_vectors() {
        let id = v["id"].as_str().unwrap().to_owned();
        let protocol: Protocol = v["protocol"].as_str().unwrap().parse().unwrap();
        if v["crc_verified"].as_bool() != Some(true) || v["direction"] != "device_to_server" {
            continue;
        }
        let mut bytes = frame_bytes(&v);
        let at = if protocol == Protocol::Teltonika {
            12
        } else {
            5
        };
        bytes[at] ^= 0x55;
        let frame = frame_one(&id, protocol, &bytes);
        assert_eq!(frame.status, FrameStatus::BadChecksum, "{id}");
        let err = decode_records(protocol, &frame.raw).unwrap_err();
        assert!(
            matches!(err, DecodeError::BadChecksum { .. }),
            "{id}: {err}"
        );
        let mut session = Session::new(protocol);
        if let Some(login) = teltonika_or_gt06_login(protocol) {
            session.on_frame(&frame_one(&id, protocol, &login)).unwrap();
        }
        match session.on_frame(&frame) {
            Ok(inbound) => {
                assert!(inbound.append && inbound.ack.is_none(), "{id}: {inbound:?}");
                assert!(inbound.command_reply.is_none(), "{id}");
            }
            Err(e) => assert!(id.contains("login"), "{id}: {e}"),
        }
        corrupted += 1;
    }
    assert_eq!(corrupted, 16);
}

fn teltonika_or_gt06_login(protocol: Protocol) -> Option<Vec<u8>> {
    match protocol {
        Protocol::Teltonika => Some(common::hex("000F333536333037303432343431303133")),
        Protocol::Gt06 => Some(common::hex("78780D01012345678901234500018CDD0D0A")),
        Protocol::Omni => None,
    }
}
