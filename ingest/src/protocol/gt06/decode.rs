//! GT06 packets to [`Record`]s: location (0x12, 0x22), heartbeat (0x13), alarm (0x16).

use super::{ALARM, COMMAND_REPLY, HEARTBEAT, LOCATION, LOCATION_2, LOGIN, parse_packet};
use crate::protocol::cursor::Reader;
use crate::protocol::time::Civil;
use crate::protocol::{Alarm, DecodeError, LockState, Record};

/// Decodes one stored GT06 packet. Login and command replies give no records; other
/// unknown protocol numbers are [`DecodeError::Unsupported`].
pub fn decode_records(raw: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let packet = parse_packet(raw)?;
    let mut r = Reader::new(packet.content);
    let record = match packet.protocol_number {
        LOGIN | COMMAND_REPLY => return Ok(Vec::new()),
        LOCATION | LOCATION_2 => {
            let mut rec = Record::new("location");
            gps(&mut r, &mut rec)?;
            if r.remaining() >= 8 {
                lbs(&mut r, &mut rec)?;
            }
            if packet.protocol_number == LOCATION_2 && r.remaining() >= 1 {
                rec.ignition = Some(r.u8()? != 0);
            }
            rec
        }
        HEARTBEAT => {
            let mut rec = Record::new("heartbeat");
            status(&mut r, &mut rec)?;
            rec
        }
        ALARM => alarm(&mut r)?,
        other => {
            return Err(DecodeError::Unsupported(format!(
                "gt06 protocol 0x{other:02x}"
            )));
        }
    };
    Ok(vec![record])
}

/// The device id of a login packet's content: BCD digits, one leading `0` nibble dropped
/// (`0123456789012345` → `123456789012345`).
pub fn terminal_id(content: &[u8]) -> Result<String, DecodeError> {
    let bcd = content.get(..8).ok_or(DecodeError::Truncated {
        needed: 8,
        available: content.len(),
    })?;
    let mut digits = String::with_capacity(16);
    for nibble in bcd.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        let c = char::from_digit(u32::from(nibble), 10)
            .ok_or_else(|| DecodeError::invalid("terminal id", format!("{bcd:02x?}")))?;
        digits.push(c);
    }
    Ok(digits
        .strip_prefix('0')
        .map(str::to_owned)
        .unwrap_or(digits))
}

fn datetime(r: &mut Reader<'_>) -> Result<i64, DecodeError> {
    let b = r.take(6)?;
    let f = |i: usize| b.get(i).copied().map(u32::from).unwrap_or_default();
    let civil = Civil {
        year: 2000 + i64::from(f(0)),
        month: f(1),
        day: f(2),
        hour: f(3),
        minute: f(4),
        second: f(5),
        millis: 0,
    };
    civil
        .to_unix_ms()
        .ok_or(DecodeError::invalid("datetime", format!("{b:02x?}")))
}

/// Degrees × 1 800 000 to degrees × 10^7, rounded.
fn to_e7(raw: u32, max_deg: i64, field: &'static str) -> Result<i32, DecodeError> {
    let e7 = (i64::from(raw) * 50 + 4) / 9;
    if e7 > max_deg * 10_000_000 {
        return Err(DecodeError::invalid(field, raw));
    }
    i32::try_from(e7).map_err(|_| DecodeError::invalid(field, raw))
}

/// Date-time, GPS info, latitude, longitude, speed, course/status.
fn gps(r: &mut Reader<'_>, rec: &mut Record) -> Result<(), DecodeError> {
    rec.device_time_ms = Some(datetime(r)?);
    let info = r.u8()?;
    rec.satellites = Some(info & 0x0F);
    rec.set_attr("gps_info_len", info >> 4);
    let lat = to_e7(r.u32()?, 90, "latitude")?;
    let lon = to_e7(r.u32()?, 180, "longitude")?;
    rec.speed_kmh = Some(f64::from(r.u8()?));
    let flags = r.u16()?;
    rec.heading_deg = Some(flags & 0x03FF);
    rec.position_valid = flags & (1 << 12) != 0;
    rec.lat_e7 = Some(if flags & (1 << 10) != 0 { lat } else { -lat });
    rec.lon_e7 = Some(if flags & (1 << 11) != 0 { -lon } else { lon });
    Ok(())
}

/// MCC, MNC, LAC, cell id as attributes.
fn lbs(r: &mut Reader<'_>, rec: &mut Record) -> Result<(), DecodeError> {
    rec.set_attr("mcc", r.u16()?);
    rec.set_attr("mnc", r.u8()?);
    rec.set_attr("lac", r.u16()?);
    rec.set_attr("cell_id", r.u24()?);
    Ok(())
}

/// Terminal info, voltage level (0–6), GSM signal (0–4), then alarm and language.
fn status(r: &mut Reader<'_>, rec: &mut Record) -> Result<(), DecodeError> {
    let info = r.u8()?;
    rec.lock_state = Some(if info & 0x80 != 0 {
        LockState::Locked
    } else {
        LockState::Unlocked
    });
    rec.charging = Some(info & 0x04 != 0);
    rec.ignition = Some(info & 0x02 != 0);
    rec.set_attr("armed", info & 0x01 != 0);
    match (info >> 3) & 0x07 {
        0b100 => rec.alarms.push(Alarm::Sos),
        0b011 => rec.alarms.push(Alarm::LowBattery),
        0b010 => rec.alarms.push(Alarm::PowerCut),
        0b001 => rec.alarms.push(Alarm::Vibration),
        _ => {}
    }
    let level = r.u8()?;
    rec.battery_pct = Some((u16::from(level.min(6)) * 100 / 6) as u8);
    rec.set_attr("voltage_level", level);
    rec.gsm_signal = Some(r.u8()?);
    if r.remaining() >= 1 {
        alarm_code(r.u8()?, rec);
    }
    Ok(())
}

fn alarm_code(code: u8, rec: &mut Record) {
    let alarm = match code {
        0x00 => return,
        0x01 => Alarm::Sos,
        0x02 => Alarm::PowerCut,
        0x03 | 0x09 => Alarm::Vibration,
        0x04 => Alarm::GeofenceEnter,
        0x05 => Alarm::GeofenceExit,
        0x06 => Alarm::Overspeed,
        0x0E | 0x0F | 0x19 => Alarm::LowBattery,
        0x13 => Alarm::Tamper,
        other => Alarm::Other(format!("gt06:0x{other:02x}")),
    };
    if !rec.alarms.contains(&alarm) {
        rec.alarms.push(alarm);
    }
}

/// 0x16: GPS, LBS with a length byte, status, alarm code, language.
fn alarm(r: &mut Reader<'_>) -> Result<Record, DecodeError> {
    let mut rec = Record::new("alarm");
    gps(r, &mut rec)?;
    let lbs_len = usize::from(r.u8()?);
    let lbs_bytes = r.take(lbs_len.saturating_sub(1))?;
    if lbs_bytes.len() >= 8 {
        lbs(&mut Reader::new(lbs_bytes), &mut rec)?;
    }
    status(r, &mut rec)?;
    Ok(rec)
}
