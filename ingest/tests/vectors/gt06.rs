//! GT06 vectors: login, location, command reply (decoded), login/heartbeat replies and the
//! 0x80 command (byte for byte).

use fleetlog_ingest::protocol::gt06::{self, parse_command_reply, parse_packet};
use fleetlog_ingest::protocol::{
    CommandContext, DeviceCommand, Frame, FrameKind, Protocol, Record, Session, decode_records,
};
use serde_json::Value;

use crate::common::{Exp, assert_deg, hex, utc_ms};
use crate::{check_crc_claim, frame_one};

/// `protocol_number`, `serial`, `crc_x25` of any GT06 vector.
fn packet_fields(exp: &Exp, raw: &[u8]) -> u16 {
    let packet = parse_packet(raw).unwrap();
    assert_eq!(
        exp.lead_int("protocol_number"),
        Some(i64::from(packet.protocol_number))
    );
    assert_eq!(
        exp.i64("serial"),
        Some(i64::from(packet.serial)),
        "{}",
        exp.id
    );
    let crc = u16::from_be_bytes(raw[raw.len() - 4..raw.len() - 2].try_into().unwrap());
    assert_eq!(exp.lead_int("crc_x25"), Some(i64::from(crc)));
    packet.serial
}

fn logged_in() -> Session {
    let mut session = Session::new(Protocol::Gt06);
    let login = hex("78780D01012345678901234500018CDD0D0A");
    session
        .on_frame(&frame_one("login", Protocol::Gt06, &login))
        .unwrap();
    session
}

pub(crate) fn device_frame(v: &Value, exp: &Exp, bytes: &[u8]) {
    let frame = frame_one(&exp.id, Protocol::Gt06, bytes);
    check_crc_claim(v, &frame);
    packet_fields(exp, &frame.raw);
    match frame.kind {
        FrameKind::Gt06Packet {
            protocol_number: gt06::LOGIN,
        } => login(exp, &frame),
        FrameKind::Gt06Packet {
            protocol_number: gt06::LOCATION,
        } => location(exp, &frame),
        FrameKind::Gt06Packet {
            protocol_number: gt06::COMMAND_REPLY,
        } => reply(exp, &frame),
        other => panic!("{}: unexpected {other:?}", exp.id),
    }
}

fn login(exp: &Exp, frame: &Frame) {
    let packet = parse_packet(&frame.raw).unwrap();
    assert_eq!(
        packet.content.to_vec(),
        hex(exp.str("terminal_id_bcd").unwrap())
    );
    let mut session = Session::new(Protocol::Gt06);
    let inbound = session.on_frame(frame).unwrap();
    let login = inbound.login.unwrap();
    assert_eq!(Some(login.device_id.as_str()), exp.str("imei"));
    assert_eq!(
        login.accept_reply.unwrap().to_vec(),
        hex(exp.str("server_reply_hex").unwrap())
    );
    assert!(!inbound.append && inbound.ack.is_none());
    assert!(
        decode_records(Protocol::Gt06, &frame.raw)
            .unwrap()
            .is_empty()
    );
}

fn location(exp: &Exp, frame: &Frame) {
    let records = decode_records(Protocol::Gt06, &frame.raw).unwrap();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    let time = exp
        .str("datetime")
        .or_else(|| exp.str("datetime_utc"))
        .unwrap();
    assert_eq!(rec.device_time_ms, Some(utc_ms(time)), "{}", exp.id);
    assert_eq!(rec.satellites.map(i64::from), exp.i64("satellites"));
    assert_deg(&exp.id, "lat", rec.lat_e7, exp.f64("lat").unwrap());
    assert_deg(&exp.id, "lon", rec.lon_e7, exp.f64("lon").unwrap());
    assert_eq!(rec.speed_kmh, exp.f64("speed_kmh"));
    if let Some(len) = exp.i64("gps_info_len") {
        assert_eq!(rec.attributes["gps_info_len"], len.to_string());
    }
    if let Some(flags) = exp.lead_int("course_status") {
        assert_eq!(i64::from(rec.heading_deg.unwrap()), flags & 0x3FF);
        assert_eq!(rec.position_valid, flags & 0x1000 != 0);
        assert_eq!(rec.lat_e7.unwrap() > 0, flags & 0x400 != 0);
        assert_eq!(rec.lon_e7.unwrap() < 0, flags & 0x800 != 0);
    }
    if let Some(course) = exp.i64("course_deg") {
        assert_eq!(rec.heading_deg.map(i64::from), Some(course));
    }
    if let Some(positioned) = exp.bool("positioned") {
        assert_eq!(rec.position_valid, positioned);
    }
    lbs(exp, rec);
    let inbound = logged_in().on_frame(frame).unwrap();
    assert!(inbound.append && inbound.ack.is_none() && inbound.command_reply.is_none());
}

fn lbs(exp: &Exp, rec: &Record) {
    if exp.str("lbs") == Some("all zero") {
        for key in ["mcc", "mnc", "lac", "cell_id"] {
            assert_eq!(rec.attributes[key], "0", "{}", exp.id);
        }
    }
    for key in ["mcc", "mnc", "lac", "cell_id"] {
        if let Some(want) = exp.i64(key) {
            assert_eq!(rec.attributes[key], want.to_string(), "{} {key}", exp.id);
        }
    }
}

fn reply(exp: &Exp, frame: &Frame) {
    let packet = parse_packet(&frame.raw).unwrap();
    let parsed = parse_command_reply(packet.content).unwrap();
    assert_eq!(
        exp.i64("command_length"),
        Some(i64::from(packet.content[0]))
    );
    let flag = u32::from_str_radix(exp.str("server_flag").unwrap(), 16).unwrap();
    assert_eq!(parsed.server_flag, flag);
    let content = exp.str("content").unwrap();
    assert_eq!(parsed.text.as_ref(), content.as_bytes());
    assert_eq!(parsed.language.map(i64::from), exp.lead_int("language"));
    assert!(content.contains(&format!("ICCID:{}", exp.str("iccid").unwrap())));
    let inbound = logged_in().on_frame(frame).unwrap();
    assert!(inbound.append && inbound.ack.is_none());
    let reply = inbound.command_reply.unwrap();
    assert_eq!(reply.correlation, Some(flag));
    assert_eq!(reply.text(), content);
    assert!(
        decode_records(Protocol::Gt06, &frame.raw)
            .unwrap()
            .is_empty()
    );
    let sim = gt06::device::command_reply(flag, content, packet.serial).unwrap();
    assert_eq!(sim, frame.raw);
}

pub(crate) fn server_frame(v: &Value, exp: &Exp, bytes: &[u8]) {
    let frame = frame_one(&exp.id, Protocol::Gt06, bytes);
    check_crc_claim(v, &frame);
    let serial = packet_fields(exp, bytes);
    let packet = parse_packet(bytes).unwrap();
    let encoded = if packet.protocol_number == gt06::COMMAND {
        let parsed = parse_command_reply(packet.content).unwrap();
        assert_eq!(
            exp.i64("command_length"),
            Some(i64::from(packet.content[0]))
        );
        let flag = u32::from_str_radix(exp.str("server_flag").unwrap(), 16).unwrap();
        assert_eq!(parsed.server_flag, flag);
        let command = exp.str("command").unwrap();
        assert_eq!(parsed.text.as_ref(), command.as_bytes());
        let ctx = CommandContext {
            request_id: flag,
            serial,
            ..CommandContext::default()
        };
        if command == "Relay,1#" {
            let lock = gt06::encode_command(&DeviceCommand::Lock, &ctx).unwrap();
            assert_eq!(lock.to_vec(), bytes);
        }
        gt06::encode_text_command(flag, command, serial).unwrap()
    } else {
        assert!(packet.content.is_empty());
        gt06::reply(packet.protocol_number, serial)
    };
    assert_eq!(encoded.to_vec(), bytes, "{}", exp.id);
}
