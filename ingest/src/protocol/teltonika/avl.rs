//! AVL record decoding for Codec 8, 8 Extended and 16.

use std::collections::BTreeMap;

use super::{CODEC_8, CODEC_8E, CODEC_12, CODEC_13, CODEC_14, CODEC_16, split_packet};
use crate::protocol::LockState;
use crate::protocol::cursor::Reader;
use crate::protocol::{Alarm, DecodeError, IoValue, Record};

/// How a codec lays out its IO element.
#[derive(Clone, Copy)]
struct IoLayout {
    /// Event IO id and total count are 2 bytes (8E) rather than 1.
    wide_event: bool,
    /// Codec 16 puts a generation-type byte after the event id.
    generation: bool,
    /// The total IO count is 2 bytes (8E).
    wide_total: bool,
    /// Per-group counts are 2 bytes (8E).
    wide_counts: bool,
    /// IO ids are 2 bytes (8E, 16).
    wide_ids: bool,
    /// A variable-length NX group follows the 8-byte group (8E).
    nx: bool,
}

impl IoLayout {
    fn for_codec(codec: u8) -> Option<Self> {
        let layout = match codec {
            CODEC_8 => Self::narrow(),
            CODEC_8E => Self {
                wide_event: true,
                wide_total: true,
                wide_counts: true,
                wide_ids: true,
                nx: true,
                ..Self::narrow()
            },
            CODEC_16 => Self {
                wide_event: true,
                generation: true,
                wide_ids: true,
                ..Self::narrow()
            },
            _ => return None,
        };
        Some(layout)
    }

    fn narrow() -> Self {
        Self {
            wide_event: false,
            generation: false,
            wide_total: false,
            wide_counts: false,
            wide_ids: false,
            nx: false,
        }
    }

    fn count(self, r: &mut Reader<'_>, wide: bool) -> Result<u16, DecodeError> {
        if wide { r.u16() } else { r.u8().map(u16::from) }
    }
}

/// Decodes one stored Teltonika frame. Login packets, keep-alives and Codec 12/13/14
/// frames give no records; an unknown codec is an error.
pub fn decode_records(raw: &[u8]) -> Result<Vec<Record>, DecodeError> {
    match raw {
        [0xFF] => return Ok(Vec::new()),
        [0x00, len, ..] if *len != 0 => return super::parse_login(raw).map(|_| Vec::new()),
        _ => {}
    }
    let packet = split_packet(raw)?;
    match packet.codec_id {
        CODEC_12 | CODEC_13 | CODEC_14 => Ok(Vec::new()),
        codec => {
            let layout = IoLayout::for_codec(codec).ok_or(DecodeError::UnknownCodec(codec))?;
            decode_data(packet.data, layout)
        }
    }
}

fn decode_data(data: &[u8], layout: IoLayout) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(data);
    let _codec = r.u8()?;
    let first = r.u8()?;
    let mut records = Vec::new();
    for _ in 0..first {
        records.push(decode_record(&mut r, layout)?);
    }
    let second = r.u8()?;
    if first != second {
        return Err(DecodeError::CountMismatch { first, second });
    }
    if r.remaining() != 0 {
        return Err(DecodeError::Malformed("bytes after the record count"));
    }
    Ok(records)
}

fn decode_record(r: &mut Reader<'_>, layout: IoLayout) -> Result<Record, DecodeError> {
    let mut rec = Record::new("avl");
    let ts = r.u64()?;
    rec.device_time_ms =
        Some(i64::try_from(ts).map_err(|_| DecodeError::invalid("timestamp", ts))?);
    rec.priority = Some(r.u8()?);
    rec.lon_e7 = Some(r.i32()?);
    rec.lat_e7 = Some(r.i32()?);
    rec.altitude_m = Some(f64::from(r.i16()?));
    rec.heading_deg = Some(r.u16()?);
    let satellites = r.u8()?;
    rec.satellites = Some(satellites);
    rec.position_valid = satellites > 0;
    rec.speed_kmh = Some(f64::from(r.u16()?));
    let event = layout.count(r, layout.wide_event)?;
    if layout.generation {
        rec.set_attr("generation_type", r.u8()?);
    }
    rec.event_io_id = Some(event);
    let _total = layout.count(r, layout.wide_total)?;
    rec.io = decode_io(r, layout)?;
    apply_known_io(&mut rec);
    Ok(rec)
}

fn decode_io(r: &mut Reader<'_>, layout: IoLayout) -> Result<BTreeMap<u16, IoValue>, DecodeError> {
    let mut io = BTreeMap::new();
    for width in [1usize, 2, 4, 8] {
        let n = layout.count(r, layout.wide_counts)?;
        for _ in 0..n {
            let id = layout.count(r, layout.wide_ids)?;
            let value = match width {
                1 => IoValue::U8(r.u8()?),
                2 => IoValue::U16(r.u16()?),
                4 => IoValue::U32(r.u32()?),
                _ => IoValue::U64(r.u64()?),
            };
            io.insert(id, value);
        }
    }
    if layout.nx {
        let n = r.u16()?;
        for _ in 0..n {
            let id = r.u16()?;
            let len = usize::from(r.u16()?);
            io.insert(id, IoValue::Bytes(r.take(len)?.to_vec()));
        }
    }
    Ok(io)
}

/// IO ids with a meaning on TST100 / FMB devices.
pub(crate) mod io_id {
    /// GSM signal 0–5.
    pub(crate) const GSM_SIGNAL: u16 = 21;
    /// Total odometer, metres.
    pub(crate) const ODOMETER: u16 = 16;
    /// Speed, km/h.
    pub(crate) const SPEED: u16 = 24;
    /// External voltage, mV.
    pub(crate) const EXTERNAL_VOLTAGE: u16 = 66;
    /// Battery voltage, mV.
    pub(crate) const BATTERY_VOLTAGE: u16 = 67;
    /// Battery level, %.
    pub(crate) const BATTERY_LEVEL: u16 = 113;
    /// Ignition 0/1.
    pub(crate) const IGNITION: u16 = 239;
    /// Movement 0/1.
    pub(crate) const MOVEMENT: u16 = 240;
}

fn apply_known_io(rec: &mut Record) {
    let get = |id: u16| rec.io.get(&id).and_then(IoValue::as_u64);
    let small = |v: u64| u8::try_from(v).unwrap_or(u8::MAX);
    let milli = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    rec.gsm_signal = get(io_id::GSM_SIGNAL).map(small);
    rec.odometer_m = get(io_id::ODOMETER);
    rec.vehicle_voltage_mv = get(io_id::EXTERNAL_VOLTAGE).map(milli);
    rec.device_voltage_mv = get(io_id::BATTERY_VOLTAGE).map(milli);
    rec.battery_pct = get(io_id::BATTERY_LEVEL).map(small);
    rec.ignition = get(io_id::IGNITION).map(|v| v != 0);
    rec.movement = get(io_id::MOVEMENT).map(|v| v != 0);
    // TST100 scooter firmware reports the scooter's power state as ignition: on while
    // unlocked (rideable), off once `sclockctrl 1` locked it.
    rec.lock_state = rec.ignition.map(|on| {
        if on {
            LockState::Unlocked
        } else {
            LockState::Locked
        }
    });
    if !rec.position_valid
        && let Some(speed) = get(io_id::SPEED)
    {
        rec.speed_kmh = Some(speed as f64);
    }
    if rec.priority == Some(2) {
        rec.alarms.push(Alarm::Panic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codec_is_named() {
        let data = [0x99u8, 0, 0];
        let crc = crate::protocol::crc16_ibm(&data);
        let mut raw = vec![0, 0, 0, 0, 0, 0, 0, 3];
        raw.extend_from_slice(&data);
        raw.extend_from_slice(&u32::from(crc).to_be_bytes());
        let err = decode_records(&raw).unwrap_err();
        assert_eq!(err.to_string(), "unknown codec 0x99");
    }
}
