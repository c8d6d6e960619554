//! Omni vectors: device messages (decoded values, ACKs) and server commands (byte for byte).

use fleetlog_ingest::protocol::omni::{self, KeyReply, Message, parse_message};
use fleetlog_ingest::protocol::{
    Alarm, CommandContext, DeviceCommand, Inbound, LockState, Protocol, Record, Session,
    decode_records, encode_command,
};
use serde_json::Value;

use crate::common::{Exp, assert_deg, utc_ms};
use crate::frame_one;

fn server_bytes(text: &str) -> Vec<u8> {
    [&[0xFF, 0xFF], text.as_bytes(), b"\n"].concat()
}

pub(crate) fn device_frame(_v: &Value, exp: &Exp, bytes: &[u8]) {
    let frame = frame_one(&exp.id, Protocol::Omni, bytes);
    let msg = parse_message(&frame.raw).unwrap();
    assert_eq!(exp.str("type"), Some(msg.msg_type.as_str()));
    let mut session = Session::new(Protocol::Omni);
    let inbound = session.on_frame(&frame).unwrap();
    assert!(inbound.append);
    assert_eq!(inbound.login.as_ref().unwrap().device_id, msg.imei);
    let records = decode_records(Protocol::Omni, &frame.raw).unwrap();
    assert_eq!(records.len(), 1, "{}", exp.id);
    let rec = &records[0];
    assert_eq!(rec.message, msg.msg_type);
    for key in ["vendor", "imei", "server_reply", "server_must_ack"] {
        if exp.has(key) {
            header_key(exp, key, &msg, &inbound);
        }
    }
    for key in [
        "iot_voltage_v",
        "battery_pct",
        "gsm_signal",
        "charging",
        "lock_state",
        "locked",
    ] {
        if exp.has(key) {
            status_key(exp, key, rec);
        }
    }
    for key in [
        "trigger",
        "utc",
        "valid",
        "lat",
        "lon",
        "satellites",
        "hdop",
        "altitude_m",
        "mode",
    ] {
        if exp.has(key) {
            position_key(exp, key, rec);
        }
    }
    let exchange = [
        "operation",
        "operation_key",
        "user_id",
        "unix_time",
        "status",
        "ride_minutes",
    ];
    for key in exchange {
        if let Some(v) = exp.get(key) {
            let want = crate::common::lead_int(v).unwrap().to_string();
            assert_eq!(rec.attributes.get(key), Some(&want), "{} {key}", exp.id);
        }
    }
    other_keys(exp, rec);
}

fn header_key(exp: &Exp, key: &str, msg: &Message, inbound: &Inbound) {
    match key {
        "vendor" => assert_eq!(exp.str(key), Some(msg.vendor.as_str())),
        "imei" => assert_eq!(exp.str(key), Some(msg.imei.as_str())),
        "server_reply" => {
            assert_eq!(exp.str(key), Some("none required"));
            assert!(inbound.ack.is_none(), "{}", exp.id);
        }
        _ => {
            let want = exp.str(key).unwrap().replace("<imei>", &msg.imei);
            assert_eq!(
                inbound.ack.as_ref().unwrap().to_vec(),
                server_bytes(&want),
                "{}",
                exp.id
            );
        }
    }
}

fn status_key(exp: &Exp, key: &str, rec: &Record) {
    match key {
        "iot_voltage_v" => {
            let mv = (exp.f64(key).unwrap() * 1000.0).round() as u32;
            assert_eq!(rec.device_voltage_mv, Some(mv), "{}", exp.id);
        }
        "battery_pct" => assert_eq!(rec.battery_pct.map(i64::from), exp.i64(key)),
        "gsm_signal" => assert_eq!(rec.gsm_signal.map(i64::from), exp.i64(key)),
        "charging" => assert_eq!(rec.charging, exp.bool(key)),
        "lock_state" => {
            let want = if exp.lead_int(key) == Some(1) {
                LockState::Locked
            } else {
                LockState::Unlocked
            };
            assert_eq!(rec.lock_state, Some(want), "{}", exp.id);
        }
        _ => assert_eq!(
            rec.lock_state == Some(LockState::Locked),
            exp.bool(key).unwrap()
        ),
    }
}

fn position_key(exp: &Exp, key: &str, rec: &Record) {
    match key {
        "trigger" => {
            let want = exp.lead_int(key).unwrap().to_string();
            assert_eq!(rec.attributes.get("trigger"), Some(&want));
        }
        "utc" => assert_eq!(
            rec.device_time_ms,
            Some(utc_ms(exp.str(key).unwrap())),
            "{}",
            exp.id
        ),
        "valid" => {
            assert_eq!(Some(rec.position_valid), exp.bool(key));
            if !rec.position_valid {
                assert_eq!((rec.lat_e7, rec.lon_e7), (None, None), "{}", exp.id);
            }
        }
        "lat" => assert_deg(&exp.id, key, rec.lat_e7, exp.f64(key).unwrap()),
        "lon" => assert_deg(&exp.id, key, rec.lon_e7, exp.f64(key).unwrap()),
        "satellites" => assert_eq!(rec.satellites.map(i64::from), exp.i64(key)),
        "hdop" => assert_eq!(rec.hdop, exp.f64(key)),
        "altitude_m" => assert_eq!(rec.altitude_m, exp.f64(key)),
        _ => {
            let mode = exp.str(key).unwrap()[..1].to_owned();
            assert_eq!(rec.attributes.get("mode"), Some(&mode));
        }
    }
}

fn other_keys(exp: &Exp, rec: &Record) {
    if let Some(time) = exp.i64("unix_time") {
        assert_eq!(rec.device_time_ms, Some(time * 1000), "{}", exp.id);
    }
    if let Some(code) = exp.lead_int("alarm") {
        assert_eq!(code, 2);
        assert_eq!(rec.alarms, vec![Alarm::Fall]);
    }
    if let Some(mode) = exp.i64("speed_mode") {
        assert_eq!(rec.attributes.get("speed_mode"), Some(&mode.to_string()));
    }
    if let Some(speed) = exp.f64("speed_kmh") {
        assert!((rec.speed_kmh.unwrap() - speed).abs() < 1e-9, "{}", exp.id);
    }
    if let Some(volts) = exp.f64("battery_voltage_v") {
        assert_eq!(
            rec.vehicle_voltage_mv,
            Some((volts * 1000.0).round() as u32)
        );
    }
}

pub(crate) fn server_frame(_v: &Value, exp: &Exp, bytes: &[u8]) {
    let frame = frame_one(&exp.id, Protocol::Omni, bytes);
    let msg = parse_message(&frame.raw).unwrap();
    assert_eq!(msg.header, "SCOS");
    if let Some(msg_type) = exp.str("type") {
        assert_eq!(msg_type, msg.msg_type);
    }
    assert_eq!(parse_message(bytes).unwrap(), msg);
    assert!(decode_records(Protocol::Omni, bytes).unwrap().is_empty());
    let param = |i: usize| msg.params[i].parse::<i64>().unwrap();
    let encoded = match msg.msg_type.as_str() {
        "R0" => {
            assert_eq!(exp.lead_int("operation"), Some(param(0)));
            assert_eq!(exp.i64("key_valid_time"), Some(param(1)));
            let ctx = CommandContext {
                user_id: exp.i64("user_id").unwrap() as u32,
                unix_time_s: exp.i64("unix_time").unwrap() as u32,
                key_valid_s: param(1) as u16,
                ..CommandContext::default()
            };
            let cmd = if param(0) == 0 {
                DeviceCommand::Unlock
            } else {
                DeviceCommand::Lock
            };
            encode_command(Protocol::Omni, &msg.imei, &cmd, &ctx).unwrap()
        }
        "L0" if msg.params.is_empty() => {
            let device = format!("*SCOR,OM,{},L0,0,1234,1497689816#", msg.imei);
            omni::ack(&parse_message(device.as_bytes()).unwrap()).unwrap()
        }
        "L0" => {
            let reply = KeyReply {
                imei: msg.imei.clone(),
                operation: 0,
                key: exp.i64("operation_key").unwrap().to_string(),
                user_id: exp.i64("user_id").unwrap().to_string(),
                unix_time: exp.i64("unix_time").unwrap().to_string(),
            };
            omni::follow_up(&reply).unwrap()
        }
        "D1" => {
            let secs = exp.i64("upload_interval_s").unwrap();
            let cmd = DeviceCommand::Custom(format!("D1,{secs}"));
            omni::encode_command(&msg.imei, &cmd, &CommandContext::default()).unwrap()
        }
        "D0" => {
            omni::encode_command(&msg.imei, &DeviceCommand::Locate, &Default::default()).unwrap()
        }
        "V0" => omni::encode_command(&msg.imei, &DeviceCommand::Beep, &Default::default()).unwrap(),
        _ => {
            let body = format!("{},{}", msg.msg_type, msg.params.join(","));
            omni::encode_command(&msg.imei, &DeviceCommand::Custom(body), &Default::default())
                .unwrap()
        }
    };
    assert_eq!(encoded.to_vec(), bytes, "{}", exp.id);
}
