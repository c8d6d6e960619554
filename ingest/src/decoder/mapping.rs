//! A protocol [`Record`] as the `Telemetry` event stored on `scooter.telemetry.v1`.

use fleetlog_schemas::events::{
    AlarmKind, IoElement, LockState as StoredLock, RawFrame, Telemetry,
};

use crate::protocol::{Alarm, IoValue, LockState, Record};

/// How far ahead of the gateway's receive time a device clock may be (clock skew); a
/// record dated later is dated at its receive time instead ([`clamped_device_time`]).
pub const MAX_FUTURE_MS: i64 = 5 * 60 * 1000;

/// The device time stored for a record: the device's clock, or the receive time when the
/// device has none or claims a time more than [`MAX_FUTURE_MS`] after it — one forged or
/// broken record dated next year must not make every later record look older (the fleet
/// read model keeps the newest device time) and freeze the scooter's state.
pub fn clamped_device_time(device_time_ms: Option<i64>, received_at_ms: i64) -> i64 {
    match device_time_ms {
        Some(t) if t <= received_at_ms.saturating_add(MAX_FUTURE_MS) => t,
        _ => received_at_ms,
    }
}

/// The telemetry event for record `index` of `frame`.
///
/// Records without a device clock (heartbeats) or dated in the future (see
/// [`clamped_device_time`]) take the gateway's receive time; records
/// without coordinates carry `position_valid = false` and zero coordinates, which readers
/// must ignore.
pub fn telemetry(frame: &RawFrame, device_id: &str, index: usize, record: &Record) -> Telemetry {
    let has_position = record.lat_e7.is_some() && record.lon_e7.is_some();
    Telemetry {
        device_id: device_id.to_owned(),
        frame_id: frame.frame_id,
        record_index: i32::try_from(index).unwrap_or(i32::MAX),
        device_time_ms: clamped_device_time(record.device_time_ms, frame.received_at_ms),
        received_at_ms: frame.received_at_ms,
        lat_e7: record.lat_e7.unwrap_or(0),
        lon_e7: record.lon_e7.unwrap_or(0),
        altitude_m: record.altitude_m.map_or(0, round),
        speed_kmh: record.speed_kmh.map_or(0, round),
        heading_deg: record.heading_deg.map_or(0, i32::from),
        satellites: record.satellites.map_or(0, i32::from),
        position_valid: has_position && record.position_valid,
        battery_pct: record.battery_pct.map(i32::from),
        lock_state: record.lock_state.map(|l| match l {
            LockState::Locked => StoredLock::Locked,
            LockState::Unlocked => StoredLock::Unlocked,
        }),
        alarms: record.alarms.iter().filter_map(alarm).collect(),
        odometer_m: record
            .odometer_m
            .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        io: record.io.iter().map(|(id, value)| io(*id, value)).collect(),
    }
}

fn round(v: f64) -> i32 {
    // Saturating float-to-int conversion (NaN becomes 0).
    v.round() as i32
}

fn alarm(alarm: &Alarm) -> Option<AlarmKind> {
    Some(match alarm {
        Alarm::Sos | Alarm::Panic => AlarmKind::Sos,
        Alarm::IllegalMovement => AlarmKind::MovedWhileLocked,
        Alarm::Fall => AlarmKind::Fall,
        Alarm::Tamper => AlarmKind::Tamper,
        Alarm::LowBattery => AlarmKind::LowBattery,
        Alarm::PowerCut => AlarmKind::PowerCut,
        Alarm::Vibration => AlarmKind::Crash,
        Alarm::Overspeed => AlarmKind::Overspeed,
        Alarm::GeofenceEnter | Alarm::GeofenceExit => AlarmKind::Geofence,
        Alarm::Cleared => return None,
        Alarm::ControllerError(_) | Alarm::Other(_) => AlarmKind::Other,
    })
}

fn io(id: u16, value: &IoValue) -> IoElement {
    match value {
        IoValue::Bytes(bytes) => IoElement {
            id: i32::from(id),
            value: None,
            raw: Some(bytes.clone()),
        },
        // Unsigned 64-bit values keep their bit pattern in the signed Avro long.
        other => IoElement {
            id: i32::from(id),
            value: other.as_u64().map(|v| v as i64),
            raw: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_times_beyond_the_skew_allowance_are_dated_at_their_receive_time() {
        let received = 1_764_000_000_000;
        assert_eq!(
            clamped_device_time(Some(received - 60_000), received),
            received - 60_000
        );
        assert_eq!(
            clamped_device_time(Some(received + MAX_FUTURE_MS), received),
            received + MAX_FUTURE_MS
        );
        assert_eq!(
            clamped_device_time(Some(received + MAX_FUTURE_MS + 1), received),
            received
        );
        assert_eq!(clamped_device_time(Some(i64::MAX), received), received);
        assert_eq!(clamped_device_time(None, received), received);
    }
}
