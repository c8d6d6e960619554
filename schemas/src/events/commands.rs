//! `app.commands.v1`: app and operator commands as the API accepted them
//! (`schemas/avro/commands/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{Actor, GeoPoint, Protocol, ZoneKind};
use super::ids::{uuid_text, uuid_text_opt};

/// Value of [`crate::topics::APP_COMMANDS`] (`AppCommand.avsc`): what every command shares,
/// plus the command itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCommand {
    /// Id the API returned to the client; outcome events carry it.
    #[serde(with = "uuid_text")]
    pub command_id: Uuid,
    /// The request's `Idempotency-Key` (or the command id when none was sent).
    pub idempotency_key: String,
    /// Who sent it.
    pub actor: Actor,
    /// When the API accepted it, ms since the Unix epoch.
    pub requested_at_ms: i64,
    /// The command.
    pub command: AppCommandBody,
}

impl AppCommand {
    /// The record key: the vehicle id, or the zone id for [`DefineZone`].
    pub fn key(&self) -> Uuid {
        match &self.command {
            AppCommandBody::ReserveVehicle(c) => c.vehicle_id,
            AppCommandBody::CancelReservation(c) => c.vehicle_id,
            AppCommandBody::StartRide(c) => c.vehicle_id,
            AppCommandBody::EndRide(c) => c.vehicle_id,
            AppCommandBody::RegisterVehicle(c) => c.vehicle_id,
            AppCommandBody::SetOutOfService(c) => c.vehicle_id,
            AppCommandBody::SetInService(c) => c.vehicle_id,
            AppCommandBody::RemoteLock(c) => c.vehicle_id,
            AppCommandBody::RemoteUnlock(c) => c.vehicle_id,
            AppCommandBody::LocateVehicle(c) => c.vehicle_id,
            AppCommandBody::DefineZone(c) => c.zone_id,
        }
    }
}

/// The union of `AppCommand.command`: one variant per branch, in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppCommandBody {
    /// Hold a vehicle.
    ReserveVehicle(ReserveVehicle),
    /// Release a reservation.
    CancelReservation(CancelReservation),
    /// Start a ride.
    StartRide(StartRide),
    /// End a ride.
    EndRide(EndRide),
    /// Add a vehicle to the fleet.
    RegisterVehicle(RegisterVehicle),
    /// Take a vehicle out of service.
    SetOutOfService(SetOutOfService),
    /// Put a vehicle back into service.
    SetInService(SetInService),
    /// Lock remotely.
    RemoteLock(RemoteLock),
    /// Unlock remotely.
    RemoteUnlock(RemoteUnlock),
    /// Ask for a fresh position.
    LocateVehicle(LocateVehicle),
    /// Define or change a zone.
    DefineZone(DefineZone),
}

/// A rider asks to hold a vehicle (`ReserveVehicle.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveVehicle {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
}

/// Release a reservation (`CancelReservation.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelReservation {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reservation; `None` means the vehicle's current one.
    #[serde(with = "uuid_text_opt")]
    pub reservation_id: Option<Uuid>,
    /// Why, when an operator cancels.
    pub reason: Option<String>,
}

/// A rider asks to start a ride (`StartRide.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRide {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The rider's reservation of it, if any.
    #[serde(with = "uuid_text_opt")]
    pub reservation_id: Option<Uuid>,
    /// Where the rider's phone says they are.
    pub rider_position: Option<GeoPoint>,
}

/// End a ride (`EndRide.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndRide {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The ride; `None` means the vehicle's current one.
    #[serde(with = "uuid_text_opt")]
    pub ride_id: Option<Uuid>,
    /// Operator override of the rider's checks.
    pub force: bool,
    /// Why (required with `force`).
    pub reason: Option<String>,
}

/// Add a vehicle and pair it with its device (`RegisterVehicle.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterVehicle {
    /// Id for the new vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// IoT module id (IMEI, or GT06 terminal id).
    pub device_id: String,
    /// Protocol the device speaks.
    pub protocol: Protocol,
    /// Vehicle model name.
    pub model: String,
    /// QR code text printed on the vehicle.
    pub qr_code: String,
}

/// Take a vehicle out of service (`SetOutOfService.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOutOfService {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// Even during a ride or reservation.
    pub force: bool,
    /// Why.
    pub reason: String,
}

/// Put a vehicle back into service (`SetInService.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetInService {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// Why, optionally.
    pub reason: Option<String>,
}

/// Lock a vehicle remotely (`RemoteLock.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLock {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// Operator override of the state checks.
    pub force: bool,
    /// Why (required with `force`).
    pub reason: Option<String>,
}

/// Unlock a vehicle remotely outside a ride (`RemoteUnlock.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteUnlock {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// Operator override of the state checks.
    pub force: bool,
    /// Why (required with `force`).
    pub reason: Option<String>,
}

/// Ask a vehicle for a fresh position (`LocateVehicle.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocateVehicle {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
}

/// Define a zone or replace its definition (`DefineZone.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefineZone {
    /// The zone; the record key.
    #[serde(with = "uuid_text")]
    pub zone_id: Uuid,
    /// What it means.
    pub kind: ZoneKind,
    /// Display name.
    pub name: String,
    /// Outer ring first, then holes; each ring closed.
    pub rings: Vec<Vec<GeoPoint>>,
    /// Speed limit inside in km/h (SLOW zones).
    pub speed_limit_kmh: Option<i32>,
}
