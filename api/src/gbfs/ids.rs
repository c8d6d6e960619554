//! Public vehicle ids (`vehicle_id` in 3.0, `bike_id` in 2.3): rotated after every trip,
//! stable between fetches, never the device id nor our vehicle id, and unlinkable without
//! the server's key.
//!
//! `public id = UUID v5(NAMESPACE, SHA-256(secret) ‖ vehicle id ‖ last trip)`, where the last
//! trip is the id of the vehicle's newest ended ride in the rides read model (none before
//! its first trip). A trip that ends changes the last trip, so the id; reservations, failed
//! rides and new telemetry do not. The key is secret, so nobody else can compute an id from
//! a vehicle id, nor tell that two ids name the same vehicle. Same inputs, same id: every API
//! process with the same `FLEETLOG_GBFS__ID_SECRET` serves the same ids.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of the public ids (a fixed random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_93b7_4d0a_8e55_c1f0_7a2b_9d43);

/// The 32-byte key of the public ids.
#[derive(Clone)]
pub struct IdKey([u8; 32]);

impl IdKey {
    /// The key of `secret` (`FLEETLOG_GBFS__ID_SECRET`).
    pub fn from_secret(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// A random key for this process only.
    pub fn random() -> Self {
        Self(crate::auth::tokens::random_bytes::<32>())
    }
}

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdKey(<redacted>)")
    }
}

/// The public id of `vehicle_id` whose newest ended trip is `last_trip`.
pub fn public_vehicle_id(key: &IdKey, vehicle_id: Uuid, last_trip: Option<Uuid>) -> Uuid {
    let mut name = Vec::with_capacity(32 + 16 + 17);
    name.extend_from_slice(&key.0);
    name.extend_from_slice(vehicle_id.as_bytes());
    match last_trip {
        None => name.push(0),
        Some(trip) => {
            name.push(1);
            name.extend_from_slice(trip.as_bytes());
        }
    }
    Uuid::new_v5(&NAMESPACE, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_rotate_per_trip_and_depend_on_the_key() {
        let key = IdKey::from_secret("a secret of enough bytes");
        let vehicle = Uuid::from_u128(7);
        let (trip1, trip2) = (Uuid::from_u128(100), Uuid::from_u128(101));
        let before = public_vehicle_id(&key, vehicle, None);
        assert_eq!(before, public_vehicle_id(&key, vehicle, None));
        let after1 = public_vehicle_id(&key, vehicle, Some(trip1));
        let after2 = public_vehicle_id(&key, vehicle, Some(trip2));
        assert!(before != after1 && after1 != after2 && before != after2);
        assert_ne!(before, vehicle);
        assert_ne!(public_vehicle_id(&key, Uuid::from_u128(8), None), before);
        let other = IdKey::from_secret("another secret of enough bytes");
        assert_ne!(public_vehicle_id(&other, vehicle, None), before);
        assert_eq!(before.get_version_num(), 5);
    }
}
