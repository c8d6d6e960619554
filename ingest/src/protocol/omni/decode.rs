//! Omni messages to [`Record`]s.

use std::str::FromStr;

use super::message::{Message, parse_message};
use crate::protocol::time::Civil;
use crate::protocol::{Alarm, DecodeError, LockState, Record};

/// Decodes one stored Omni frame into (at most one) record.
pub fn decode_records(raw: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let msg = parse_message(raw)?;
    if !msg.is_from_device() {
        return Ok(Vec::new());
    }
    let mut rec = Record::new(msg.msg_type.as_str());
    // Some firmware sends an all-zero time field: treat an invalid one as absent.
    rec.device_time_ms = msg.time.as_deref().and_then(compact_time);
    match msg.msg_type.as_str() {
        "Q0" => checkin(&msg, &mut rec)?,
        "H0" => heartbeat(&msg, &mut rec)?,
        "D0" => super::position::decode(&msg, &mut rec)?,
        "S6" => vehicle_info(&msg, &mut rec)?,
        "W0" => rec
            .alarms
            .push(alarm(num(msg.param(0, "alarm")?, "alarm")?)),
        "E0" | "E1" => rec.alarms.push(Alarm::ControllerError(num(
            msg.param(0, "error")?,
            "error",
        )?)),
        "L0" | "L1" | "R0" => lock_exchange(&msg, &mut rec)?,
        _ => rec.set_attr("params", msg.params.join(",")),
    }
    Ok(vec![rec])
}

/// Parses an integer field strictly (digits only).
pub(crate) fn num<T: FromStr>(s: &str, field: &'static str) -> Result<T, DecodeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::invalid(field, s));
    }
    s.parse().map_err(|_| DecodeError::invalid(field, s))
}

/// Parses a decimal field strictly (`-`? digits, one optional `.`).
pub(crate) fn decimal(s: &str, field: &'static str) -> Result<f64, DecodeError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.len() <= 16
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return Err(DecodeError::invalid(field, s));
    }
    s.parse().map_err(|_| DecodeError::invalid(field, s))
}

fn flag(s: &str, field: &'static str) -> Result<bool, DecodeError> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(DecodeError::invalid(field, s)),
    }
}

fn lock(s: &str) -> Result<LockState, DecodeError> {
    Ok(if flag(s, "lock_state")? {
        LockState::Locked
    } else {
        LockState::Unlocked
    })
}

/// `yyMMddhhmmss` to ms since the epoch.
fn compact_time(s: &str) -> Option<i64> {
    let n = |i: usize| s.get(i..i + 2).and_then(|d| d.parse::<u32>().ok());
    Civil {
        year: 2000 + i64::from(n(0)?),
        month: n(2)?,
        day: n(4)?,
        hour: n(6)?,
        minute: n(8)?,
        second: n(10)?,
        millis: 0,
    }
    .to_unix_ms()
}

fn checkin(msg: &Message, rec: &mut Record) -> Result<(), DecodeError> {
    rec.device_voltage_mv = Some(num::<u32>(msg.param(0, "voltage")?, "voltage")? * 10);
    rec.battery_pct = Some(num(msg.param(1, "battery")?, "battery")?);
    rec.gsm_signal = Some(num(msg.param(2, "gsm_signal")?, "gsm_signal")?);
    Ok(())
}

fn heartbeat(msg: &Message, rec: &mut Record) -> Result<(), DecodeError> {
    rec.lock_state = Some(lock(msg.param(0, "lock_state")?)?);
    rec.device_voltage_mv = Some(num::<u32>(msg.param(1, "voltage")?, "voltage")? * 10);
    rec.gsm_signal = Some(num(msg.param(2, "gsm_signal")?, "gsm_signal")?);
    rec.battery_pct = Some(num(msg.param(3, "battery")?, "battery")?);
    rec.charging = Some(flag(msg.param(4, "charging")?, "charging")?);
    Ok(())
}

/// S6: battery %, speed mode, speed (0.1 km/h), charging, two voltages (0.1 V), lock state,
/// GSM signal, then extras kept as the `extra` attribute.
fn vehicle_info(msg: &Message, rec: &mut Record) -> Result<(), DecodeError> {
    rec.battery_pct = Some(num(msg.param(0, "battery")?, "battery")?);
    rec.set_attr(
        "speed_mode",
        num::<u8>(msg.param(1, "speed_mode")?, "speed_mode")?,
    );
    rec.speed_kmh = Some(f64::from(num::<u32>(msg.param(2, "speed")?, "speed")?) / 10.0);
    rec.charging = Some(flag(msg.param(3, "charging")?, "charging")?);
    let volts = |i: usize| -> Result<u32, DecodeError> {
        Ok(num::<u32>(msg.param(i, "voltage")?, "voltage")?.saturating_mul(100))
    };
    rec.vehicle_voltage_mv = Some(volts(4)?);
    rec.set_attr("vehicle_voltage2_mv", volts(5)?);
    rec.lock_state = Some(lock(msg.param(6, "lock_state")?)?);
    rec.gsm_signal = Some(num(msg.param(7, "gsm_signal")?, "gsm_signal")?);
    if let Some(extra) = msg.params.get(8..).filter(|e| !e.is_empty()) {
        rec.set_attr("extra", extra.join(","));
    }
    Ok(())
}

/// W0 codes (fork numbering: 3 tamper, 4 low battery).
fn alarm(code: u32) -> Alarm {
    match code {
        1 => Alarm::IllegalMovement,
        2 => Alarm::Fall,
        3 => Alarm::Tamper,
        4 => Alarm::LowBattery,
        6 | 7 => Alarm::Cleared,
        other => Alarm::Other(format!("omni:W0:{other}")),
    }
}

/// R0 answer (op, key, user, time) and L0/L1 results (status, user, time[, ride minutes]).
fn lock_exchange(msg: &Message, rec: &mut Record) -> Result<(), DecodeError> {
    let names: &[&'static str] = match msg.msg_type.as_str() {
        "R0" => &["operation", "operation_key", "user_id", "unix_time"],
        "L1" => &["status", "user_id", "unix_time", "ride_minutes"],
        _ => &["status", "user_id", "unix_time"],
    };
    for (name, value) in names.iter().zip(&msg.params) {
        rec.set_attr(name, value);
    }
    let time_index = names
        .iter()
        .position(|n| *n == "unix_time")
        .unwrap_or(usize::MAX);
    if let Some(t) = msg.params.get(time_index) {
        rec.device_time_ms = Some(num::<i64>(t, "unix_time")?.saturating_mul(1000));
    }
    let status = msg.param(0, "status")?;
    rec.lock_state = match (msg.msg_type.as_str(), status) {
        ("L0", "0") => Some(LockState::Unlocked),
        ("L1", "0") => Some(LockState::Locked),
        _ => None,
    };
    Ok(())
}
