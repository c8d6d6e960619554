//! Teltonika vectors: IMEI login, Codec 8/8E data, Codec 12 commands and replies.

use fleetlog_ingest::protocol::teltonika::{self, codec12};
use fleetlog_ingest::protocol::{
    DeviceCommand, FrameKind, IoValue, Protocol, Record, Session, decode_records,
};
use serde_json::Value;

use crate::common::{Exp, hex, utc_ms};
use crate::{check_crc_claim, frame_one};

const LOGIN: &str = "000F333536333037303432343431303133";

fn logged_in_session() -> Session {
    let mut session = Session::new(Protocol::Teltonika);
    session
        .on_frame(&frame_one("login", Protocol::Teltonika, &hex(LOGIN)))
        .unwrap();
    session
}

pub(crate) fn device_frame(v: &Value, exp: &Exp, bytes: &[u8]) {
    let frame = frame_one(&exp.id, Protocol::Teltonika, bytes);
    check_crc_claim(v, &frame);
    match frame.kind {
        FrameKind::TeltonikaLogin => login(exp, &frame),
        FrameKind::TeltonikaPacket { codec_id: 0x0C } => codec12_reply(exp, &frame),
        FrameKind::TeltonikaPacket { .. } => avl(exp, &frame),
        other => panic!("{}: unexpected kind {other:?}", exp.id),
    }
}

fn login(exp: &Exp, frame: &fleetlog_ingest::protocol::Frame) {
    let mut session = Session::new(Protocol::Teltonika);
    let inbound = session.on_frame(frame).unwrap();
    let login = inbound.login.unwrap();
    assert_eq!(Some(login.device_id.as_str()), exp.str("imei"));
    assert_eq!(exp.i64("imei_length"), Some(login.device_id.len() as i64));
    assert_eq!(
        login.accept_reply.unwrap().to_vec(),
        hex(exp.str("server_reply_accept_hex").unwrap())
    );
    assert_eq!(
        login.reject_reply.unwrap().to_vec(),
        hex(exp.str("server_reply_reject_hex").unwrap())
    );
    assert!(!inbound.append);
    assert_eq!(session.device_id(), exp.str("imei"));
    assert!(
        decode_records(Protocol::Teltonika, &frame.raw)
            .unwrap()
            .is_empty()
    );
}

fn avl(exp: &Exp, frame: &fleetlog_ingest::protocol::Frame) {
    let raw = &frame.raw;
    if let Some(len) = exp.i64("data_field_length") {
        assert_eq!(
            u32::from_be_bytes(raw[4..8].try_into().unwrap()),
            len as u32,
            "{}",
            exp.id
        );
    }
    if let Some(codec) = exp.lead_int("codec_id") {
        assert_eq!(
            frame.kind,
            FrameKind::TeltonikaPacket {
                codec_id: codec as u8
            }
        );
    }
    let crc = exp.lead_int("crc16").unwrap();
    assert_eq!(
        u32::from_be_bytes(raw[raw.len() - 4..].try_into().unwrap()),
        crc as u32
    );
    let records = decode_records(Protocol::Teltonika, raw).unwrap();
    assert_eq!(exp.i64("record_count"), Some(records.len() as i64));
    let inbound = logged_in_session().on_frame(frame).unwrap();
    assert!(inbound.append && inbound.command_reply.is_none());
    assert_eq!(
        inbound.ack.unwrap().to_vec(),
        hex(exp.str("server_ack_hex").unwrap())
    );
    let expected = exp.get("records").unwrap().as_array().unwrap();
    assert_eq!(expected.len(), records.len());
    for (i, (rec, e)) in records.iter().zip(expected).enumerate() {
        let e = Exp::new(&format!("{}.records[{i}]", exp.id), e);
        record(&e, rec);
        e.done();
    }
    if let Some(nx) = exp.i64("nx_count") {
        let got = records
            .iter()
            .flat_map(|r| r.io.values())
            .filter(|v| matches!(v, IoValue::Bytes(_)));
        assert_eq!(got.count() as i64, nx);
    }
    if let Some(cross) = exp.object("cross_checks") {
        cross_checks(&cross, &records[0]);
        cross.done();
    }
}

fn record(e: &Exp, rec: &Record) {
    let ts = e.i64("timestamp_ms").unwrap();
    assert_eq!(rec.device_time_ms, Some(ts), "{}", e.id);
    assert_eq!(utc_ms(e.str("utc").unwrap()), ts, "{}", e.id);
    assert_eq!(rec.priority, Some(e.i64("priority").unwrap() as u8));
    assert_eq!(
        rec.lat_e7,
        Some((e.f64("lat").unwrap() * 1e7).round() as i32),
        "{}",
        e.id
    );
    assert_eq!(
        rec.lon_e7,
        Some((e.f64("lon").unwrap() * 1e7).round() as i32),
        "{}",
        e.id
    );
    assert_eq!(rec.altitude_m, e.f64("alt_m"));
    assert_eq!(rec.heading_deg, Some(e.i64("angle_deg").unwrap() as u16));
    let sats = e.i64("sats").unwrap() as u8;
    assert_eq!(rec.satellites, Some(sats));
    assert_eq!(rec.position_valid, sats > 0);
    assert_eq!(rec.speed_kmh, e.f64("speed_kmh"));
    assert_eq!(rec.event_io_id, Some(e.i64("event_io").unwrap() as u16));
    let io = e.get("io_hex").unwrap().as_object().unwrap();
    assert_eq!(e.i64("total_io"), Some(io.len() as i64), "{}", e.id);
    assert_eq!(rec.io.len(), io.len(), "{}", e.id);
    for (id, value) in io {
        let got = &rec.io[&id.parse::<u16>().unwrap()];
        assert_eq!(
            got.to_be_bytes(),
            hex(value.as_str().unwrap()),
            "{} io {id}",
            e.id
        );
    }
    let known = |id: u16| rec.io.get(&id).and_then(IoValue::as_u64);
    assert_eq!(rec.battery_pct.map(u64::from), known(113));
    assert_eq!(rec.odometer_m, known(16));
    assert_eq!(rec.ignition, known(239).map(|v| v != 0));
    assert_eq!(rec.movement, known(240).map(|v| v != 0));
}

fn cross_checks(c: &Exp, rec: &Record) {
    assert_eq!(
        rec.io[&24].as_u64(),
        c.i64("io24_speed_kmh").map(|v| v as u64)
    );
    assert_eq!(rec.odometer_m, c.i64("io16_odometer_m").map(|v| v as u64));
    assert_eq!(
        rec.vehicle_voltage_mv,
        c.i64("io66_ext_voltage_mV").map(|v| v as u32)
    );
    assert_eq!(
        rec.device_voltage_mv,
        c.i64("io67_battery_mV").map(|v| v as u32)
    );
    let operator = c.lead_int("io241_operator").unwrap();
    assert_eq!(rec.io[&241].as_u64(), Some(operator as u64));
}

fn codec12_common(exp: &Exp, raw: &[u8]) -> codec12::Message {
    let msg = codec12::parse(raw).unwrap();
    assert_eq!(exp.lead_int("codec_id"), Some(0x0C));
    assert_eq!(exp.lead_int("type"), Some(i64::from(msg.message_type)));
    assert_eq!(exp.i64("size"), Some(msg.payload.len() as i64));
    let crc = exp.lead_int("crc16").unwrap();
    assert_eq!(
        u32::from_be_bytes(raw[raw.len() - 4..].try_into().unwrap()),
        crc as u32
    );
    let content = exp.str("content").unwrap();
    if exp.id.contains("binary") {
        assert_eq!(msg.payload.to_vec(), hex(content));
    } else {
        assert_eq!(msg.text(), content);
    }
    msg
}

fn codec12_reply(exp: &Exp, frame: &fleetlog_ingest::protocol::Frame) {
    let msg = codec12_common(exp, &frame.raw);
    assert_eq!(msg.message_type, codec12::TYPE_RESPONSE);
    let inbound = logged_in_session().on_frame(frame).unwrap();
    assert_eq!(exp.bool("server_must_not_ack"), Some(inbound.ack.is_none()));
    assert!(inbound.append);
    let reply = inbound.command_reply.unwrap();
    assert_eq!(reply.payload, msg.payload);
    assert!(reply.is_final() && reply.correlation.is_none());
    assert!(
        decode_records(Protocol::Teltonika, &frame.raw)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        teltonika::device::command_response(&msg.text()).unwrap(),
        frame.raw
    );
}

pub(crate) fn server_frame(v: &Value, exp: &Exp, bytes: &[u8]) {
    if v["variant"] == "imei-ack" {
        assert_eq!(teltonika::login_reply(true).to_vec(), bytes, "{}", exp.id);
        return;
    }
    let frame = frame_one(&exp.id, Protocol::Teltonika, bytes);
    check_crc_claim(v, &frame);
    let msg = codec12_common(exp, bytes);
    assert_eq!(msg.message_type, codec12::TYPE_COMMAND);
    assert_eq!(
        codec12::encode_command(&msg.payload).unwrap().to_vec(),
        bytes,
        "{}",
        exp.id
    );
    if !exp.id.contains("binary") {
        let cmd = match msg.text().as_str() {
            "sclockctrl 0" => DeviceCommand::Unlock,
            "sclockctrl 1" => DeviceCommand::Lock,
            other => DeviceCommand::Custom(other.to_owned()),
        };
        assert_eq!(
            teltonika::encode_command(&cmd).unwrap().to_vec(),
            bytes,
            "{}",
            exp.id
        );
    }
}
