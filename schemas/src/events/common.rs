//! Types shared by several topics: protocols, positions, actors, states, alarms, zones.
//!
//! Each mirrors one `.avsc` file in `schemas/avro/common/`; enum variants are listed in the
//! order of the Avro symbols and serialize as those symbols.

use serde::{Deserialize, Serialize};

/// Device protocol (`Protocol.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Protocol {
    /// Teltonika codec 8 / 8E (port 5027).
    Teltonika,
    /// Omni IoT lock protocol (port 5028).
    Omni,
    /// Concox GT06 (port 5023).
    #[serde(rename = "GT06")]
    Gt06,
}

/// A WGS 84 position in degrees × 10^7 (`GeoPoint.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude in degrees × 10^7.
    pub lat_e7: i32,
    /// Longitude in degrees × 10^7.
    pub lon_e7: i32,
}

/// The role an actor acted in (`ActorRole.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorRole {
    /// A rider, acting on their own reservations and rides.
    Rider,
    /// An operator, acting on any vehicle (may force).
    Operator,
    /// An admin: operator rights plus accounts and zones.
    Admin,
    /// fleetlog itself (expiries, the ride saga).
    System,
}

/// Who issued a command (`Actor.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// Account id (UUID text), or a service name for [`ActorRole::System`].
    pub id: String,
    /// Role the actor acted in.
    pub role: ActorRole,
}

/// Lock state reported by a device (`LockState.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockState {
    /// Locked.
    Locked,
    /// Unlocked.
    Unlocked,
}

/// An alarm a device reports (`AlarmKind.avsc`); unknown symbols read as [`AlarmKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmKind {
    /// Rider pressed SOS.
    Sos,
    /// Housing or lock tampered with.
    Tamper,
    /// Vehicle fell over.
    Fall,
    /// Vehicle battery low.
    LowBattery,
    /// IoT module lost external power.
    PowerCut,
    /// Over the speed limit.
    Overspeed,
    /// Moved while locked.
    MovedWhileLocked,
    /// Being towed (moving without the wheels turning).
    Towed,
    /// Impact detected.
    Crash,
    /// Device-side geofence crossed.
    Geofence,
    /// Any other alarm, including symbols added after this build.
    #[serde(other)]
    Other,
}

/// Operational state of a vehicle (`VehicleState.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VehicleState {
    /// Free to reserve or ride.
    Available,
    /// Held for a rider.
    Reserved,
    /// A ride is on.
    InRide,
    /// Taken out by an operator.
    OutOfService,
}

/// What a zone means (`ZoneKind.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ZoneKind {
    /// Rides may only end inside.
    ServiceArea,
    /// Rides may not end inside.
    NoParking,
    /// Speed-limited.
    Slow,
}
