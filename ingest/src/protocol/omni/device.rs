//! Device-side encoders for the simulator: `*SCOR,OM,<imei>,<type>,…#\n` frames.

use bytes::Bytes;

use super::command::{KeyReply, frame, validate_type};
use crate::protocol::{CommandError, Record};

/// Any device frame: `*SCOR,OM,<imei>,<msg_type>[,<param>…]#\n` (parameters validated).
pub fn message(imei: &str, msg_type: &str, params: &[&str]) -> Result<Bytes, CommandError> {
    validate_type(msg_type)?;
    let fields: Vec<&str> = std::iter::once(msg_type)
        .chain(params.iter().copied())
        .collect();
    frame(&[], "SCOR", imei, None, &fields)
}

fn message_owned(imei: &str, msg_type: &str, params: &[String]) -> Result<Bytes, CommandError> {
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    message(imei, msg_type, &params)
}

/// Q0 check-in: IoT voltage (sent as 0.01 V), battery %, GSM signal.
pub fn checkin(
    imei: &str,
    voltage_mv: u32,
    battery_pct: u8,
    gsm: u8,
) -> Result<Bytes, CommandError> {
    let params = [
        (voltage_mv / 10).to_string(),
        battery_pct.to_string(),
        gsm.to_string(),
    ];
    message_owned(imei, "Q0", &params)
}

/// H0 heartbeat: lock state, IoT voltage (0.01 V), GSM signal, battery %, charging.
pub fn heartbeat(
    imei: &str,
    locked: bool,
    voltage_mv: u32,
    gsm: u8,
    battery_pct: u8,
    charging: bool,
) -> Result<Bytes, CommandError> {
    let params = [
        u8::from(locked).to_string(),
        (voltage_mv / 10).to_string(),
        gsm.to_string(),
        battery_pct.to_string(),
        u8::from(charging).to_string(),
    ];
    message_owned(imei, "H0", &params)
}

/// D0 position from a record's time and position; trigger 0 answers a D0 command, 1 is
/// periodic tracking.
pub fn position(imei: &str, record: &Record, trigger: u8) -> Result<Bytes, CommandError> {
    message_owned(imei, "D0", &super::position::encode(record, trigger))
}

/// R0 answer carrying the operation key.
pub fn key_reply(reply: &KeyReply) -> Result<Bytes, CommandError> {
    let params = [
        reply.operation.to_string(),
        reply.key.clone(),
        reply.user_id.clone(),
        reply.unix_time.clone(),
    ];
    message_owned(&reply.imei, "R0", &params)
}

/// L0 (unlock) or L1 (lock) result: status (0 ok), user id, time; L1 adds ride minutes.
pub fn lock_result(
    imei: &str,
    locked: bool,
    status: u8,
    user_id: u32,
    unix_time: u32,
    ride_minutes: u32,
) -> Result<Bytes, CommandError> {
    let mut params = vec![
        status.to_string(),
        user_id.to_string(),
        unix_time.to_string(),
    ];
    if locked {
        params.push(ride_minutes.to_string());
    }
    message_owned(imei, if locked { "L1" } else { "L0" }, &params)
}

/// W0 alarm with its code (1 illegal move, 2 fall, 3 tamper, 4 low battery, 6/7 cleared).
pub fn alarm(imei: &str, code: u8) -> Result<Bytes, CommandError> {
    message_owned(imei, "W0", &[code.to_string()])
}

/// S6 vehicle info: battery %, speed mode, speed (sent as 0.1 km/h), charging, voltage
/// (sent as 0.1 V, twice), lock state, GSM signal.
pub fn vehicle_info(imei: &str, record: &Record, speed_mode: u8) -> Result<Bytes, CommandError> {
    let speed = (record.speed_kmh.unwrap_or(0.0).max(0.0) * 10.0).round() as u32;
    let volts = (record.vehicle_voltage_mv.unwrap_or(0) / 100).to_string();
    let locked = record.lock_state == Some(crate::protocol::LockState::Locked);
    let params = [
        record.battery_pct.unwrap_or(0).to_string(),
        speed_mode.to_string(),
        speed.to_string(),
        u8::from(record.charging.unwrap_or(false)).to_string(),
        volts.clone(),
        volts,
        u8::from(locked).to_string(),
        record.gsm_signal.unwrap_or(0).to_string(),
    ];
    message_owned(imei, "S6", &params)
}
