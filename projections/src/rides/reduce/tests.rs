//! The per-batch reduction: ride states never go back, parts are set once, reservations are
//! converted by the ride that uses them, command outcomes rank above acceptance whatever
//! the order, and each event id counts once.

use fleetlog_schemas::events::{
    Actor, ActorRole, CommandAccepted, CommandRejected, GeoPoint, ReservationCancelled,
    ReservationMade, RideEnded, RideFailed, RideRequested, RideStarted, VehicleRegistered,
};

use super::changes::{
    Changes, CommandStatus, OutcomeSource, ReservationState, RideState, command_rank, reply_status,
};
use super::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const VEHICLE: Uuid = Uuid::from_u128(0xa);
const RIDER: Uuid = Uuid::from_u128(0xb);
const RIDE: Uuid = Uuid::from_u128(0xc);
const RESERVATION: Uuid = Uuid::from_u128(0xd);
const START_CMD: Uuid = Uuid::from_u128(0x100);
const END_CMD: Uuid = Uuid::from_u128(0x200);

fn fleet(event_id: u128, correlation: Uuid, at_ms: i64, body: FleetEventBody) -> Event {
    Event {
        id: id(event_id),
        correlation_id: correlation,
        at_ms,
        body: Body::Fleet(body),
    }
}

fn requested(event_id: u128, at_ms: i64, reservation: Option<Uuid>) -> Event {
    fleet(
        event_id,
        START_CMD,
        at_ms,
        FleetEventBody::RideRequested(RideRequested {
            vehicle_id: VEHICLE,
            ride_id: RIDE,
            rider_id: RIDER,
            reservation_id: reservation,
            unlock_command_id: id(0x101),
        }),
    )
}

fn started(event_id: u128, at_ms: i64) -> Event {
    fleet(
        event_id,
        START_CMD,
        at_ms,
        FleetEventBody::RideStarted(RideStarted {
            vehicle_id: VEHICLE,
            ride_id: RIDE,
            rider_id: RIDER,
            start_position: Some(GeoPoint {
                lat_e7: 375_665_000,
                lon_e7: 1_269_780_000,
            }),
        }),
    )
}

fn ended(event_id: u128, at_ms: i64, fare_minor: i64) -> Event {
    fleet(
        event_id,
        END_CMD,
        at_ms,
        FleetEventBody::RideEnded(RideEnded {
            vehicle_id: VEHICLE,
            ride_id: RIDE,
            rider_id: RIDER,
            duration_ms: 600_000,
            distance_m: 2_100,
            fare_minor,
            currency: "KRW".into(),
            end_position: None,
            forced: false,
        }),
    )
}

fn failed(event_id: u128, at_ms: i64) -> Event {
    fleet(
        event_id,
        START_CMD,
        at_ms,
        FleetEventBody::RideFailed(RideFailed {
            vehicle_id: VEHICLE,
            ride_id: RIDE,
            rider_id: RIDER,
            reason: "unlock_timed_out".into(),
            detail: Some("no answer in 30 s".into()),
        }),
    )
}

fn accepted(event_id: u128, command: Uuid, at_ms: i64) -> Event {
    fleet(
        event_id,
        command,
        at_ms,
        FleetEventBody::CommandAccepted(CommandAccepted {
            command_id: command,
            vehicle_id: Some(VEHICLE),
        }),
    )
}

fn reply(event_id: u128, command: Uuid, at_ms: i64, outcome: ReplyOutcome) -> Event {
    Event {
        id: id(event_id),
        correlation_id: command,
        at_ms,
        body: Body::Reply(DeviceReply {
            command_id: id(0x999),
            device_id: "359000000000001".into(),
            outcome,
            reply_text: None,
            at_ms,
        }),
    }
}

fn only_ride(changes: &Changes) -> &RideChange {
    assert_eq!(changes.rides.len(), 1);
    &changes.rides[0]
}

fn command(changes: &Changes, command_id: Uuid) -> &CommandChange {
    changes
        .commands
        .iter()
        .find(|c| c.command_id == command_id)
        .unwrap()
}

#[test]
fn a_full_ride_gathers_every_part_and_ends() {
    let changes = reduce(&[
        requested(1, 1_000, None),
        started(2, 2_000),
        ended(3, 602_000, 2_500),
    ]);
    let ride = only_ride(&changes);
    assert_eq!(ride.state, RideState::Ended);
    assert_eq!(ride.requested.as_ref().unwrap().command_id, START_CMD);
    assert_eq!(ride.started.as_ref().unwrap().at_ms, 2_000);
    let end = ride.ended.as_ref().unwrap();
    assert_eq!((end.fare_minor, end.command_id), (2_500, END_CMD));
    assert_eq!((ride.last_event_id, ride.updated_at_ms), (id(3), 602_000));
}

#[test]
fn a_ride_state_never_moves_backwards() {
    // A started event after the end (or after a failure) leaves the terminal state.
    let changes = reduce(&[ended(3, 602_000, 2_500), started(2, 2_000)]);
    let ride = only_ride(&changes);
    assert_eq!(ride.state, RideState::Ended);
    assert!(ride.started.is_some(), "the started part is still recorded");
    assert_eq!(ride.updated_at_ms, 602_000);

    let changes = reduce(&[failed(4, 31_000), requested(1, 1_000, None)]);
    assert_eq!(only_ride(&changes).state, RideState::Failed);
}

#[test]
fn the_first_terminal_state_and_the_first_event_of_each_kind_win() {
    let changes = reduce(&[
        requested(1, 1_000, None),
        failed(4, 31_000),
        ended(3, 602_000, 2_500),
        ended(5, 700_000, 9_999),
    ]);
    let ride = only_ride(&changes);
    assert_eq!(ride.state, RideState::Failed);
    assert_eq!(ride.ended.as_ref().unwrap().fare_minor, 2_500);
}

#[test]
fn an_event_id_counts_once_in_a_batch() {
    let events = vec![
        requested(1, 1_000, None),
        ended(3, 602_000, 2_500),
        ended(3, 602_000, 9_999),
        requested(1, 1_000, None),
    ];
    let distinct = distinct(events);
    assert_eq!(distinct.len(), 2);
    let changes = reduce(&distinct);
    assert_eq!(
        only_ride(&changes).ended.as_ref().unwrap().fare_minor,
        2_500
    );
}

#[test]
fn a_ride_requested_with_a_reservation_converts_it() {
    let made = fleet(
        10,
        id(0x300),
        500,
        FleetEventBody::ReservationMade(ReservationMade {
            vehicle_id: VEHICLE,
            reservation_id: RESERVATION,
            rider_id: RIDER,
            expires_at_ms: 900_500,
        }),
    );
    let changes = reduce(&[made, requested(1, 1_000, Some(RESERVATION))]);
    assert_eq!(changes.reservations.len(), 1);
    let r = &changes.reservations[0];
    assert_eq!(r.state(), ReservationState::Converted);
    assert_eq!(r.made.as_ref().unwrap().expires_at_ms, 900_500);
    let end = r.ended.as_ref().unwrap();
    assert_eq!((end.at_ms, end.ride_id), (1_000, Some(RIDE)));
    assert_eq!(
        only_ride(&changes)
            .requested
            .as_ref()
            .unwrap()
            .reservation_id,
        Some(RESERVATION)
    );
}

#[test]
fn a_reservation_keeps_its_first_end_and_says_who_cancelled_it() {
    let cancelled = fleet(
        11,
        id(0x301),
        800,
        FleetEventBody::ReservationCancelled(ReservationCancelled {
            vehicle_id: VEHICLE,
            reservation_id: RESERVATION,
            rider_id: RIDER,
            cancelled_by: Actor {
                id: "op-1".into(),
                role: ActorRole::Operator,
            },
            reason: Some("battery swap".into()),
        }),
    );
    let changes = reduce(&[cancelled, requested(1, 1_000, Some(RESERVATION))]);
    let r = &changes.reservations[0];
    assert_eq!(r.state(), ReservationState::Cancelled);
    assert!(r.made.is_none(), "made before this batch");
    let end = r.ended.as_ref().unwrap();
    assert_eq!(end.cancelled_by.as_ref().unwrap().role, ActorRole::Operator);
    assert_eq!(end.reason.as_deref(), Some("battery swap"));
}

#[test]
fn ride_events_complete_or_fail_the_command_they_are_correlated_with() {
    let changes = reduce(&[
        accepted(20, START_CMD, 900),
        requested(1, 1_000, None),
        started(2, 2_000),
        accepted(21, END_CMD, 600_000),
        ended(3, 602_000, 2_500),
    ]);
    let start = command(&changes, START_CMD);
    assert_eq!(start.status.status, CommandStatus::Completed);
    assert_eq!(start.status.source, OutcomeSource::Ride);
    assert_eq!(start.decided_at_ms, Some(900));
    assert_eq!(start.status.finished_at_ms, Some(2_000));
    assert_eq!(start.ride_id, Some(RIDE));
    let end = command(&changes, END_CMD);
    assert_eq!(end.status.status, CommandStatus::Completed);
    assert_eq!(end.status.finished_at_ms, Some(602_000));

    let changes = reduce(&[accepted(20, START_CMD, 900), failed(4, 31_000)]);
    let start = command(&changes, START_CMD);
    assert_eq!(start.status.status, CommandStatus::Failed);
    assert_eq!(start.status.code.as_deref(), Some("unlock_timed_out"));
    assert_eq!(start.status.message.as_deref(), Some("no answer in 30 s"));
}

#[test]
fn a_completion_before_the_acceptance_is_kept_and_the_acceptance_fills_in_the_decision() {
    let changes = reduce(&[started(2, 2_000), accepted(20, START_CMD, 900)]);
    let start = command(&changes, START_CMD);
    assert_eq!(start.status.status, CommandStatus::Completed);
    assert_eq!(start.decided_at_ms, Some(900));
    assert_eq!(start.vehicle_id, Some(VEHICLE));
    assert_eq!(start.last_event_id, id(20));
}

#[test]
fn a_rejection_is_terminal_with_its_code_and_message() {
    let rejected = fleet(
        30,
        id(0x400),
        1_500,
        FleetEventBody::CommandRejected(CommandRejected {
            command_id: id(0x400),
            vehicle_id: Some(VEHICLE),
            code: "vehicle_unavailable".into(),
            message: "the vehicle is in maintenance".into(),
        }),
    );
    let changes = reduce(&[rejected, accepted(31, id(0x400), 1_600)]);
    let c = command(&changes, id(0x400));
    assert_eq!(c.status.status, CommandStatus::Rejected);
    assert_eq!(c.status.code.as_deref(), Some("vehicle_unavailable"));
    assert_eq!(c.status.finished_at_ms, Some(1_500));
    assert_eq!(c.decided_at_ms, Some(1_500));
}

#[test]
fn command_ranks_put_acceptance_below_device_outcomes_below_decisions_and_rides() {
    use CommandStatus as S;
    use OutcomeSource as O;
    assert!(command_rank(S::Accepted, O::Decision) < command_rank(S::Failed, O::Device));
    assert!(command_rank(S::Completed, O::Device) < command_rank(S::Completed, O::Ride));
    assert_eq!(
        command_rank(S::Rejected, O::Decision),
        command_rank(S::Failed, O::Ride)
    );
}

#[test]
fn device_replies_are_kept_per_correlation_first_terminal_one_and_delivered_is_ignored() {
    let remote = id(0x500);
    let changes = reduce(&[
        reply(40, remote, 1_000, ReplyOutcome::Delivered),
        reply(41, remote, 1_200, ReplyOutcome::Answered),
        reply(42, remote, 1_300, ReplyOutcome::TimedOut),
        accepted(43, remote, 900),
    ]);
    assert_eq!(changes.replies.len(), 1);
    let r = &changes.replies[0];
    assert_eq!(
        (r.event_id, r.status.status),
        (id(41), CommandStatus::Completed)
    );
    assert_eq!(r.status.source, OutcomeSource::Device);
    assert_eq!(changes.reply_candidates, vec![remote]);
    // The reply does not change the command change itself: the writer applies it.
    assert_eq!(
        command(&changes, remote).status.status,
        CommandStatus::Accepted
    );
}

#[test]
fn failed_replies_say_why() {
    let mut refused = DeviceReply {
        command_id: id(1),
        device_id: "d".into(),
        outcome: ReplyOutcome::Rejected,
        reply_text: Some("ERR locked by key".into()),
        at_ms: 5,
    };
    let status = reply_status(&refused, 5).unwrap();
    assert_eq!(status.status, CommandStatus::Failed);
    assert_eq!(status.code.as_deref(), Some("device_rejected"));
    assert_eq!(status.message.as_deref(), Some("ERR locked by key"));
    refused.outcome = ReplyOutcome::Undeliverable;
    refused.reply_text = None;
    let status = reply_status(&refused, 5).unwrap();
    assert_eq!(status.code.as_deref(), Some("device_undeliverable"));
    assert!(status.message.is_some());
    refused.outcome = ReplyOutcome::Delivered;
    assert!(reply_status(&refused, 5).is_none());
}

#[test]
fn other_fleet_events_and_delivered_replies_are_not_relevant() {
    let registered = Body::Fleet(FleetEventBody::VehicleRegistered(VehicleRegistered {
        vehicle_id: VEHICLE,
        device_id: "d".into(),
        protocol: fleetlog_schemas::events::Protocol::Teltonika,
        model: "m".into(),
        qr_code: "q".into(),
    }));
    assert!(!is_relevant(&registered));
    assert!(!is_relevant(
        &reply(1, START_CMD, 1, ReplyOutcome::Delivered).body
    ));
    assert!(is_relevant(
        &reply(1, START_CMD, 1, ReplyOutcome::Answered).body
    ));
    assert!(is_relevant(&started(1, 1).body));
    assert!(reduce(&[]).is_empty());
}

#[test]
fn the_same_events_cut_into_two_batches_reduce_to_the_same_parts() {
    let events = [
        accepted(20, START_CMD, 900),
        requested(1, 1_000, None),
        started(2, 2_000),
        ended(3, 602_000, 2_500),
    ];
    let whole = reduce(&events);
    let (first, second) = (reduce(&events[..2]), reduce(&events[2..]));
    let ride = only_ride(&whole);
    assert_eq!(
        only_ride(&first).requested.as_ref(),
        ride.requested.as_ref()
    );
    assert_eq!(only_ride(&second).started.as_ref(), ride.started.as_ref());
    assert_eq!(only_ride(&second).ended.as_ref(), ride.ended.as_ref());
    assert_eq!(only_ride(&second).state, ride.state);
}
