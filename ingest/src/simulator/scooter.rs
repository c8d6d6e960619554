//! The physical state of one simulated scooter and the record it reports.

use rand::Rng;

use super::motion;
use crate::protocol::{LockState, Record};

/// Altitude reported by every scooter (Seoul's city centre), metres.
const ALTITUDE_M: f64 = 30.0;
/// Satellites in view.
const SATELLITES: u8 = 10;
/// GSM signal on the Teltonika 0–5 scale (Omni and GT06 rescale it).
const GSM_SIGNAL: u8 = 4;
/// Voltage of the tracker module's own supply, mV.
const MODULE_VOLTAGE_MV: u32 = 4_100;

/// Where a scooter is and what it is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct Scooter {
    /// Latitude, degrees.
    pub lat_deg: f64,
    /// Longitude, degrees.
    pub lon_deg: f64,
    /// Heading, degrees clockwise from north, in `[0, 360)`.
    pub heading_deg: f64,
    /// Current speed, km/h (0 while locked).
    pub speed_kmh: f64,
    /// Battery level, percent in `[0, 100]`.
    pub battery_pct: f64,
    /// Lock state; only unlocked scooters move.
    pub lock: LockState,
    /// Distance travelled in total, metres.
    pub odometer_m: f64,
    /// Device time of the last unlock, ms since the epoch (for the Omni ride minutes).
    pub unlocked_at_ms: Option<i64>,
}

impl Scooter {
    /// A locked, fully charged scooter standing at the given point, heading north.
    pub fn at(lat_deg: f64, lon_deg: f64) -> Self {
        Self {
            lat_deg,
            lon_deg,
            heading_deg: 0.0,
            speed_kmh: 0.0,
            battery_pct: 100.0,
            lock: LockState::Locked,
            odometer_m: 0.0,
            unlocked_at_ms: None,
        }
    }

    /// A locked scooter at a random point within [`motion::START_RADIUS_M`] of Seoul City
    /// Hall, with a random heading, battery (40–100 %) and odometer.
    pub fn random_start(rng: &mut impl Rng) -> Self {
        let (lat, lon) = motion::random_point(rng);
        Self {
            heading_deg: rng.random_range(0.0..360.0),
            battery_pct: rng.random_range(40.0..100.0),
            odometer_m: rng.random_range(0.0..2_000_000.0_f64).round(),
            ..Self::at(lat, lon)
        }
    }

    /// Whether the scooter is locked.
    pub fn is_locked(&self) -> bool {
        self.lock == LockState::Locked
    }

    /// Locks or unlocks at device time `now_ms`; returns whether the state changed.
    pub fn set_lock(&mut self, lock: LockState, now_ms: i64) -> bool {
        if self.lock == lock {
            return false;
        }
        self.lock = lock;
        match lock {
            LockState::Locked => self.speed_kmh = 0.0,
            LockState::Unlocked => self.unlocked_at_ms = Some(now_ms),
        }
        true
    }

    /// Whole minutes since the last unlock (0 if never unlocked).
    pub fn ride_minutes(&self, now_ms: i64) -> u32 {
        let ms = self.unlocked_at_ms.map_or(0, |t| now_ms.saturating_sub(t));
        u32::try_from(ms / 60_000).unwrap_or(u32::MAX)
    }

    /// Vehicle battery voltage in mV: a 10S pack, 33 V empty to 42 V full.
    pub fn pack_voltage_mv(&self) -> u32 {
        33_000 + (self.battery_pct.clamp(0.0, 100.0) * 90.0) as u32
    }

    /// The protocol-neutral record of the current state at device time `now_ms`.
    ///
    /// Lock state travels as `lock_state` and, for Teltonika, as ignition (IO 239: on while
    /// unlocked) and movement (IO 240).
    pub fn record(&self, now_ms: i64) -> Record {
        let unlocked = !self.is_locked();
        Record {
            device_time_ms: Some(now_ms),
            lat_e7: Some(to_e7(self.lat_deg)),
            lon_e7: Some(to_e7(self.lon_deg)),
            altitude_m: Some(ALTITUDE_M),
            speed_kmh: Some(self.speed_kmh.max(0.0).round()),
            heading_deg: Some((self.heading_deg.rem_euclid(360.0).round() as u16) % 360),
            satellites: Some(SATELLITES),
            hdop: Some(0.9),
            position_valid: true,
            battery_pct: Some(self.battery_pct.clamp(0.0, 100.0).round() as u8),
            vehicle_voltage_mv: Some(self.pack_voltage_mv()),
            device_voltage_mv: Some(MODULE_VOLTAGE_MV),
            charging: Some(false),
            ignition: Some(unlocked),
            movement: Some(self.speed_kmh > 0.0),
            gsm_signal: Some(GSM_SIGNAL),
            lock_state: Some(self.lock),
            odometer_m: Some(self.odometer_m.max(0.0) as u64),
            priority: Some(0),
            event_io_id: Some(0),
            ..Record::new("avl")
        }
    }
}

fn to_e7(deg: f64) -> i32 {
    (deg * 1e7).round() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locking_stops_the_scooter_and_unlocking_starts_the_ride_clock() {
        let mut s = Scooter::at(37.5, 127.0);
        assert!(!s.set_lock(LockState::Locked, 0));
        assert!(s.set_lock(LockState::Unlocked, 60_000));
        s.speed_kmh = 15.0;
        assert_eq!(s.ride_minutes(60_000 + 5 * 60_000), 5);
        assert!(s.set_lock(LockState::Locked, 0));
        assert_eq!(s.speed_kmh, 0.0);
        let rec = s.record(1_000);
        assert_eq!(rec.lat_e7, Some(375_000_000));
        assert_eq!(
            (rec.lock_state, rec.ignition),
            (Some(LockState::Locked), Some(false))
        );
    }
}
