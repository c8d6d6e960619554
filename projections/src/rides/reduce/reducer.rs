//! The reduction itself: a batch's events folded, event kind by event kind, into at most
//! one change per ride, reservation, command and device reply (the rules are in the
//! module docs).

use std::collections::btree_map::{BTreeMap, Entry};

use fleetlog_schemas::events::{
    DeviceReply, FleetEventBody, RideEnded, RideFailed, RideRequested, RideStarted,
};
use uuid::Uuid;

use super::changes::{
    Changes, CommandChange, CommandStatus, Ended, Failed, Made, OutcomeSource, ReplyChange,
    Requested, ReservationChange, ReservationEnd, ReservationState, RideChange, RideState, Started,
    StatusChange, reply_status,
};
use super::{Body, Event};

#[derive(Default)]
struct Reducer {
    rides: BTreeMap<Uuid, RideChange>,
    reservations: BTreeMap<Uuid, ReservationChange>,
    commands: BTreeMap<Uuid, CommandChange>,
    replies: BTreeMap<Uuid, ReplyChange>,
}

/// Reduce `events` (in log order, each id once — see [`distinct`](super::distinct)) to
/// their [`Changes`].
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
