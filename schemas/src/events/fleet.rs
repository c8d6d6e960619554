//! `fleet.events.v1`: domain events decided by the commands service
//! (`schemas/avro/events/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{Actor, AlarmKind, GeoPoint, Protocol, VehicleState, ZoneKind};
use super::ids::{uuid_text, uuid_text_opt};

/// Value of [`crate::topics::FLEET_EVENTS`] (`FleetEvent.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEvent {
    /// When the decision was taken, ms since the Unix epoch.
    pub occurred_at_ms: i64,
    /// What happened.
    pub event: FleetEventBody,
}

impl FleetEvent {
    /// The vehicle the event is about; `None` for zone events and for command outcomes of
    /// zone commands (those are keyed by zone id).
    pub fn vehicle_id(&self) -> Option<Uuid> {
        use FleetEventBody as E;
        match &self.event {
            E::VehicleRegistered(e) => Some(e.vehicle_id),
            E::VehicleStateChanged(e) => Some(e.vehicle_id),
            E::ReservationMade(e) => Some(e.vehicle_id),
            E::ReservationExpired(e) => Some(e.vehicle_id),
            E::ReservationCancelled(e) => Some(e.vehicle_id),
            E::RideRequested(e) => Some(e.vehicle_id),
            E::RideStarted(e) => Some(e.vehicle_id),
            E::RideEnded(e) => Some(e.vehicle_id),
            E::RideFailed(e) => Some(e.vehicle_id),
            E::CommandAccepted(e) => e.vehicle_id,
            E::CommandRejected(e) => e.vehicle_id,
            E::AlarmRaised(e) => Some(e.vehicle_id),
            E::AlarmCleared(e) => Some(e.vehicle_id),
            E::ZoneDefined(_) => None,
        }
    }
}

/// The union of `FleetEvent.event`: one variant per branch, in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FleetEventBody {
    /// A vehicle joined the fleet.
    VehicleRegistered(VehicleRegistered),
    /// A vehicle changed operational state.
    VehicleStateChanged(VehicleStateChanged),
    /// A rider holds a vehicle.
    ReservationMade(ReservationMade),
    /// A hold lapsed.
    ReservationExpired(ReservationExpired),
    /// A hold was released.
    ReservationCancelled(ReservationCancelled),
    /// A ride was asked for; unlocking.
    RideRequested(RideRequested),
    /// A ride is on.
    RideStarted(RideStarted),
    /// A ride finished and was priced.
    RideEnded(RideEnded),
    /// A ride could not start.
    RideFailed(RideFailed),
    /// An app command was accepted.
    CommandAccepted(CommandAccepted),
    /// An app command was rejected.
    CommandRejected(CommandRejected),
    /// A device alarm became active.
    AlarmRaised(AlarmRaised),
    /// A device alarm ended.
    AlarmCleared(AlarmCleared),
    /// A zone was defined or changed.
    ZoneDefined(ZoneDefined),
}

/// A vehicle joined the fleet (`VehicleRegistered.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleRegistered {
    /// The vehicle.
    #[serde(with = "uuid_text")]
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

/// A vehicle changed operational state (`VehicleStateChanged.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleStateChanged {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// Before.
    pub from_state: VehicleState,
    /// After.
    pub to_state: VehicleState,
    /// Operator's reason, if given.
    pub reason: Option<String>,
}

/// A rider holds a vehicle (`ReservationMade.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationMade {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reservation.
    #[serde(with = "uuid_text")]
    pub reservation_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// When the hold lapses, ms since the Unix epoch.
    pub expires_at_ms: i64,
}

/// A hold lapsed without a ride (`ReservationExpired.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationExpired {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reservation.
    #[serde(with = "uuid_text")]
    pub reservation_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
}

/// A hold was released early (`ReservationCancelled.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationCancelled {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reservation.
    #[serde(with = "uuid_text")]
    pub reservation_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// Who cancelled it.
    pub cancelled_by: Actor,
    /// Operator's reason, if given.
    pub reason: Option<String>,
}

/// A ride was asked for; the saga is unlocking (`RideRequested.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RideRequested {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The ride.
    #[serde(with = "uuid_text")]
    pub ride_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// Reservation consumed, if any.
    #[serde(with = "uuid_text_opt")]
    pub reservation_id: Option<Uuid>,
    /// The UNLOCK downlink sent for it.
    #[serde(with = "uuid_text")]
    pub unlock_command_id: Uuid,
}

/// The vehicle unlocked; billing starts (`RideStarted.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RideStarted {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The ride.
    #[serde(with = "uuid_text")]
    pub ride_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// Last valid position at start.
    pub start_position: Option<GeoPoint>,
}

/// A ride finished and was priced (`RideEnded.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RideEnded {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The ride.
    #[serde(with = "uuid_text")]
    pub ride_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// Billed duration in milliseconds.
    pub duration_ms: i64,
    /// Distance in metres.
    pub distance_m: i64,
    /// Fare in minor units of `currency`.
    pub fare_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Last valid position at the end.
    pub end_position: Option<GeoPoint>,
    /// Ended by an operator with force.
    pub forced: bool,
}

/// A ride could not start (`RideFailed.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RideFailed {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The ride.
    #[serde(with = "uuid_text")]
    pub ride_id: Uuid,
    /// The rider's account.
    #[serde(with = "uuid_text")]
    pub rider_id: Uuid,
    /// Machine code, e.g. `unlock_timed_out`.
    pub reason: String,
    /// Detail for support.
    pub detail: Option<String>,
}

/// An app command was accepted (`CommandAccepted.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAccepted {
    /// The [`super::AppCommand`].
    #[serde(with = "uuid_text")]
    pub command_id: Uuid,
    /// Its vehicle; `None` for zone commands.
    #[serde(with = "uuid_text_opt")]
    pub vehicle_id: Option<Uuid>,
}

/// An app command was rejected (`CommandRejected.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRejected {
    /// The [`super::AppCommand`].
    #[serde(with = "uuid_text")]
    pub command_id: Uuid,
    /// Its vehicle; `None` for zone commands.
    #[serde(with = "uuid_text_opt")]
    pub vehicle_id: Option<Uuid>,
    /// Machine code (the API's `error.code`).
    pub code: String,
    /// Explanation for the client.
    pub message: String,
}

/// A device alarm became active (`AlarmRaised.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmRaised {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reporting device.
    pub device_id: String,
    /// Which alarm.
    pub alarm: AlarmKind,
    /// Last valid position then.
    pub position: Option<GeoPoint>,
}

/// A device alarm ended (`AlarmCleared.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmCleared {
    /// The vehicle.
    #[serde(with = "uuid_text")]
    pub vehicle_id: Uuid,
    /// The reporting device.
    pub device_id: String,
    /// Which alarm.
    pub alarm: AlarmKind,
}

/// A zone was defined or its definition replaced (`ZoneDefined.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneDefined {
    /// The zone; the record key.
    #[serde(with = "uuid_text")]
    pub zone_id: Uuid,
    /// What it means.
    pub kind: ZoneKind,
    /// Display name.
    pub name: String,
    /// Outer ring first, then holes.
    pub rings: Vec<Vec<GeoPoint>>,
    /// Speed limit inside in km/h (SLOW zones).
    pub speed_limit_kmh: Option<i32>,
}
