//! The vehicle decider's state: everything a decision about one vehicle may depend on.
//!
//! It is built only by [`super::evolve`] from [`super::VehicleEvent`]s, and is serialisable
//! so the processor can store it beside its offsets.

use std::collections::VecDeque;

use fleetlog_schemas::events::{GeoPoint, LockState, Protocol, VehicleState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many decided command ids (and idempotency keys) a vehicle remembers to recognise
/// re-deliveries; older ones are forgotten first.
pub const REMEMBERED_COMMANDS: usize = 64;

/// One vehicle, as the decider knows it. `Vehicle::default()` is a vehicle never heard of.
/// Stored as a [`super::VehicleSnapshot`]: a field added here takes its default in older
/// snapshots; anything else is a new `STATE_VERSION` (see `snapshot.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vehicle {
    /// Set once the vehicle is registered.
    pub registration: Option<Registration>,
    /// `Some(reason)` while an operator has it out of service.
    pub out_of_service: Option<String>,
    /// Whether its device has a session.
    pub online: bool,
    /// Time of the last session change or telemetry that set `online`, ms.
    pub presence_at_ms: Option<i64>,
    /// Last reported battery, percent.
    pub battery_pct: Option<i32>,
    /// Last reported lock state.
    pub lock_state: Option<LockState>,
    /// Last valid position.
    pub last_fix: Option<Fix>,
    /// Device time of the newest telemetry record applied; older records are ignored.
    pub last_record_time_ms: Option<i64>,
    /// Reservation or ride.
    pub activity: Activity,
    /// The device command the ride saga waits for.
    pub saga: Option<SagaStep>,
    /// Recently decided commands, for idempotency.
    pub recent: RecentCommands,
}

/// What the vehicle was registered as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The vehicle.
    pub vehicle_id: Uuid,
    /// Its IoT module.
    pub device_id: String,
    /// Protocol the device speaks.
    pub protocol: Protocol,
    /// Model name.
    pub model: String,
    /// QR code text.
    pub qr_code: String,
}

/// A valid position and the device time it was taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// Where.
    pub point: GeoPoint,
    /// Device time, ms since the Unix epoch.
    pub device_time_ms: i64,
}

/// The vehicle's reservation or ride; at most one at a time by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activity {
    /// Neither reserved nor ridden.
    #[default]
    Idle,
    /// Held for a rider.
    Reserved(Reservation),
    /// A ride was requested; the unlock is not confirmed yet.
    Starting(RideRequest),
    /// A ride is on (possibly with a lock pending to end it).
    Riding(Ride),
}

/// An active reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The reservation.
    pub reservation_id: Uuid,
    /// Who holds it.
    pub rider_id: Uuid,
    /// When it lapses, ms.
    pub expires_at_ms: i64,
}

/// A ride waiting for its unlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RideRequest {
    /// The ride.
    pub ride_id: Uuid,
    /// The rider.
    pub rider_id: Uuid,
    /// The reservation it consumed, if any.
    pub reservation_id: Option<Uuid>,
}

/// A ride in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ride {
    /// The ride.
    pub ride_id: Uuid,
    /// The rider.
    pub rider_id: Uuid,
    /// When the unlock was confirmed (billing starts), ms.
    pub started_at_ms: i64,
    /// Last valid position at the start.
    pub start_position: Option<GeoPoint>,
    /// Distance of the track so far, millimetres (sum of haversine segments).
    pub distance_mm: i64,
    /// The track's last point, the start of the next segment.
    pub last_point: Option<GeoPoint>,
}

/// What a saga step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Awaiting {
    /// The unlock that starts a ride.
    Unlock,
    /// The lock that ends a ride.
    Lock,
}

/// A device command the ride saga sent and waits to see confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaStep {
    /// What confirms it.
    pub awaiting: Awaiting,
    /// The app command that caused it.
    pub command_id: Uuid,
    /// The downlink command sent.
    pub downlink_command_id: Uuid,
    /// When it was requested, ms; a ride's billing ends here for a lock.
    pub requested_at_ms: i64,
    /// Unconfirmed at this time, it fails, ms.
    pub deadline_ms: i64,
    /// An operator forced it (a forced lock ends the ride even unconfirmed).
    pub forced: bool,
    /// The operator's reason when forced.
    pub reason: Option<String>,
}

/// Recently decided command ids and idempotency keys, newest last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecentCommands {
    /// Command ids.
    pub ids: VecDeque<Uuid>,
    /// Idempotency keys.
    pub keys: VecDeque<String>,
}

impl RecentCommands {
    /// Whether a command with this id or key was decided already.
    pub fn contains(&self, command_id: Uuid, idempotency_key: &str) -> bool {
        self.ids.contains(&command_id) || self.keys.iter().any(|k| k == idempotency_key)
    }

    /// Remember a command id (once).
    pub fn remember_id(&mut self, command_id: Uuid) {
        if !self.ids.contains(&command_id) {
            self.ids.push_back(command_id);
            if self.ids.len() > REMEMBERED_COMMANDS {
                self.ids.pop_front();
            }
        }
    }

    /// Remember an idempotency key (once).
    pub fn remember_key(&mut self, key: &str) {
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push_back(key.to_owned());
            if self.keys.len() > REMEMBERED_COMMANDS {
                self.keys.pop_front();
            }
        }
    }
}

impl Vehicle {
    /// Whether the vehicle is registered.
    pub fn is_registered(&self) -> bool {
        self.registration.is_some()
    }

    /// The vehicle id, once registered.
    pub fn vehicle_id(&self) -> Option<Uuid> {
        self.registration.as_ref().map(|r| r.vehicle_id)
    }

    /// The operational state projections show: out of service wins; a ride that is
    /// starting holds the vehicle like a reservation.
    pub fn operational_state(&self) -> VehicleState {
        if self.out_of_service.is_some() {
            return VehicleState::OutOfService;
        }
        match self.activity {
            Activity::Idle => VehicleState::Available,
            Activity::Reserved(_) | Activity::Starting(_) => VehicleState::Reserved,
            Activity::Riding(_) => VehicleState::InRide,
        }
    }

    /// The rider holding the vehicle (reservation or ride), if any.
    pub fn holder(&self) -> Option<Uuid> {
        match &self.activity {
            Activity::Idle => None,
            Activity::Reserved(r) => Some(r.rider_id),
            Activity::Starting(r) => Some(r.rider_id),
            Activity::Riding(r) => Some(r.rider_id),
        }
    }

    /// The last valid position, if any.
    pub fn position(&self) -> Option<GeoPoint> {
        self.last_fix.map(|f| f.point)
    }

    /// The earliest time, ms, at which something falls due without any input: the
    /// reservation's expiry or the saga step's deadline. A processor ticks the vehicle then.
    pub fn next_due_ms(&self) -> Option<i64> {
        let expiry = match &self.activity {
            Activity::Reserved(r) => Some(r.expires_at_ms),
            _ => None,
        };
        let deadline = self.saga.as_ref().map(|s| s.deadline_ms);
        expiry.into_iter().chain(deadline).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vehicle_never_heard_of_is_unregistered_idle_and_available() {
        let v = Vehicle::default();
        assert!(!v.is_registered());
        assert_eq!(v.activity, Activity::Idle);
        assert_eq!(v.operational_state(), VehicleState::Available);
        assert_eq!(v.holder(), None);
    }

    #[test]
    fn out_of_service_wins_over_the_activity() {
        let v = Vehicle {
            out_of_service: Some("flat tyre".into()),
            activity: Activity::Reserved(Reservation {
                reservation_id: Uuid::from_u128(1),
                rider_id: Uuid::from_u128(2),
                expires_at_ms: 0,
            }),
            ..Vehicle::default()
        };
        assert_eq!(v.operational_state(), VehicleState::OutOfService);
        assert_eq!(v.holder(), Some(Uuid::from_u128(2)));
        assert_eq!(v.next_due_ms(), Some(0));
        assert_eq!(Vehicle::default().next_due_ms(), None);
    }

    #[test]
    fn recent_commands_forget_the_oldest_beyond_the_window() {
        let mut r = RecentCommands::default();
        for i in 0..=REMEMBERED_COMMANDS as u128 {
            r.remember_id(Uuid::from_u128(i));
            r.remember_key(&i.to_string());
        }
        assert!(!r.contains(Uuid::from_u128(0), "0"));
        assert!(r.contains(Uuid::from_u128(1), "x"));
        assert!(r.contains(Uuid::nil(), "1"));
        assert_eq!(r.ids.len(), REMEMBERED_COMMANDS);
    }
}
