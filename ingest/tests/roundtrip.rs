//! Simulator encoders → framer → session → decoder round trips, and the command
//! conversations (Codec 12, Omni R0 → key → L0/L1, GT06 0x80 → 0x15).

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use std::collections::BTreeMap;

use bytes::BytesMut;
use fleetlog_ingest::protocol::omni::{self, KeyReply};
use fleetlog_ingest::protocol::teltonika::{self, codec12};
use fleetlog_ingest::protocol::{
    CommandContext, DeviceCommand, Frame, Inbound, IoValue, LockState, Protocol, Record, Session,
    decode_records, encode_command, gt06, next_frame,
};
use proptest::prelude::*;

fn frame(protocol: Protocol, bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    let frame = next_frame(protocol, &mut buf, 4096).unwrap().unwrap();
    assert!(buf.is_empty());
    frame
}

fn feed(session: &mut Session, bytes: &[u8]) -> Inbound {
    session.on_frame(&frame(session.protocol(), bytes)).unwrap()
}

fn avl_record() -> impl Strategy<Value = Record> {
    let gps = (
        0i64..4_000_000_000_000,
        -900_000_000i32..=900_000_000,
        -1_800_000_000i32..=1_800_000_000,
    );
    let motion = (-500i16..5000, 0u16..360, 0u8..30, 0u16..300);
    let io = proptest::collection::btree_map(
        1u16..2000,
        prop_oneof![
            any::<u8>().prop_map(IoValue::U8),
            any::<u16>().prop_map(IoValue::U16),
            any::<u32>().prop_map(IoValue::U32),
            any::<u64>().prop_map(IoValue::U64),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(IoValue::Bytes),
        ],
        0..12,
    );
    (gps, motion, io, 0u8..3, any::<u16>()).prop_map(
        |((t, lat, lon), (alt, hd, sats, spd), io, prio, ev)| Record {
            device_time_ms: Some(t),
            lat_e7: Some(lat),
            lon_e7: Some(lon),
            altitude_m: Some(f64::from(alt)),
            heading_deg: Some(hd),
            satellites: Some(sats),
            speed_kmh: Some(f64::from(spd)),
            priority: Some(prio),
            event_io_id: Some(ev),
            io,
            ..Record::new("avl")
        },
    )
}

proptest! {
    #[test]
    fn teltonika_codec8e_round_trip(records in proptest::collection::vec(avl_record(), 1..5)) {
        let packet = teltonika::device::codec8e_packet(&records).unwrap();
        let mut session = Session::new(Protocol::Teltonika);
        feed(&mut session, &teltonika::device::login_packet("356307042441013").unwrap());
        let inbound = feed(&mut session, &packet);
        prop_assert_eq!(inbound.ack, Some(teltonika::data_ack(records.len() as u32)));
        let decoded = decode_records(Protocol::Teltonika, &packet).unwrap();
        prop_assert_eq!(decoded.len(), records.len());
        for (got, sent) in decoded.iter().zip(&records) {
            prop_assert_eq!(got.device_time_ms, sent.device_time_ms);
            prop_assert_eq!((got.lat_e7, got.lon_e7), (sent.lat_e7, sent.lon_e7));
            prop_assert_eq!(got.altitude_m, sent.altitude_m);
            prop_assert_eq!(got.heading_deg, sent.heading_deg);
            prop_assert_eq!(got.satellites, sent.satellites);
            prop_assert_eq!(&got.io, &sent.io);
            prop_assert_eq!(got.event_io_id, sent.event_io_id);
            prop_assert_eq!(got.position_valid, sent.satellites.unwrap() > 0);
            // Without a fix, the speed IO element (id 24) stands in for the GPS speed.
            let io_speed = sent.io.get(&24).and_then(IoValue::as_u64);
            let speed = match io_speed {
                Some(v) if !got.position_valid => Some(v as f64),
                _ => sent.speed_kmh,
            };
            prop_assert_eq!(got.speed_kmh, speed);
        }
        // Re-encoding the decoded records gives the same bytes where decoding kept every
        // field (the GPS speed of a record without a fix is replaced, see above).
        let lossless = decoded
            .iter()
            .all(|r| r.position_valid || !r.io.contains_key(&24));
        if lossless {
            prop_assert_eq!(teltonika::device::codec8e_packet(&decoded).unwrap(), packet);
        }
    }

    #[test]
    fn gt06_location_round_trip(
        t in 946_684_800_000i64..4_102_444_800_000,
        lat in -900_000_000i32..=900_000_000,
        lon in -1_800_000_000i32..=1_800_000_000,
        speed in 0u8..=255, heading in 0u16..360, sats in 0u8..16, valid in any::<bool>(),
        serial in any::<u16>(),
    ) {
        let sent = Record {
            device_time_ms: Some(t / 1000 * 1000),
            lat_e7: Some(lat), lon_e7: Some(lon), speed_kmh: Some(f64::from(speed)),
            heading_deg: Some(heading), satellites: Some(sats), position_valid: valid,
            ..Record::new("location")
        };
        let bytes = gt06::device::location(&sent, serial).unwrap();
        let got = &decode_records(Protocol::Gt06, &bytes).unwrap()[0];
        prop_assert_eq!(got.device_time_ms, sent.device_time_ms);
        // 1/1 800 000 degree resolution: within 3 units of 1e-7 degree.
        prop_assert!((got.lat_e7.unwrap() - lat).abs() <= 3);
        prop_assert!((got.lon_e7.unwrap() - lon).abs() <= 3);
        prop_assert_eq!((got.speed_kmh, got.heading_deg, got.satellites), (sent.speed_kmh, sent.heading_deg, sent.satellites));
        prop_assert_eq!(got.position_valid, valid);
    }

    #[test]
    fn omni_position_round_trip(
        t in 946_684_800_000i64..4_102_444_800_000,
        lat in -899_999_999i32..=899_999_999,
        lon in -1_799_999_999i32..=1_799_999_999,
        sats in 0u8..30, alt_dm in -1000i32..50_000, hdop_c in 0u32..5000,
    ) {
        let sent = Record {
            device_time_ms: Some(t / 10 * 10),
            lat_e7: Some(lat), lon_e7: Some(lon), position_valid: true, satellites: Some(sats),
            altitude_m: Some(f64::from(alt_dm) / 10.0), hdop: Some(f64::from(hdop_c) / 100.0),
            ..Record::new("D0")
        };
        let bytes = omni::device::position("123456789012345", &sent, 1).unwrap();
        let got = &decode_records(Protocol::Omni, &frame(Protocol::Omni, &bytes).raw).unwrap()[0];
        prop_assert_eq!(got.device_time_ms, sent.device_time_ms);
        prop_assert_eq!((got.lat_e7, got.lon_e7), (sent.lat_e7, sent.lon_e7));
        prop_assert_eq!((got.satellites, got.altitude_m, got.hdop), (sent.satellites, sent.altitude_m, sent.hdop));
        prop_assert!(got.position_valid);
    }
}

#[test]
fn teltonika_named_fields_and_command_conversation() {
    let rec = Record {
        device_time_ms: Some(1_700_000_000_000),
        battery_pct: Some(77),
        odometer_m: Some(123_456),
        ignition: Some(true),
        movement: Some(false),
        vehicle_voltage_mv: Some(36_500),
        device_voltage_mv: Some(4_100),
        gsm_signal: Some(4),
        ..Record::new("avl")
    };
    let packet = teltonika::device::codec8e_packet(std::slice::from_ref(&rec)).unwrap();
    let got = &decode_records(Protocol::Teltonika, &packet).unwrap()[0];
    assert_eq!(got.battery_pct, Some(77));
    assert_eq!(got.odometer_m, Some(123_456));
    assert_eq!((got.ignition, got.movement), (Some(true), Some(false)));
    assert_eq!(
        (got.vehicle_voltage_mv, got.device_voltage_mv),
        (Some(36_500), Some(4_100))
    );
    assert_eq!(got.gsm_signal, Some(4));

    let ctx = CommandContext::default();
    let cmd = encode_command(
        Protocol::Teltonika,
        "356307042441013",
        &DeviceCommand::Unlock,
        &ctx,
    )
    .unwrap();
    let parsed = codec12::parse(&frame(Protocol::Teltonika, &cmd).raw).unwrap();
    assert_eq!(parsed.text(), "sclockctrl 0");
    let mut session = Session::new(Protocol::Teltonika);
    assert!(
        session
            .on_frame(&frame(Protocol::Teltonika, &packet))
            .is_err(),
        "data before login"
    );
    let login = feed(
        &mut session,
        &teltonika::device::login_packet("356307042441013").unwrap(),
    );
    assert_eq!(login.login.unwrap().device_id, "356307042441013");
    assert_eq!(feed(&mut session, &[0xFF]), Inbound::default());
    let reply = feed(
        &mut session,
        &teltonika::device::command_response("Lock: unlocked").unwrap(),
    );
    assert!(reply.append && reply.ack.is_none());
    assert_eq!(reply.command_reply.unwrap().text(), "Lock: unlocked");
    let other = teltonika::device::login_packet("356307042441014").unwrap();
    assert!(
        session
            .on_frame(&frame(Protocol::Teltonika, &other))
            .is_err(),
        "id change"
    );
}

#[test]
fn omni_unlock_conversation() {
    let imei = "861123456789012";
    let mut server = Session::new(Protocol::Omni);
    let checkin = feed(
        &mut server,
        &omni::device::checkin(imei, 4120, 80, 28).unwrap(),
    );
    assert_eq!(checkin.login.unwrap().device_id, imei);
    assert!(checkin.append && checkin.ack.is_none());

    let ctx = CommandContext {
        user_id: 42,
        unix_time_s: 1_700_000_000,
        ..CommandContext::default()
    };
    let r0 = encode_command(Protocol::Omni, imei, &DeviceCommand::Unlock, &ctx).unwrap();
    // The device side reads the R0 and answers with a key.
    let r0_msg = omni::parse_message(&frame(Protocol::Omni, &r0).raw).unwrap();
    assert_eq!(
        (r0_msg.msg_type.as_str(), r0_msg.params.as_slice()),
        ("R0", &["0", "20", "42", "1700000000"].map(String::from)[..])
    );
    let key = KeyReply {
        imei: imei.into(),
        operation: 0,
        key: "77".into(),
        user_id: "42".into(),
        unix_time: "1700000000".into(),
    };
    let answer = feed(&mut server, &omni::device::key_reply(&key).unwrap());
    let reply = answer.command_reply.unwrap();
    assert!(!reply.is_final());
    let l0 = reply.follow_up.unwrap();
    assert_eq!(
        &l0[..],
        b"\xff\xff*SCOS,OM,861123456789012,L0,77,42,1700000000#\n"
    );
    // The device reports the result; the server ACKs it.
    let result = feed(
        &mut server,
        &omni::device::lock_result(imei, false, 0, 42, 1_700_000_001, 0).unwrap(),
    );
    assert_eq!(
        result.ack.unwrap(),
        omni::encode_server(imei, "L0", &[]).unwrap()
    );
    let done = result.command_reply.unwrap();
    assert!(done.is_final() && done.success == Some(true));
}

#[test]
fn omni_lock_follow_up_and_id_change() {
    let imei = "861123456789012";
    let key = KeyReply {
        imei: imei.into(),
        operation: 1,
        key: "77".into(),
        user_id: String::new(),
        unix_time: String::new(),
    };
    assert_eq!(
        &omni::follow_up(&key).unwrap()[..],
        b"\xff\xff*SCOS,OM,861123456789012,L1,77#\n"
    );
    let mut server = Session::new(Protocol::Omni);
    feed(
        &mut server,
        &omni::device::checkin(imei, 4120, 80, 28).unwrap(),
    );
    let other = omni::device::checkin("861123456789013", 4120, 80, 28).unwrap();
    assert!(
        server.on_frame(&frame(Protocol::Omni, &other)).is_err(),
        "id change"
    );
}

#[test]
fn omni_device_messages_decode() {
    let imei = "861123456789012";
    let hb = omni::device::heartbeat(imei, true, 3800, 20, 55, true).unwrap();
    let rec = &decode_records(Protocol::Omni, &hb).unwrap()[0];
    assert_eq!(
        (rec.lock_state, rec.battery_pct, rec.charging),
        (Some(LockState::Locked), Some(55), Some(true))
    );
    assert_eq!(
        (rec.device_voltage_mv, rec.gsm_signal),
        (Some(3800), Some(20))
    );
    let info = Record {
        battery_pct: Some(64),
        speed_kmh: Some(18.5),
        vehicle_voltage_mv: Some(36_100),
        lock_state: Some(LockState::Unlocked),
        gsm_signal: Some(25),
        charging: Some(false),
        ..Record::new("S6")
    };
    let s6 = omni::device::vehicle_info(imei, &info, 2).unwrap();
    let rec = &decode_records(Protocol::Omni, &s6).unwrap()[0];
    assert_eq!(
        (rec.battery_pct, rec.speed_kmh, rec.vehicle_voltage_mv),
        (Some(64), Some(18.5), Some(36_100))
    );
    assert_eq!(
        (rec.lock_state, rec.gsm_signal),
        (Some(LockState::Unlocked), Some(25))
    );
    let mut server = Session::new(Protocol::Omni);
    let alarm = feed(&mut server, &omni::device::alarm(imei, 1).unwrap());
    assert_eq!(
        alarm.ack.unwrap(),
        omni::encode_server(imei, "W0", &[]).unwrap()
    );
    let no_fix = Record {
        device_time_ms: Some(1_500_000_000_000),
        ..Record::new("D0")
    };
    let d0 = omni::device::position(imei, &no_fix, 0).unwrap();
    let answer = feed(&mut server, &d0);
    assert_eq!(
        answer.command_reply.unwrap().command_type.as_deref(),
        Some("D0")
    );
    let rec = &decode_records(Protocol::Omni, &d0).unwrap()[0];
    assert!(!rec.position_valid && rec.lat_e7.is_none());
    assert!(omni::device::message(imei, "Q0", &["1#"]).is_err());
}

#[test]
fn gt06_login_heartbeat_alarm() {
    let mut server = Session::new(Protocol::Gt06);
    let hb_rec = Record {
        lock_state: Some(LockState::Locked),
        battery_pct: Some(100),
        gsm_signal: Some(4),
        ..Record::new("heartbeat")
    };
    let hb = gt06::device::heartbeat(&hb_rec, 2).unwrap();
    assert!(
        server.on_frame(&frame(Protocol::Gt06, &hb)).is_err(),
        "data before login"
    );
    let login = feed(
        &mut server,
        &gt06::device::login("868120192222222", 1).unwrap(),
    );
    let login = login.login.unwrap();
    assert_eq!(login.device_id, "868120192222222");
    assert_eq!(login.accept_reply.unwrap(), gt06::reply(gt06::LOGIN, 1));
    let inbound = feed(&mut server, &hb);
    assert_eq!(inbound.ack.unwrap(), gt06::reply(gt06::HEARTBEAT, 2));
    let rec = &decode_records(Protocol::Gt06, &hb).unwrap()[0];
    assert_eq!(
        (rec.lock_state, rec.battery_pct, rec.gsm_signal),
        (Some(LockState::Locked), Some(100), Some(4))
    );

    let mut attrs = BTreeMap::new();
    attrs.insert("mcc".to_owned(), "246".to_owned());
    attrs.insert("cell_id".to_owned(), "21978".to_owned());
    let pos = Record {
        device_time_ms: Some(1_445_350_871_000),
        lat_e7: Some(549_453_470),
        lon_e7: Some(240_176_220),
        attributes: attrs,
        ..Record::new("alarm")
    };
    let alarm = gt06::device::alarm(&pos, 0x01, 3).unwrap();
    assert_eq!(
        feed(&mut server, &alarm).ack.unwrap(),
        gt06::reply(gt06::ALARM, 3)
    );
    let rec = &decode_records(Protocol::Gt06, &alarm).unwrap()[0];
    assert_eq!(rec.alarms, vec![fleetlog_ingest::protocol::Alarm::Sos]);
    assert_eq!(
        (
            rec.attributes["mcc"].as_str(),
            rec.attributes["cell_id"].as_str()
        ),
        ("246", "21978")
    );
}

#[test]
fn gt06_command_conversation() {
    let mut server = Session::new(Protocol::Gt06);
    feed(
        &mut server,
        &gt06::device::login("868120192222222", 1).unwrap(),
    );
    let ctx = CommandContext {
        request_id: 0xA1B2_C3D4,
        serial: 9,
        ..CommandContext::default()
    };
    let cmd = encode_command(
        Protocol::Gt06,
        "868120192222222",
        &DeviceCommand::Unlock,
        &ctx,
    )
    .unwrap();
    let packet = gt06::parse_packet(&cmd).unwrap();
    let parsed = gt06::parse_command_reply(packet.content).unwrap();
    assert_eq!(
        (parsed.server_flag, &parsed.text[..]),
        (0xA1B2_C3D4, &b"Relay,0#"[..])
    );
    let answer = gt06::device::command_reply(parsed.server_flag, "Relay OK", 4).unwrap();
    let reply = feed(&mut server, &answer).command_reply.unwrap();
    assert_eq!(
        (reply.correlation, reply.text().as_ref()),
        (Some(0xA1B2_C3D4), "Relay OK")
    );
    assert!(encode_command(Protocol::Gt06, "x", &DeviceCommand::Beep, &ctx).is_err());
    assert!(gt06::encode_text_command(1, "Relay,1#\r\n", 0).is_err());
}
