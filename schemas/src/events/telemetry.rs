//! `scooter.telemetry.v1`: decoded device records (`schemas/avro/telemetry/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{AlarmKind, LockState};
use super::ids::uuid_text;

/// One decoded device record (`Telemetry.avsc`); value of [`crate::topics::TELEMETRY`].
///
/// `(device_id, device_time_ms, record_index)` identifies a record across re-deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telemetry {
    /// Device id (IMEI, or GT06 terminal id); the record key.
    pub device_id: String,
    /// The [`super::RawFrame`] this was decoded from.
    #[serde(with = "uuid_text")]
    pub frame_id: Uuid,
    /// Position within the frame, from 0.
    pub record_index: i32,
    /// Device clock timestamp, ms since the Unix epoch.
    pub device_time_ms: i64,
    /// When the gateway received the frame, ms since the Unix epoch.
    pub received_at_ms: i64,
    /// Latitude in degrees × 10^7 (meaningful when `position_valid`).
    pub lat_e7: i32,
    /// Longitude in degrees × 10^7 (meaningful when `position_valid`).
    pub lon_e7: i32,
    /// Altitude in metres.
    pub altitude_m: i32,
    /// Ground speed in km/h.
    pub speed_kmh: i32,
    /// Course in degrees from true north, 0..359.
    pub heading_deg: i32,
    /// Satellites in use.
    pub satellites: i32,
    /// Whether the GNSS fix was valid.
    pub position_valid: bool,
    /// Battery state of charge in percent, when reported.
    pub battery_pct: Option<i32>,
    /// Lock state, when reported.
    pub lock_state: Option<LockState>,
    /// Alarms active in this record.
    pub alarms: Vec<AlarmKind>,
    /// Odometer in metres, when reported.
    pub odometer_m: Option<i64>,
    /// Every I/O element, in the order sent.
    pub io: Vec<IoElement>,
}

/// One protocol-specific I/O element (`IoElement.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoElement {
    /// Element id in the protocol's numbering.
    pub id: i32,
    /// Fixed-size value (unsigned 64-bit values keep their bit pattern).
    pub value: Option<i64>,
    /// Variable-length value, as sent.
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub raw: Option<Vec<u8>>,
}
