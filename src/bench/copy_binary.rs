//! PostgreSQL's binary `COPY` format for the benchmark's baseline: the fastest way rows of
//! the fleet history's shape get into a table, measured in the same run.

use bytes::{BufMut, BytesMut};

/// One history row as the baseline writes it.
pub(crate) struct HistoryRow {
    pub(crate) device_id: String,
    pub(crate) device_time_ms: i64,
    pub(crate) record_index: i32,
    pub(crate) lat_e7: i32,
    pub(crate) lon_e7: i32,
    pub(crate) speed_kmh: i32,
    pub(crate) battery_pct: i32,
    pub(crate) received_at_ms: i64,
    pub(crate) event_id: uuid::Uuid,
}

/// The table the baseline copies into (same columns as the values written).
pub(crate) const CREATE: &str = "CREATE TABLE bench_copy (device_id text, device_time_ms bigint, \
    record_index integer, lat_e7 integer, lon_e7 integer, speed_kmh integer, battery_pct integer, \
    received_at_ms bigint, event_id uuid, PRIMARY KEY (device_id, device_time_ms, record_index))";

/// `COPY … FROM STDIN (FORMAT binary)` payload for `rows`.
pub(crate) fn encode(rows: &[HistoryRow]) -> BytesMut {
    let mut out = BytesMut::with_capacity(rows.len() * 96 + 32);
    out.put_slice(b"PGCOPY\n\xff\r\n\0");
    out.put_u32(0); // flags
    out.put_u32(0); // header extension length
    for row in rows {
        out.put_i16(9);
        field(&mut out, row.device_id.as_bytes());
        field(&mut out, &row.device_time_ms.to_be_bytes());
        field(&mut out, &row.record_index.to_be_bytes());
        field(&mut out, &row.lat_e7.to_be_bytes());
        field(&mut out, &row.lon_e7.to_be_bytes());
        field(&mut out, &row.speed_kmh.to_be_bytes());
        field(&mut out, &row.battery_pct.to_be_bytes());
        field(&mut out, &row.received_at_ms.to_be_bytes());
        field(&mut out, row.event_id.as_bytes());
    }
    out.put_i16(-1);
    out
}

fn field(out: &mut BytesMut, value: &[u8]) {
    out.put_i32(i32::try_from(value.len()).unwrap_or(i32::MAX));
    out.put_slice(value);
}
