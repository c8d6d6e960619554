//! Device-side encoders for the simulator: IMEI login, Codec 8E data, Codec 12 replies.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::avl::io_id;
use super::{CODEC_8E, MAX_IMEI_LEN, codec12};
use crate::protocol::crc::crc16_ibm;
use crate::protocol::{CommandError, EncodeError, IoValue, Record};

/// The first packet of a connection: 2-byte length + ASCII IMEI.
pub fn login_packet(imei: &str) -> Result<Bytes, EncodeError> {
    if imei.is_empty() || imei.len() > MAX_IMEI_LEN || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EncodeError::range("imei", imei));
    }
    let mut out = BytesMut::with_capacity(2 + imei.len());
    out.put_u16(imei.len() as u16);
    out.put_slice(imei.as_bytes());
    Ok(out.freeze())
}

/// A Codec 12 type 0x06 reply carrying `text`.
pub fn command_response(text: &str) -> Result<Bytes, CommandError> {
    codec12::encode_response(text.as_bytes())
}

/// A Codec 8 Extended packet with one AVL record per [`Record`].
///
/// IO elements come from `record.io`, plus the named fields (battery %, odometer,
/// voltages, ignition, movement, GSM signal) under their TST100 ids when not already there.
pub fn codec8e_packet(records: &[Record]) -> Result<Bytes, EncodeError> {
    let count =
        u8::try_from(records.len()).map_err(|_| EncodeError::range("records", records.len()))?;
    let mut data = BytesMut::new();
    data.put_u8(CODEC_8E);
    data.put_u8(count);
    for record in records {
        put_record(&mut data, record)?;
    }
    data.put_u8(count);
    let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLarge(data.len()))?;
    let mut out = BytesMut::with_capacity(data.len() + 12);
    out.put_u32(0);
    out.put_u32(len);
    out.put_slice(&data);
    out.put_u32(u32::from(crc16_ibm(&data)));
    Ok(out.freeze())
}

fn put_record(out: &mut BytesMut, rec: &Record) -> Result<(), EncodeError> {
    let ts = rec.device_time_ms.unwrap_or(0);
    out.put_u64(u64::try_from(ts).map_err(|_| EncodeError::range("device_time_ms", ts))?);
    out.put_u8(rec.priority.unwrap_or(0));
    out.put_i32(rec.lon_e7.unwrap_or(0));
    out.put_i32(rec.lat_e7.unwrap_or(0));
    out.put_i16(to_int(rec.altitude_m, "altitude_m")?);
    out.put_u16(rec.heading_deg.unwrap_or(0));
    out.put_u8(rec.satellites.unwrap_or(0));
    out.put_u16(to_int(rec.speed_kmh, "speed_kmh")?);
    let io = io_with_named_fields(rec);
    out.put_u16(rec.event_io_id.unwrap_or(0));
    out.put_u16(u16::try_from(io.len()).map_err(|_| EncodeError::range("io", io.len()))?);
    put_fixed_groups(out, &io);
    let nx: Vec<_> = io
        .iter()
        .filter_map(|(id, v)| match v {
            IoValue::Bytes(b) => Some((*id, b)),
            _ => None,
        })
        .collect();
    out.put_u16(nx.len() as u16);
    for (id, bytes) in nx {
        let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::TooLarge(bytes.len()))?;
        out.put_u16(id);
        out.put_u16(len);
        out.put_slice(bytes);
    }
    Ok(())
}

fn put_fixed_groups(out: &mut BytesMut, io: &BTreeMap<u16, IoValue>) {
    for width in [1usize, 2, 4, 8] {
        let group: Vec<_> = io
            .iter()
            .filter(|(_, v)| !matches!(v, IoValue::Bytes(_)) && v.to_be_bytes().len() == width)
            .collect();
        out.put_u16(group.len() as u16);
        for (id, value) in group {
            out.put_u16(*id);
            out.put_slice(&value.to_be_bytes());
        }
    }
}

fn io_with_named_fields(rec: &Record) -> BTreeMap<u16, IoValue> {
    let mut io = rec.io.clone();
    let flag = |b: bool| IoValue::U8(u8::from(b));
    let named = [
        (io_id::IGNITION, rec.ignition.map(flag)),
        (io_id::MOVEMENT, rec.movement.map(flag)),
        (io_id::GSM_SIGNAL, rec.gsm_signal.map(IoValue::U8)),
        (io_id::BATTERY_LEVEL, rec.battery_pct.map(IoValue::U8)),
        (
            io_id::EXTERNAL_VOLTAGE,
            rec.vehicle_voltage_mv.map(saturating_u16),
        ),
        (
            io_id::BATTERY_VOLTAGE,
            rec.device_voltage_mv.map(saturating_u16),
        ),
        (
            io_id::ODOMETER,
            rec.odometer_m
                .map(|m| IoValue::U32(u32::try_from(m).unwrap_or(u32::MAX))),
        ),
    ];
    for (id, value) in named {
        if let Some(value) = value {
            io.entry(id).or_insert(value);
        }
    }
    io
}

fn saturating_u16(v: u32) -> IoValue {
    IoValue::U16(u16::try_from(v).unwrap_or(u16::MAX))
}

fn to_int<T: TryFrom<i64>>(value: Option<f64>, field: &'static str) -> Result<T, EncodeError> {
    let v = value.unwrap_or(0.0).round();
    if !v.is_finite() {
        return Err(EncodeError::range(field, v));
    }
    T::try_from(v as i64).map_err(|_| EncodeError::range(field, v))
}
