//! The common decoded record every protocol produces.

use std::collections::BTreeMap;

/// Lock state reported by the scooter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockState {
    /// The scooter is locked.
    Locked,
    /// The scooter is unlocked (rideable).
    Unlocked,
}

/// Alarms the protocols can report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Alarm {
    /// SOS button.
    Sos,
    /// Teltonika panic priority.
    Panic,
    /// Moved while locked.
    IllegalMovement,
    /// Fell over.
    Fall,
    /// Tampering / illegal dismantling.
    Tamper,
    /// Low battery.
    LowBattery,
    /// External power cut.
    PowerCut,
    /// Vibration / shock.
    Vibration,
    /// Over speed.
    Overspeed,
    /// Geofence entered.
    GeofenceEnter,
    /// Geofence left.
    GeofenceExit,
    /// A previous alarm was cleared.
    Cleared,
    /// Controller error code (Omni E0/E1).
    ControllerError(u32),
    /// An alarm code without a mapping, as `"<protocol>:<code>"`.
    Other(String),
}

/// Value of one raw IO element (Teltonika), big-endian as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IoValue {
    /// 1-byte value.
    U8(u8),
    /// 2-byte value.
    U16(u16),
    /// 4-byte value.
    U32(u32),
    /// 8-byte value.
    U64(u64),
    /// Variable-length value (Codec 8E NX group).
    Bytes(Vec<u8>),
}

impl IoValue {
    /// The value as an unsigned integer (`None` for variable-length values).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::U8(v) => Some(u64::from(*v)),
            Self::U16(v) => Some(u64::from(*v)),
            Self::U32(v) => Some(u64::from(*v)),
            Self::U64(v) => Some(*v),
            Self::Bytes(_) => None,
        }
    }

    /// The value's bytes as they appear on the wire.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        match self {
            Self::U8(v) => v.to_be_bytes().to_vec(),
            Self::U16(v) => v.to_be_bytes().to_vec(),
            Self::U32(v) => v.to_be_bytes().to_vec(),
            Self::U64(v) => v.to_be_bytes().to_vec(),
            Self::Bytes(v) => v.clone(),
        }
    }
}

/// One decoded record, the same for every protocol.
///
/// Position fields are `None` when the message carries no coordinates at all. With
/// coordinates but no current fix (Teltonika satellites 0, Omni `V`, GT06 not positioned)
/// they hold the last known position and `position_valid` is `false`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Message kind: `"avl"` (Teltonika), the Omni type (`"Q0"`, `"D0"` …), or the GT06
    /// name (`"location"`, `"heartbeat"`, `"alarm"`).
    pub message: String,
    /// Device time in ms since the Unix epoch; `None` when the message has no time (use the
    /// receive time).
    pub device_time_ms: Option<i64>,
    /// Latitude in degrees × 10^7.
    pub lat_e7: Option<i32>,
    /// Longitude in degrees × 10^7.
    pub lon_e7: Option<i32>,
    /// Altitude in metres.
    pub altitude_m: Option<f64>,
    /// Speed in km/h.
    pub speed_kmh: Option<f64>,
    /// Heading in degrees, 0 = north, clockwise.
    pub heading_deg: Option<u16>,
    /// Satellites in use.
    pub satellites: Option<u8>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
    /// Whether the position is a current fix.
    pub position_valid: bool,
    /// Vehicle battery level in percent (GT06: the tracker's voltage level scaled to %).
    pub battery_pct: Option<u8>,
    /// Vehicle (external) voltage in mV (Teltonika IO 66, Omni S6).
    pub vehicle_voltage_mv: Option<u32>,
    /// Tracker module's own supply/battery voltage in mV (Teltonika IO 67, Omni Q0/H0).
    pub device_voltage_mv: Option<u32>,
    /// Whether the battery is charging.
    pub charging: Option<bool>,
    /// Ignition (Teltonika IO 239, GT06 ACC).
    pub ignition: Option<bool>,
    /// Movement (Teltonika IO 240).
    pub movement: Option<bool>,
    /// GSM signal as the device reports it (scale differs by protocol).
    pub gsm_signal: Option<u8>,
    /// Lock state.
    pub lock_state: Option<LockState>,
    /// Alarms raised by this record.
    pub alarms: Vec<Alarm>,
    /// Odometer in metres (Teltonika IO 16).
    pub odometer_m: Option<u64>,
    /// Teltonika record priority (0 low, 1 high, 2 panic).
    pub priority: Option<u8>,
    /// Teltonika event IO id (the element that triggered the record).
    pub event_io_id: Option<u16>,
    /// Raw IO elements, id → value (Teltonika; Codec 8E NX values included).
    pub io: BTreeMap<u16, IoValue>,
    /// Protocol-specific extras as text (GT06 `mcc`/`lac`, Omni `user_id`/`status` …).
    pub attributes: BTreeMap<String, String>,
}

impl Record {
    /// A record of the given message kind with every other field empty.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Latitude in degrees.
    pub fn lat_deg(&self) -> Option<f64> {
        self.lat_e7.map(|v| f64::from(v) / 1e7)
    }

    /// Longitude in degrees.
    pub fn lon_deg(&self) -> Option<f64> {
        self.lon_e7.map(|v| f64::from(v) / 1e7)
    }

    /// Sets a text attribute.
    pub fn set_attr(&mut self, key: &str, value: impl ToString) {
        self.attributes.insert(key.to_owned(), value.to_string());
    }
}
