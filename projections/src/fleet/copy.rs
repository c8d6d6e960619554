//! PostgreSQL's binary `COPY` format for rows of the fleet history: the bulk path of a
//! rebuild writes the history with it, and `fleetlog bench projection` uses it as its
//! baseline.

use bytes::{BufMut, BytesMut};

/// One row of `proj_fleet_v1.telemetry_history`, as the projection writes it.
pub struct HistoryRow {
    /// `device_id`.
    pub device_id: String,
    /// `device_time_ms`.
    pub device_time_ms: i64,
    /// `record_index`.
    pub record_index: i32,
    /// `day`: days since 2000-01-01 (PostgreSQL's date epoch).
    pub day: i32,
    /// `lat_e7`.
    pub lat_e7: i32,
    /// `lon_e7`.
    pub lon_e7: i32,
    /// `position_valid`.
    pub position_valid: bool,
    /// `speed_kmh`.
    pub speed_kmh: i32,
    /// `heading_deg`.
    pub heading_deg: i32,
    /// `battery_pct`.
    pub battery_pct: Option<i32>,
    /// `lock_state`.
    pub lock_state: Option<String>,
    /// `odometer_m`.
    pub odometer_m: Option<i64>,
    /// `alarms`.
    pub alarms: Vec<String>,
    /// `received_at_ms`.
    pub received_at_ms: i64,
    /// `event_id`.
    pub event_id: uuid::Uuid,
    /// `frame_id`.
    pub frame_id: uuid::Uuid,
}

/// The columns [`encode`] writes, in its order.
pub const COLUMNS: &str = "device_id, device_time_ms, record_index, day, lat_e7, lon_e7, \
    position_valid, speed_kmh, heading_deg, battery_pct, lock_state, odometer_m, alarms, \
    received_at_ms, event_id, frame_id";

/// PostgreSQL's `text` type oid (array element type of `alarms`).
const TEXT_OID: u32 = 25;

/// `COPY … FROM STDIN (FORMAT binary)` payload for `rows`.
pub fn encode(rows: &[HistoryRow]) -> BytesMut {
    encode_rows(rows.iter().map(|row| (row, None)), rows.len())
}

/// The same with two more columns per row, the record's partition and offset (after
/// [`COLUMNS`]): the bulk load's staging table.
pub fn encode_at(rows: &[(HistoryRow, i32, i64)]) -> BytesMut {
    encode_rows(
        rows.iter().map(|(row, p, o)| (row, Some((*p, *o)))),
        rows.len(),
    )
}

fn encode_rows<'a>(
    rows: impl Iterator<Item = (&'a HistoryRow, Option<(i32, i64)>)>,
    len: usize,
) -> BytesMut {
    let mut out = BytesMut::with_capacity(len * 176 + 32);
    out.put_slice(b"PGCOPY\n\xff\r\n\0");
    out.put_u32(0); // flags
    out.put_u32(0); // header extension length
    for (row, at) in rows {
        out.put_i16(if at.is_some() { 18 } else { 16 });
        field(&mut out, Some(row.device_id.as_bytes()));
        field(&mut out, Some(&row.device_time_ms.to_be_bytes()));
        field(&mut out, Some(&row.record_index.to_be_bytes()));
        field(&mut out, Some(&row.day.to_be_bytes()));
        field(&mut out, Some(&row.lat_e7.to_be_bytes()));
        field(&mut out, Some(&row.lon_e7.to_be_bytes()));
        field(&mut out, Some(&[u8::from(row.position_valid)]));
        field(&mut out, Some(&row.speed_kmh.to_be_bytes()));
        field(&mut out, Some(&row.heading_deg.to_be_bytes()));
        field(
            &mut out,
            row.battery_pct
                .map(i32::to_be_bytes)
                .as_ref()
                .map(|b| &b[..]),
        );
        field(&mut out, row.lock_state.as_deref().map(str::as_bytes));
        field(
            &mut out,
            row.odometer_m
                .map(i64::to_be_bytes)
                .as_ref()
                .map(|b| &b[..]),
        );
        field(&mut out, Some(&text_array(&row.alarms)));
        field(&mut out, Some(&row.received_at_ms.to_be_bytes()));
        field(&mut out, Some(row.event_id.as_bytes()));
        field(&mut out, Some(row.frame_id.as_bytes()));
        if let Some((partition, offset)) = at {
            field(&mut out, Some(&partition.to_be_bytes()));
            field(&mut out, Some(&offset.to_be_bytes()));
        }
    }
    out.put_i16(-1);
    out
}

/// A one-dimensional `text[]` in binary form (no dimensions when empty).
fn text_array(items: &[String]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_i32(i32::from(!items.is_empty())); // dimensions
    out.put_i32(0); // no NULL elements
    out.put_u32(TEXT_OID);
    if !items.is_empty() {
        out.put_i32(i32::try_from(items.len()).unwrap_or(i32::MAX));
        out.put_i32(1); // lower bound
        for item in items {
            field(&mut out, Some(item.as_bytes()));
        }
    }
    out.to_vec()
}

fn field(out: &mut BytesMut, value: Option<&[u8]>) {
    match value {
        Some(value) => {
            out.put_i32(i32::try_from(value.len()).unwrap_or(i32::MAX));
            out.put_slice(value);
        }
        None => out.put_i32(-1),
    }
}
