//! The pure half of the rides projection: a batch's decoded events reduced to at most one
//! change per ride, reservation and command, without I/O.
//!
//! Rules, the same within a batch as across batches (the SQL applies them again against
//! the stored row):
//! - **Each event once**: [`distinct`] keeps the first record of each event id (`ce_id`);
//!   the writer also skips ids already in `applied_events`.
//! - **Rides**: state `requested < started < ended | failed`, never backwards; the first
//!   terminal state wins. Each part (requested, started, ended, failed) is set by the
//!   first event of its kind, in log order, and never overwritten.
//! - **Reservations**: `active`, then the first of `cancelled | expired | converted` (a
//!   `RideRequested` naming it converts it); made and ended parts are set once.
//! - **Commands**: `accepted` (rank 1) < a device-reply outcome (rank 2) < a decision
//!   (`rejected`) or ride outcome (`completed` / `failed`) (rank 3); a higher rank wins,
//!   on equal ranks the first one stays. Ride events complete the command named by their
//!   envelope's correlation id. Device replies are kept per correlation id
//!   ([`ReplyChange`]); the writer applies them only to `accepted` commands no ride is
//!   linked to.
//!
//! This file holds the input (a decoded [`Event`]), [`distinct`] and [`is_relevant`];
//! `changes.rs` the state types a batch reduces to ([`Changes`](changes::Changes));
//! `reducer.rs` the reduction per event kind ([`reduce`]); `tests.rs` the tests.

mod changes;
mod reducer;

use std::collections::HashSet;

use fleetlog_schemas::events::{DeviceReply, FleetEventBody, ReplyOutcome};
use uuid::Uuid;

pub(crate) use changes::{
    CommandChange, Ended, Failed, Made, ReplyChange, Requested, ReservationChange, ReservationEnd,
    RideChange, Started,
};
pub(crate) use reducer::reduce;

/// One decoded event the rides projection uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The envelope's `ce_id`.
    pub(crate) id: Uuid,
    /// The envelope's `correlation_id`: the app command the chain started from.
    pub(crate) correlation_id: Uuid,
    /// When it happened (`occurred_at_ms` of a fleet event, `at_ms` of a reply).
    pub(crate) at_ms: i64,
    pub(crate) body: Body,
}

/// What an [`Event`] carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A `fleet.events.v1` value (only the ride, reservation and command variants matter).
    Fleet(FleetEventBody),
    /// A `scooter.replies.v1` value.
    Reply(DeviceReply),
}

/// The events of a batch once per event id, the first occurrence kept, in batch order.
pub(crate) fn distinct(events: Vec<Event>) -> Vec<Event> {
    let mut seen = HashSet::with_capacity(events.len());
    events.into_iter().filter(|e| seen.insert(e.id)).collect()
}

/// Whether a record of this body is used by the rides projection at all (others are not
/// recorded in `applied_events`).
pub(crate) fn is_relevant(body: &Body) -> bool {
    use FleetEventBody as F;
    match body {
        Body::Fleet(f) => matches!(
            f,
            F::RideRequested(_)
                | F::RideStarted(_)
                | F::RideEnded(_)
                | F::RideFailed(_)
                | F::ReservationMade(_)
                | F::ReservationCancelled(_)
                | F::ReservationExpired(_)
                | F::CommandAccepted(_)
                | F::CommandRejected(_)
        ),
        Body::Reply(r) => r.outcome != ReplyOutcome::Delivered,
    }
}

#[cfg(test)]
mod tests;
