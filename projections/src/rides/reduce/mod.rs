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

use std::collections::HashSet;
use std::collections::btree_map::{BTreeMap, Entry};

use fleetlog_schemas::events::{
    Actor, DeviceReply, FleetEventBody, GeoPoint, ReplyOutcome, RideEnded, RideFailed,
    RideRequested, RideStarted,
};
use uuid::Uuid;

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

/// A ride's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RideState {
    Requested,
    Started,
    Ended,
    Failed,
}

impl RideState {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Started => "started",
            Self::Ended => "ended",
            Self::Failed => "failed",
        }
    }

    /// Precedence: `requested < started < ended | failed` (as `ride_state_rank` in SQL).
    fn rank(self) -> u8 {
        match self {
            Self::Requested => 1,
            Self::Started => 2,
            Self::Ended | Self::Failed => 3,
        }
    }
}

/// The requested part of a ride (`RideRequested`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    pub(crate) at_ms: i64,
    pub(crate) reservation_id: Option<Uuid>,
    pub(crate) unlock_command_id: Uuid,
    /// The start-ride command: the event's correlation id.
    pub(crate) command_id: Uuid,
}

/// The started part of a ride (`RideStarted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    pub(crate) at_ms: i64,
    pub(crate) position: Option<GeoPoint>,
}

/// The ended part of a ride (`RideEnded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub(crate) at_ms: i64,
    pub(crate) duration_ms: i64,
    pub(crate) distance_m: i64,
    pub(crate) fare_minor: i64,
    pub(crate) currency: String,
    pub(crate) position: Option<GeoPoint>,
    pub(crate) forced: bool,
    /// The end-ride command: the event's correlation id.
    pub(crate) command_id: Uuid,
}

/// The failed part of a ride (`RideFailed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed {
    pub(crate) at_ms: i64,
    pub(crate) reason: String,
    pub(crate) detail: Option<String>,
}

/// What one batch changes of one ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RideChange {
    pub(crate) ride_id: Uuid,
    pub(crate) vehicle_id: Uuid,
    pub(crate) rider_id: Uuid,
    /// The highest state of the batch's events (the first terminal one on a tie).
    pub(crate) state: RideState,
    pub(crate) requested: Option<Requested>,
    pub(crate) started: Option<Started>,
    pub(crate) ended: Option<Ended>,
    pub(crate) failed: Option<Failed>,
    /// The last event of the batch about this ride (log order).
    pub(crate) last_event_id: Uuid,
    /// The latest event time of the batch's events about this ride.
    pub(crate) updated_at_ms: i64,
}

impl RideChange {
    fn new(ride_id: Uuid, vehicle_id: Uuid, rider_id: Uuid, state: RideState, e: &Event) -> Self {
        Self {
            ride_id,
            vehicle_id,
            rider_id,
            state,
            requested: None,
            started: None,
            ended: None,
            failed: None,
            last_event_id: e.id,
            updated_at_ms: e.at_ms,
        }
    }

    fn touch(&mut self, state: RideState, e: &Event) {
        if state.rank() > self.state.rank() {
            self.state = state;
        }
        self.last_event_id = e.id;
        self.updated_at_ms = self.updated_at_ms.max(e.at_ms);
    }
}

/// A reservation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReservationState {
    Active,
    Cancelled,
    Expired,
    Converted,
}

impl ReservationState {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Converted => "converted",
        }
    }
}

/// The made part of a reservation (`ReservationMade`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub(crate) at_ms: i64,
    pub(crate) expires_at_ms: i64,
}

/// How a reservation ended: cancelled, expired, or converted into a ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReservationEnd {
    pub(crate) state: ReservationState,
    pub(crate) at_ms: i64,
    pub(crate) cancelled_by: Option<Actor>,
    pub(crate) reason: Option<String>,
    /// The ride it was converted into.
    pub(crate) ride_id: Option<Uuid>,
}

/// What one batch changes of one reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReservationChange {
    pub(crate) reservation_id: Uuid,
    pub(crate) vehicle_id: Uuid,
    pub(crate) rider_id: Uuid,
    pub(crate) made: Option<Made>,
    /// The first end of the batch.
    pub(crate) ended: Option<ReservationEnd>,
    pub(crate) last_event_id: Uuid,
    pub(crate) updated_at_ms: i64,
}

impl ReservationChange {
    /// `active` until it ended.
    pub(crate) fn state(&self) -> ReservationState {
        self.ended
            .as_ref()
            .map_or(ReservationState::Active, |e| e.state)
    }
}

/// A command's status; no row means `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandStatus {
    Accepted,
    Completed,
    Failed,
    Rejected,
}

impl CommandStatus {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
}

/// Where a command's status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeSource {
    /// `CommandAccepted` / `CommandRejected`.
    Decision,
    /// `RideStarted` / `RideEnded` / `RideFailed` correlated with the command.
    Ride,
    /// A device reply correlated with the command (applied by the writer).
    Device,
}

impl OutcomeSource {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Ride => "ride",
            Self::Device => "device",
        }
    }
}

/// Precedence of a status (as `command_status_rank` in SQL): `accepted` 1, a device-reply
/// outcome 2, a rejection or ride outcome 3.
pub(crate) fn command_rank(status: CommandStatus, source: OutcomeSource) -> u8 {
    match (status, source) {
        (CommandStatus::Accepted, _) => 1,
        (_, OutcomeSource::Device) => 2,
        _ => 3,
    }
}

/// The status part of a [`CommandChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusChange {
    pub(crate) status: CommandStatus,
    pub(crate) source: OutcomeSource,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    /// When it became terminal (`None` for `accepted`).
    pub(crate) finished_at_ms: Option<i64>,
}

impl StatusChange {
    fn rank(&self) -> u8 {
        command_rank(self.status, self.source)
    }
}

/// What one batch's fleet events change of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandChange {
    pub(crate) command_id: Uuid,
    pub(crate) vehicle_id: Option<Uuid>,
    /// When it was accepted or rejected (the first decision).
    pub(crate) decided_at_ms: Option<i64>,
    /// The ride a ride outcome was about.
    pub(crate) ride_id: Option<Uuid>,
    /// The highest-ranked status of the batch (the first on a tie).
    pub(crate) status: StatusChange,
    pub(crate) last_event_id: Uuid,
    pub(crate) updated_at_ms: i64,
}

/// The first terminal device reply of a batch per correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplyChange {
    /// The envelope's correlation id: the app command the downlink was sent for.
    pub(crate) command_id: Uuid,
    pub(crate) device_id: String,
    pub(crate) outcome: ReplyOutcome,
    pub(crate) reply_text: Option<String>,
    /// What it does to the command ([`reply_status`]).
    pub(crate) status: StatusChange,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
}

/// The status a terminal device reply gives an `accepted` command with no ride linked;
/// `None` for `DELIVERED`, which changes nothing.
pub(crate) fn reply_status(reply: &DeviceReply, at_ms: i64) -> Option<StatusChange> {
    let (status, failure) = match reply.outcome {
        ReplyOutcome::Delivered => return None,
        ReplyOutcome::Answered => (CommandStatus::Completed, None),
        ReplyOutcome::Rejected => (
            CommandStatus::Failed,
            Some(("device_rejected", "the vehicle refused the command")),
        ),
        ReplyOutcome::TimedOut => (
            CommandStatus::Failed,
            Some(("device_timed_out", "the vehicle did not answer in time")),
        ),
        ReplyOutcome::Undeliverable => (
            CommandStatus::Failed,
            Some(("device_undeliverable", "the vehicle is not connected")),
        ),
    };
    Some(StatusChange {
        status,
        source: OutcomeSource::Device,
        code: failure.map(|(code, _)| code.to_owned()),
        message: failure.map(|(_, message)| {
            reply
                .reply_text
                .clone()
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| message.to_owned())
        }),
        finished_at_ms: Some(at_ms),
    })
}

/// Everything one batch changes, each list ordered by its key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) rides: Vec<RideChange>,
    pub(crate) reservations: Vec<ReservationChange>,
    pub(crate) commands: Vec<CommandChange>,
    pub(crate) replies: Vec<ReplyChange>,
    /// Commands a stored device reply may now complete: those accepted in this batch and
    /// those a reply of this batch is about, ordered.
    pub(crate) reply_candidates: Vec<Uuid>,
}

impl Changes {
    /// Whether the batch changes nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.rides.is_empty()
            && self.reservations.is_empty()
            && self.commands.is_empty()
            && self.replies.is_empty()
    }
}

#[derive(Default)]
struct Reducer {
    rides: BTreeMap<Uuid, RideChange>,
    reservations: BTreeMap<Uuid, ReservationChange>,
    commands: BTreeMap<Uuid, CommandChange>,
    replies: BTreeMap<Uuid, ReplyChange>,
}

/// Reduce `events` (in log order, each id once — see [`distinct`]) to their [`Changes`].
pub(crate) fn reduce(events: &[Event]) -> Changes {
    let mut r = Reducer::default();
    for e in events {
        match &e.body {
            Body::Fleet(body) => r.fleet(e, body),
            Body::Reply(reply) => r.reply(e, reply),
        }
    }
    let mut reply_candidates: Vec<Uuid> = r
        .commands
        .values()
        .filter(|c| c.status.status == CommandStatus::Accepted)
        .map(|c| c.command_id)
        .chain(r.replies.keys().copied())
        .collect();
    reply_candidates.sort_unstable();
    reply_candidates.dedup();
    Changes {
        rides: r.rides.into_values().collect(),
        reservations: r.reservations.into_values().collect(),
        commands: r.commands.into_values().collect(),
        replies: r.replies.into_values().collect(),
        reply_candidates,
    }
}

impl Reducer {
    fn fleet(&mut self, e: &Event, body: &FleetEventBody) {
        use FleetEventBody as F;
        match body {
            F::RideRequested(x) => self.requested(e, x),
            F::RideStarted(x) => self.started(e, x),
            F::RideEnded(x) => self.ended(e, x),
            F::RideFailed(x) => self.failed(e, x),
            F::ReservationMade(x) => {
                let made = Made {
                    at_ms: e.at_ms,
                    expires_at_ms: x.expires_at_ms,
                };
                let r = self.reservation(e, x.reservation_id, x.vehicle_id, x.rider_id);
                r.made.get_or_insert(made);
            }
            F::ReservationCancelled(x) => {
                let end = ReservationEnd {
                    state: ReservationState::Cancelled,
                    at_ms: e.at_ms,
                    cancelled_by: Some(x.cancelled_by.clone()),
                    reason: x.reason.clone(),
                    ride_id: None,
                };
                let r = self.reservation(e, x.reservation_id, x.vehicle_id, x.rider_id);
                r.ended.get_or_insert(end);
            }
            F::ReservationExpired(x) => {
                let end = ReservationEnd {
                    state: ReservationState::Expired,
                    at_ms: e.at_ms,
                    cancelled_by: None,
                    reason: None,
                    ride_id: None,
                };
                let r = self.reservation(e, x.reservation_id, x.vehicle_id, x.rider_id);
                r.ended.get_or_insert(end);
            }
            F::CommandAccepted(x) => {
                let status = StatusChange {
                    status: CommandStatus::Accepted,
                    source: OutcomeSource::Decision,
                    code: None,
                    message: None,
                    finished_at_ms: None,
                };
                self.command(e, x.command_id, x.vehicle_id, None, true, status);
            }
            F::CommandRejected(x) => {
                let status = StatusChange {
                    status: CommandStatus::Rejected,
                    source: OutcomeSource::Decision,
                    code: Some(x.code.clone()),
                    message: Some(x.message.clone()),
                    finished_at_ms: Some(e.at_ms),
                };
                self.command(e, x.command_id, x.vehicle_id, None, true, status);
            }
            _ => {}
        }
    }

    fn ride(
        &mut self,
        e: &Event,
        ride_id: Uuid,
        vehicle_id: Uuid,
        rider_id: Uuid,
        state: RideState,
    ) -> &mut RideChange {
        match self.rides.entry(ride_id) {
            Entry::Vacant(v) => v.insert(RideChange::new(ride_id, vehicle_id, rider_id, state, e)),
            Entry::Occupied(o) => {
                let ride = o.into_mut();
                ride.touch(state, e);
                ride
            }
        }
    }

    fn requested(&mut self, e: &Event, x: &RideRequested) {
        let part = Requested {
            at_ms: e.at_ms,
            reservation_id: x.reservation_id,
            unlock_command_id: x.unlock_command_id,
            command_id: e.correlation_id,
        };
        let ride = self.ride(e, x.ride_id, x.vehicle_id, x.rider_id, RideState::Requested);
        ride.requested.get_or_insert(part);
        if let Some(reservation_id) = x.reservation_id {
            let end = ReservationEnd {
                state: ReservationState::Converted,
                at_ms: e.at_ms,
                cancelled_by: None,
                reason: None,
                ride_id: Some(x.ride_id),
            };
            let r = self.reservation(e, reservation_id, x.vehicle_id, x.rider_id);
            r.ended.get_or_insert(end);
        }
    }

    fn started(&mut self, e: &Event, x: &RideStarted) {
        let part = Started {
            at_ms: e.at_ms,
            position: x.start_position,
        };
        let ride = self.ride(e, x.ride_id, x.vehicle_id, x.rider_id, RideState::Started);
        ride.started.get_or_insert(part);
        self.ride_outcome(e, x.ride_id, x.vehicle_id, CommandStatus::Completed, None);
    }

    fn ended(&mut self, e: &Event, x: &RideEnded) {
        let part = Ended {
            at_ms: e.at_ms,
            duration_ms: x.duration_ms,
            distance_m: x.distance_m,
            fare_minor: x.fare_minor,
            currency: x.currency.clone(),
            position: x.end_position,
            forced: x.forced,
            command_id: e.correlation_id,
        };
        let ride = self.ride(e, x.ride_id, x.vehicle_id, x.rider_id, RideState::Ended);
        ride.ended.get_or_insert(part);
        self.ride_outcome(e, x.ride_id, x.vehicle_id, CommandStatus::Completed, None);
    }

    fn failed(&mut self, e: &Event, x: &RideFailed) {
        let part = Failed {
            at_ms: e.at_ms,
            reason: x.reason.clone(),
            detail: x.detail.clone(),
        };
        let ride = self.ride(e, x.ride_id, x.vehicle_id, x.rider_id, RideState::Failed);
        ride.failed.get_or_insert(part);
        let message = x.detail.clone().unwrap_or_else(|| x.reason.clone());
        let failure = Some((x.reason.clone(), message));
        self.ride_outcome(e, x.ride_id, x.vehicle_id, CommandStatus::Failed, failure);
    }

    /// A ride event completes (or fails) the command its envelope is correlated with.
    fn ride_outcome(
        &mut self,
        e: &Event,
        ride_id: Uuid,
        vehicle_id: Uuid,
        status: CommandStatus,
        failure: Option<(String, String)>,
    ) {
        let (code, message) = failure.unzip();
        let status = StatusChange {
            status,
            source: OutcomeSource::Ride,
            code,
            message,
            finished_at_ms: Some(e.at_ms),
        };
        self.command(
            e,
            e.correlation_id,
            Some(vehicle_id),
            Some(ride_id),
            false,
            status,
        );
    }

    fn command(
        &mut self,
        e: &Event,
        command_id: Uuid,
        vehicle_id: Option<Uuid>,
        ride_id: Option<Uuid>,
        decision: bool,
        status: StatusChange,
    ) {
        let decided_at_ms = decision.then_some(e.at_ms);
        match self.commands.entry(command_id) {
            Entry::Vacant(v) => {
                v.insert(CommandChange {
                    command_id,
                    vehicle_id,
                    decided_at_ms,
                    ride_id,
                    status,
                    last_event_id: e.id,
                    updated_at_ms: e.at_ms,
                });
            }
            Entry::Occupied(mut o) => {
                let c = o.get_mut();
                c.vehicle_id = c.vehicle_id.or(vehicle_id);
                c.decided_at_ms = c.decided_at_ms.or(decided_at_ms);
                c.ride_id = c.ride_id.or(ride_id);
                if status.rank() > c.status.rank() {
                    c.status = status;
                }
                c.last_event_id = e.id;
                c.updated_at_ms = c.updated_at_ms.max(e.at_ms);
            }
        }
    }

    fn reservation(
        &mut self,
        e: &Event,
        reservation_id: Uuid,
        vehicle_id: Uuid,
        rider_id: Uuid,
    ) -> &mut ReservationChange {
        let r = self
            .reservations
            .entry(reservation_id)
            .or_insert_with(|| ReservationChange {
                reservation_id,
                vehicle_id,
                rider_id,
                made: None,
                ended: None,
                last_event_id: e.id,
                updated_at_ms: e.at_ms,
            });
        r.last_event_id = e.id;
        r.updated_at_ms = r.updated_at_ms.max(e.at_ms);
        r
    }

    /// A terminal device reply is kept per correlation id (the first one); `DELIVERED`
    /// changes nothing.
    fn reply(&mut self, e: &Event, reply: &DeviceReply) {
        let Some(status) = reply_status(reply, e.at_ms) else {
            return;
        };
        self.replies
            .entry(e.correlation_id)
            .or_insert_with(|| ReplyChange {
                command_id: e.correlation_id,
                device_id: reply.device_id.clone(),
                outcome: reply.outcome,
                reply_text: reply.reply_text.clone(),
                status,
                at_ms: e.at_ms,
                event_id: e.id,
            });
    }
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
