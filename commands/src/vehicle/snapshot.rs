//! The stored form of a [`Vehicle`]: what the commands processor keeps per vehicle in
//! PostgreSQL (JSON), versioned so that it can evolve.
//!
//! Rules for changing [`Vehicle`] (and the types in it):
//! - a field added takes its default when an older snapshot lacks it (`#[serde(default)]`
//!   on [`Vehicle`] and [`RecentCommands`](super::RecentCommands)); no version bump needed;
//! - a field renamed, removed or re-typed changes the meaning of stored snapshots: bump
//!   [`STATE_VERSION`] and convert older versions in [`VehicleSnapshot::into_vehicle`];
//! - a snapshot of a newer version than this build knows is refused (a poison record
//!   naming the versions), never read with fields silently dropped.
//!
//! `tests/golden/vehicle_state_v1.json` pins today's layout.

use serde::{Deserialize, Serialize};

use super::Vehicle;

/// The layout version of [`Vehicle`] snapshots this build writes.
pub const STATE_VERSION: u32 = 1;

/// Snapshots written before versions existed have the first layout.
fn first_version() -> u32 {
    1
}

/// A [`Vehicle`] with its layout version, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleSnapshot {
    /// Layout version ([`STATE_VERSION`] when written by this build).
    #[serde(default = "first_version")]
    pub version: u32,
    /// The state.
    #[serde(flatten)]
    pub vehicle: Vehicle,
}

/// A snapshot this build cannot read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Written by a newer build.
    #[error("vehicle state version {found} is newer than this build's {STATE_VERSION}")]
    Newer {
        /// The stored version.
        found: u32,
    },
    /// Not a vehicle state at all.
    #[error("vehicle state unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

impl VehicleSnapshot {
    /// The stored JSON of `vehicle` at [`STATE_VERSION`].
    ///
    /// # Errors
    /// When serialisation fails (it does not for these types).
    pub fn to_json(vehicle: &Vehicle) -> Result<serde_json::Value, serde_json::Error> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            version: u32,
            #[serde(flatten)]
            vehicle: &'a Vehicle,
        }
        serde_json::to_value(Borrowed {
            version: STATE_VERSION,
            vehicle,
        })
    }

    /// The vehicle of a stored snapshot, converted from older layouts.
    ///
    /// # Errors
    /// A snapshot of a newer version, or JSON that is no vehicle state.
    pub fn from_json(json: serde_json::Value) -> Result<Vehicle, SnapshotError> {
        let snapshot: Self = serde_json::from_value(json)?;
        snapshot.into_vehicle()
    }

    /// The vehicle, converted from older layouts (none yet).
    ///
    /// # Errors
    /// A snapshot of a newer version.
    pub fn into_vehicle(self) -> Result<Vehicle, SnapshotError> {
        if self.version > STATE_VERSION {
            return Err(SnapshotError::Newer {
                found: self.version,
            });
        }
        Ok(self.vehicle)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use fleetlog_schemas::events::{GeoPoint, LockState, Protocol};
    use serde_json::{Value, json};
    use uuid::Uuid;

    use super::*;
    use crate::vehicle::{Activity, Awaiting, Fix, RecentCommands, Registration, Ride, SagaStep};

    /// The stored layout of version 1, every field set.
    const GOLDEN_V1: &str = include_str!("../../tests/golden/vehicle_state_v1.json");

    fn every_field_set() -> Vehicle {
        let point = GeoPoint {
            lat_e7: 375_665_000,
            lon_e7: 1_269_780_000,
        };
        Vehicle {
            registration: Some(Registration {
                vehicle_id: Uuid::from_u128(1),
                device_id: "356307042441013".into(),
                protocol: Protocol::Teltonika,
                model: "Ninebot Max G30".into(),
                qr_code: "QR-1".into(),
            }),
            out_of_service: Some("repair".into()),
            online: true,
            presence_at_ms: Some(1_764_000_000_000),
            battery_pct: Some(63),
            lock_state: Some(LockState::Unlocked),
            last_fix: Some(Fix {
                point,
                device_time_ms: 1_764_000_001_000,
            }),
            last_record_time_ms: Some(1_764_000_001_000),
            activity: Activity::Riding(Ride {
                ride_id: Uuid::from_u128(2),
                rider_id: Uuid::from_u128(3),
                started_at_ms: 1_764_000_000_500,
                start_position: Some(point),
                distance_mm: 12_345,
                last_point: Some(point),
            }),
            saga: Some(SagaStep {
                awaiting: Awaiting::Lock,
                command_id: Uuid::from_u128(4),
                downlink_command_id: Uuid::from_u128(5),
                requested_at_ms: 1_764_000_002_000,
                deadline_ms: 1_764_000_032_000,
                forced: false,
                reason: None,
            }),
            recent: RecentCommands {
                ids: VecDeque::from([Uuid::from_u128(4)]),
                keys: VecDeque::from(["key-4".to_owned()]),
            },
        }
    }

    #[test]
    fn the_stored_layout_of_version_1_is_pinned() {
        let golden: Value = serde_json::from_str(GOLDEN_V1).unwrap();
        assert_eq!(
            VehicleSnapshot::to_json(&every_field_set()).unwrap(),
            golden,
            "the stored layout changed: add defaults or bump STATE_VERSION (snapshot.rs)"
        );
        assert_eq!(
            VehicleSnapshot::from_json(golden).unwrap(),
            every_field_set()
        );
    }

    #[test]
    fn a_snapshot_from_before_versions_with_fields_missing_reads_with_defaults() {
        let old = json!({"online": true, "battery_pct": 40, "activity": "Idle"});
        let vehicle = VehicleSnapshot::from_json(old).unwrap();
        assert!(vehicle.online);
        assert_eq!(vehicle.battery_pct, Some(40));
        assert_eq!(vehicle.registration, None);
        assert_eq!(vehicle.recent, RecentCommands::default());
    }

    #[test]
    fn a_snapshot_of_a_newer_build_is_refused_naming_both_versions() {
        let mut newer = VehicleSnapshot::to_json(&every_field_set()).unwrap();
        newer["version"] = json!(STATE_VERSION + 1);
        let err = VehicleSnapshot::from_json(newer).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "vehicle state version {} is newer than this build's {STATE_VERSION}",
                STATE_VERSION + 1
            )
        );
        assert!(VehicleSnapshot::from_json(json!([1, 2])).is_err());
    }
}
