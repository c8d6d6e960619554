//! The vehicle decider: one vehicle's commands, device facts and clock, decided in order.
//!
//! Keyed by vehicle id (the key of `app.commands.v1` and `fleet.events.v1`); the processor
//! routes device inputs (keyed by device id) to the vehicle their device is registered to.
//!
//! - [`decide`]`(&Vehicle, &VehicleInput, &Context) -> Result<Decision, Rejection>` and
//!   [`evolve`]`(Vehicle, &VehicleEvent) -> Vehicle` are pure: no clock, no I/O, no
//!   randomness (ids of what a command creates are UUID v5 of its command id), no panics.
//! - [`handle`] is `decide` with a rejection turned into `CommandRejected`.
//! - A [`Decision`] holds [`VehicleEvent`]s — [`VehicleEvent::Fleet`] ones go to
//!   `fleet.events.v1`, [`VehicleEvent::Internal`] ones only move the state (device facts,
//!   saga and idempotency bookkeeping the fleet schema has no record for) — and the
//!   `DownlinkCommand`s for `scooter.downlink.v1`. The state is stored by the processor
//!   beside its offsets: it cannot be rebuilt from `fleet.events.v1` alone.
//!
//! **The ride saga.** `StartRide` emits `RideRequested` and an UNLOCK downlink; only its
//! confirmation (the device answers it, or telemetry received after the request reports
//! `UNLOCKED`) yields `RideStarted`; a refusal, an undeliverable command or the
//! `unlock_timeout_ms` deadline (seen on a later input or [`VehicleInput::Tick`]) yields
//! `RideFailed` and frees the vehicle. `EndRide` emits a LOCK downlink; its confirmation
//! yields `RideEnded`, priced; without one, the ride goes on (a forced end ends it anyway).
//!
//! **One ride or reservation per rider** spans vehicles, which this decider cannot see: the
//! processor answers [`crate::Context::rider_busy`] from its rider index and enforces it
//! with a unique index on the rider there.

mod decide;
mod device;
mod evolve;
mod guards;
mod input;
mod operator;
mod rides;
mod snapshot;
mod state;

pub use decide::{decide, handle, rejected};
pub use evolve::evolve;
pub use input::{Decision, DeviceFact, InternalEvent, VehicleEvent, VehicleInput};
pub use snapshot::{STATE_VERSION, SnapshotError, VehicleSnapshot};
pub use state::{
    Activity, Awaiting, Fix, REMEMBERED_COMMANDS, RecentCommands, Registration, Reservation, Ride,
    RideRequest, SagaStep, Vehicle,
};
