//! Device-side encoders for the simulator: login, location, heartbeat, alarm, 0x15 reply.

use bytes::Bytes;

use super::{ALARM, COMMAND_REPLY, HEARTBEAT, LOCATION, LOGIN, build_packet};
use crate::protocol::time::Civil;
use crate::protocol::{EncodeError, LockState, Record};

/// 0x01 login: the IMEI as 8 BCD bytes (left-padded with `0` to 16 digits).
pub fn login(imei: &str, serial: u16) -> Result<Bytes, EncodeError> {
    if imei.is_empty() || imei.len() > 16 || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EncodeError::range("imei", imei));
    }
    let padded = format!("{imei:0>16}");
    let content: Vec<u8> = padded
        .as_bytes()
        .chunks(2)
        .map(|pair| pair.iter().fold(0u8, |acc, d| (acc << 4) | (d - b'0')))
        .collect();
    build_packet(LOGIN, &content, serial)
}

/// 0x12 location from a record (time, position, speed, heading, satellites; LBS from the
/// `mcc`/`mnc`/`lac`/`cell_id` attributes, zero when absent).
pub fn location(record: &Record, serial: u16) -> Result<Bytes, EncodeError> {
    let mut content = gps(record)?;
    content.extend_from_slice(&lbs(record));
    build_packet(LOCATION, &content, serial)
}

/// 0x13 heartbeat from a record's lock state, charging, ignition, battery % and GSM signal.
pub fn heartbeat(record: &Record, serial: u16) -> Result<Bytes, EncodeError> {
    let mut content = status(record);
    content.extend_from_slice(&[0x00, 0x02]);
    build_packet(HEARTBEAT, &content, serial)
}

/// 0x16 alarm: position, LBS, status and the alarm `code` (0x01 SOS, 0x02 power cut …).
pub fn alarm(record: &Record, code: u8, serial: u16) -> Result<Bytes, EncodeError> {
    let mut content = gps(record)?;
    content.push(9);
    content.extend_from_slice(&lbs(record));
    content.extend_from_slice(&status(record));
    content.extend_from_slice(&[code, 0x02]);
    build_packet(ALARM, &content, serial)
}

/// 0x15 reply to a 0x80 command, echoing its server flag (language 0x0002).
pub fn command_reply(server_flag: u32, text: &str, serial: u16) -> Result<Bytes, EncodeError> {
    let len = u8::try_from(text.len() + 4).map_err(|_| EncodeError::TooLarge(text.len()))?;
    let mut content = vec![len];
    content.extend_from_slice(&server_flag.to_be_bytes());
    content.extend_from_slice(text.as_bytes());
    content.extend_from_slice(&[0x00, 0x02]);
    build_packet(COMMAND_REPLY, &content, serial)
}

fn gps(rec: &Record) -> Result<Vec<u8>, EncodeError> {
    let ms = rec.device_time_ms.unwrap_or(0);
    let c = Civil::from_unix_ms(ms);
    let year = u8::try_from(c.year - 2000).map_err(|_| EncodeError::range("device_time_ms", ms))?;
    let mut out = vec![
        year,
        c.month as u8,
        c.day as u8,
        c.hour as u8,
        c.minute as u8,
        c.second as u8,
    ];
    out.push(0xC0 | rec.satellites.unwrap_or(0).min(15));
    let lat = rec.lat_e7.unwrap_or(0);
    let lon = rec.lon_e7.unwrap_or(0);
    for v in [lat, lon] {
        let raw = (u64::from(v.unsigned_abs()) * 9 + 25) / 50;
        out.extend_from_slice(&(raw as u32).to_be_bytes());
    }
    let speed = rec.speed_kmh.unwrap_or(0.0).round();
    let speed = u8::try_from(speed as i64).map_err(|_| EncodeError::range("speed_kmh", speed))?;
    out.push(speed);
    let mut flags = rec.heading_deg.unwrap_or(0) % 360;
    flags |= u16::from(rec.position_valid) << 12;
    flags |= u16::from(lon < 0) << 11;
    flags |= u16::from(lat >= 0) << 10;
    out.extend_from_slice(&flags.to_be_bytes());
    Ok(out)
}

fn lbs(rec: &Record) -> [u8; 8] {
    let attr = |k: &str| {
        rec.attributes
            .get(k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let [_, _, mcc_hi, mcc_lo] = attr("mcc").to_be_bytes();
    let [_, _, _, mnc] = attr("mnc").to_be_bytes();
    let [_, _, lac_hi, lac_lo] = attr("lac").to_be_bytes();
    let [_, c1, c2, c3] = attr("cell_id").to_be_bytes();
    [mcc_hi, mcc_lo, mnc, lac_hi, lac_lo, c1, c2, c3]
}

fn status(rec: &Record) -> Vec<u8> {
    let mut info = 0u8;
    if rec.lock_state == Some(LockState::Locked) {
        info |= 0x80;
    }
    if rec.charging == Some(true) {
        info |= 0x04;
    }
    if rec.ignition == Some(true) {
        info |= 0x02;
    }
    let level = (u16::from(rec.battery_pct.unwrap_or(0).min(100)) * 6 + 50) / 100;
    vec![info, level as u8, rec.gsm_signal.unwrap_or(0)]
}
