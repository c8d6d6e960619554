//! Rejections: why a decider refused a command, as data.
//!
//! A rejection is a normal outcome, not an error: it becomes a `CommandRejected` event
//! whose `code` is [`RejectionCode::as_str`] (the API's `error.code`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Machine-readable reason for a rejection; serialises as `snake_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    /// The command does not belong to this decider or is malformed.
    InvalidCommand,
    /// The actor's role may not issue this command (or may not force).
    Forbidden,
    /// `force` was set without a reason.
    ReasonRequired,
    /// The device or QR code is already registered to another vehicle.
    DeviceInUse,
    /// The vehicle has not been registered.
    NotRegistered,
    /// The vehicle is registered already.
    AlreadyRegistered,
    /// The vehicle is out of service.
    OutOfService,
    /// The vehicle is in service already.
    NotOutOfService,
    /// The vehicle's device has no session.
    Offline,
    /// The battery is below the minimum, or unknown.
    BatteryLow,
    /// Another rider holds the vehicle.
    ReservedByOther,
    /// The rider holds this vehicle already.
    AlreadyReserved,
    /// A ride is starting, on, or ending on the vehicle.
    VehicleInUse,
    /// The rider has another active ride or reservation.
    RiderBusy,
    /// No such active reservation on the vehicle.
    ReservationNotFound,
    /// No such active ride on the vehicle.
    RideNotFound,
    /// The reservation or ride belongs to another rider.
    NotOwner,
    /// A device command for the ride is still waiting for confirmation.
    CommandPending,
    /// The vehicle is outside every service area.
    OutsideServiceArea,
    /// The vehicle is inside a no-parking zone.
    InNoParkingZone,
    /// The vehicle's position is unknown, so zones cannot be checked.
    PositionUnknown,
}

impl RejectionCode {
    /// Every code, in declaration order.
    pub const ALL: [RejectionCode; 21] = [
        Self::InvalidCommand,
        Self::Forbidden,
        Self::ReasonRequired,
        Self::DeviceInUse,
        Self::NotRegistered,
        Self::AlreadyRegistered,
        Self::OutOfService,
        Self::NotOutOfService,
        Self::Offline,
        Self::BatteryLow,
        Self::ReservedByOther,
        Self::AlreadyReserved,
        Self::VehicleInUse,
        Self::RiderBusy,
        Self::ReservationNotFound,
        Self::RideNotFound,
        Self::NotOwner,
        Self::CommandPending,
        Self::OutsideServiceArea,
        Self::InNoParkingZone,
        Self::PositionUnknown,
    ];

    /// The `snake_case` code, as serialised and as written into `CommandRejected.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCommand => "invalid_command",
            Self::Forbidden => "forbidden",
            Self::ReasonRequired => "reason_required",
            Self::DeviceInUse => "device_in_use",
            Self::NotRegistered => "not_registered",
            Self::AlreadyRegistered => "already_registered",
            Self::OutOfService => "out_of_service",
            Self::NotOutOfService => "not_out_of_service",
            Self::Offline => "offline",
            Self::BatteryLow => "battery_low",
            Self::ReservedByOther => "reserved_by_other",
            Self::AlreadyReserved => "already_reserved",
            Self::VehicleInUse => "vehicle_in_use",
            Self::RiderBusy => "rider_busy",
            Self::ReservationNotFound => "reservation_not_found",
            Self::RideNotFound => "ride_not_found",
            Self::NotOwner => "not_owner",
            Self::CommandPending => "command_pending",
            Self::OutsideServiceArea => "outside_service_area",
            Self::InNoParkingZone => "in_no_parking_zone",
            Self::PositionUnknown => "position_unknown",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused command: a code for machines and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Why, for machines.
    pub code: RejectionCode,
    /// Why, for the client.
    pub message: String,
}

impl Rejection {
    /// A rejection with `code` and `message`.
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serialises_as_its_snake_case_string() {
        for code in RejectionCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: RejectionCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn a_rejection_displays_its_code_and_message() {
        let r = Rejection::new(RejectionCode::BatteryLow, "battery at 9%");
        assert_eq!(r.to_string(), "battery_low: battery at 9%");
    }
}
