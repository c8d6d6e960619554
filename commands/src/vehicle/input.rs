//! What goes into the vehicle decider ([`VehicleInput`]) and what comes out of it
//! ([`Decision`]: [`VehicleEvent`]s plus downlink commands).

use fleetlog_schemas::events::{
    AppCommand, DeviceReply, DownlinkCommand, FleetEvent, FleetEventBody, GeoPoint, LockState,
    SessionEvent, Telemetry, VehicleStateChanged,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::evolve::evolve;
use super::state::{SagaStep, Vehicle};

/// One input to the vehicle decider, in the order the processor receives them for the
/// vehicle. Device inputs are keyed by device id on their topics; the processor routes them
/// to the vehicle the device is registered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VehicleInput {
    /// An app or operator command from `app.commands.v1`.
    Command(AppCommand),
    /// A decoded device record from `scooter.telemetry.v1`.
    Telemetry(Telemetry),
    /// A device session opening or closing, from `scooter.sessions.v1`.
    Session(SessionEvent),
    /// What became of a downlink command, from `scooter.replies.v1`.
    Reply(DeviceReply),
    /// Time passed: expiries and deadlines due at `now_ms` are decided.
    Tick {
        /// The clock reading, ms since the Unix epoch.
        now_ms: i64,
    },
}

impl VehicleInput {
    /// The input's own time, ms since the Unix epoch; the processor passes it as
    /// [`crate::Context::now_ms`]. Commands: `requested_at_ms`; telemetry: `received_at_ms`;
    /// sessions and replies: `at_ms`; ticks: `now_ms`.
    pub fn timestamp_ms(&self) -> i64 {
        match self {
            Self::Command(c) => c.requested_at_ms,
            Self::Telemetry(t) => t.received_at_ms,
            Self::Session(s) => s.at_ms,
            Self::Reply(r) => r.at_ms,
            Self::Tick { now_ms } => *now_ms,
        }
    }
}

/// What the decider decided: events (to evolve the state with, and to publish where they
/// are [`VehicleEvent::Fleet`]) and commands for the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// In order; evolve the state with every one of them.
    pub events: Vec<VehicleEvent>,
    /// For `scooter.downlink.v1`, keyed by the device id.
    pub downlinks: Vec<DownlinkCommand>,
}

/// An event of the vehicle decider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VehicleEvent {
    /// A domain event for `fleet.events.v1`.
    Fleet(FleetEvent),
    /// A fact kept in the decider's state only: device observations, and saga and
    /// idempotency bookkeeping that `fleet.events.v1` has no record for.
    Internal(InternalEvent),
}

/// Decider bookkeeping that is not published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InternalEvent {
    /// A command was decided (accepted or rejected); re-deliveries are ignored.
    CommandDecided {
        /// Its id.
        command_id: Uuid,
        /// Its idempotency key.
        idempotency_key: String,
    },
    /// A newer device record was seen.
    DeviceObserved(DeviceFact),
    /// The device's session opened or closed.
    SessionChanged {
        /// Whether it is connected now.
        online: bool,
        /// When, ms.
        at_ms: i64,
    },
    /// The saga sent a device command and waits for it.
    SagaStarted(SagaStep),
    /// A lock to end a ride was not confirmed; the ride goes on.
    SagaAbandoned {
        /// The downlink command given up on.
        downlink_command_id: Uuid,
        /// Machine code, e.g. `lock_timed_out`.
        reason: String,
    },
}

/// What a telemetry record says about the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFact {
    /// Device time of the record, ms.
    pub device_time_ms: i64,
    /// When the gateway received it, ms.
    pub received_at_ms: i64,
    /// The position, when the fix was valid and plausible.
    pub position: Option<GeoPoint>,
    /// Battery, when reported.
    pub battery_pct: Option<i32>,
    /// Lock state, when reported.
    pub lock_state: Option<LockState>,
}

impl Decision {
    /// A decision with these events and no downlink.
    pub fn of(events: Vec<VehicleEvent>) -> Self {
        Self {
            events,
            downlinks: Vec::new(),
        }
    }

    /// Whether nothing was decided.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.downlinks.is_empty()
    }

    /// The events to publish on `fleet.events.v1`, in order.
    pub fn fleet_events(&self) -> impl Iterator<Item = &FleetEvent> {
        self.events.iter().filter_map(|e| match e {
            VehicleEvent::Fleet(f) => Some(f),
            VehicleEvent::Internal(_) => None,
        })
    }

    /// `state` evolved with every event of this decision.
    pub fn apply_to(&self, state: &Vehicle) -> Vehicle {
        self.events.iter().fold(state.clone(), evolve)
    }

    /// Append `other` after this decision.
    pub fn append(&mut self, other: Decision) {
        self.events.extend(other.events);
        self.downlinks.extend(other.downlinks);
    }

    /// Append a `VehicleStateChanged` when these events move a registered vehicle from
    /// one operational state to another, unless they already say so (an operator's
    /// out-of-service change carries its reason).
    pub(crate) fn with_state_change(mut self, before: &Vehicle, now_ms: i64) -> Self {
        let explicit = self
            .fleet_events()
            .any(|e| matches!(e.event, FleetEventBody::VehicleStateChanged(_)));
        if explicit {
            return self;
        }
        let after = self.apply_to(before);
        let (from, to) = (before.operational_state(), after.operational_state());
        if let (Some(vehicle_id), true) = (before.vehicle_id(), from != to) {
            let change = VehicleStateChanged {
                vehicle_id,
                from_state: from,
                to_state: to,
                reason: None,
            };
            self.events
                .push(fleet(now_ms, FleetEventBody::VehicleStateChanged(change)));
        }
        self
    }
}

/// A [`VehicleEvent::Fleet`] that occurred at `now_ms`.
pub(crate) fn fleet(now_ms: i64, event: FleetEventBody) -> VehicleEvent {
    VehicleEvent::Fleet(FleetEvent {
        occurred_at_ms: now_ms,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_carries_its_own_timestamp() {
        assert_eq!(VehicleInput::Tick { now_ms: 42 }.timestamp_ms(), 42);
    }

    #[test]
    fn only_fleet_events_are_published() {
        let d = Decision::of(vec![
            VehicleEvent::Internal(InternalEvent::SessionChanged {
                online: true,
                at_ms: 1,
            }),
            fleet(
                1,
                FleetEventBody::CommandAccepted(fleetlog_schemas::events::CommandAccepted {
                    command_id: Uuid::from_u128(1),
                    vehicle_id: None,
                }),
            ),
        ]);
        assert_eq!(d.fleet_events().count(), 1);
        assert!(!d.is_empty());
        assert!(Decision::default().is_empty());
    }

    #[test]
    fn no_state_change_is_reported_for_an_unregistered_vehicle() {
        let d = Decision::default().with_state_change(&Vehicle::default(), 0);
        assert!(d.is_empty());
    }
}
