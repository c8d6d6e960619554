//! Starting a ride: the request, the unlock and its confirmation, failure and timeout.

use fleetlog_commands::vehicle::{Activity, Decision, VehicleInput};
use fleetlog_schemas::events::{
    Actor, AppCommandBody, DownlinkKind, FleetEventBody, LockState, ReplyOutcome, ReserveVehicle,
    RideFailed, RideRequested, StartRide, VehicleState,
};
use uuid::Uuid;

use crate::support::*;

pub(crate) fn start(w: &mut World, actor: Actor) -> Decision {
    let body = StartRide {
        vehicle_id: VEHICLE,
        reservation_id: None,
        rider_position: None,
    };
    w.send(actor, AppCommandBody::StartRide(body))
}

/// A ride by [`RIDER`] whose unlock the device answered one second after the request.
pub(crate) fn riding() -> World {
    let mut w = World::ready();
    start(&mut w, rider());
    w.advance(1_000);
    let unlock = w.pending_downlink();
    w.reply(unlock, ReplyOutcome::Answered);
    assert!(matches!(w.state.activity, Activity::Riding(_)));
    w
}

fn requested(d: &Decision) -> &RideRequested {
    find(d, |e| match e {
        FleetEventBody::RideRequested(r) => Some(r),
        _ => None,
    })
}

fn failed(d: &Decision) -> &RideFailed {
    find(d, |e| match e {
        FleetEventBody::RideFailed(r) => Some(r),
        _ => None,
    })
}

#[test]
fn starting_a_ride_requests_it_and_sends_an_unlock_but_does_not_start_it() {
    let mut w = World::ready();
    let d = start(&mut w, rider());
    assert_eq!(
        names(&d),
        ["CommandAccepted", "RideRequested", "VehicleStateChanged"]
    );
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Unlock]);
    let unlock = &d.downlinks[0];
    assert_eq!(unlock.command_id, requested(&d).unlock_command_id);
    assert_eq!(
        (unlock.device_id.as_str(), unlock.vehicle_id),
        (DEVICE, Some(VEHICLE))
    );
    assert_eq!(unlock.expires_at_ms, w.now + 30_000);
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Available, VehicleState::Reserved))
    );
    assert!(matches!(w.state.activity, Activity::Starting(_)));
}

#[test]
fn the_device_answering_the_unlock_starts_the_ride() {
    let mut w = World::ready();
    let ride_id = requested(&start(&mut w, rider())).ride_id;
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    assert_eq!(names(&d), ["RideStarted", "VehicleStateChanged"]);
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Reserved, VehicleState::InRide))
    );
    let Activity::Riding(ride) = &w.state.activity else {
        panic!("riding")
    };
    assert_eq!((ride.ride_id, ride.rider_id), (ride_id, RIDER));
    assert_eq!(ride.start_position, Some(CENTER));
}

#[test]
fn telemetry_reporting_unlocked_after_the_request_starts_the_ride() {
    let mut w = World::ready();
    start(&mut w, rider());
    w.advance(500);
    let d = w.telemetry(|t| t.lock_state = Some(LockState::Unlocked));
    assert_eq!(names(&d), ["RideStarted", "VehicleStateChanged"]);
}

#[test]
fn unlocked_telemetry_received_before_the_request_does_not_start_the_ride() {
    let mut w = World::ready();
    w.advance(10_000);
    start(&mut w, rider());
    // A record received before the request, delivered late (newer device time).
    let mut early = w.telemetry_record(|t| t.lock_state = Some(LockState::Unlocked));
    early.received_at_ms = w.now - 1;
    early.device_time_ms = w.now + 1;
    let d = w.run(VehicleInput::Telemetry(early));
    assert!(is_silent(&d));
    assert!(matches!(w.state.activity, Activity::Starting(_)));
}

#[test]
fn a_delivered_but_unanswered_unlock_does_not_start_the_ride() {
    let mut w = World::ready();
    start(&mut w, rider());
    assert!(
        w.reply(w.pending_downlink(), ReplyOutcome::Delivered)
            .is_empty()
    );
    assert!(matches!(w.state.activity, Activity::Starting(_)));
}

#[test]
fn a_reply_to_another_downlink_is_ignored() {
    let mut w = World::ready();
    start(&mut w, rider());
    assert!(
        w.reply(Uuid::from_u128(77), ReplyOutcome::Answered)
            .is_empty()
    );
}

#[test]
fn no_confirmation_before_the_deadline_fails_the_ride_and_frees_the_vehicle() {
    let mut w = World::ready();
    start(&mut w, rider());
    w.advance(29_999);
    assert!(w.tick().is_empty());
    w.advance(1);
    let d = w.tick();
    assert_eq!(names(&d), ["RideFailed", "VehicleStateChanged"]);
    assert_eq!(failed(&d).reason, "unlock_timed_out");
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Reserved, VehicleState::Available))
    );
    assert_eq!(
        (w.state.activity.clone(), w.state.saga.clone()),
        (Activity::Idle, None)
    );
}

#[test]
fn a_device_refusing_the_unlock_fails_the_ride_with_its_answer() {
    let mut w = World::ready();
    start(&mut w, rider());
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Rejected);
    assert_eq!(failed(&d).reason, "unlock_rejected");
    assert_eq!(failed(&d).detail.as_deref(), Some("ok"));
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn the_rider_who_reserved_starts_a_ride_that_consumes_the_reservation() {
    let mut w = World::ready();
    w.send(
        rider(),
        AppCommandBody::ReserveVehicle(ReserveVehicle {
            vehicle_id: VEHICLE,
        }),
    );
    let Activity::Reserved(r) = w.state.activity.clone() else {
        panic!("reserved")
    };
    let d = start(&mut w, rider());
    assert_eq!(names(&d), ["CommandAccepted", "RideRequested"]);
    assert_eq!(requested(&d).reservation_id, Some(r.reservation_id));
}

#[test]
fn a_failed_start_after_a_reservation_makes_the_vehicle_available_again() {
    let mut w = World::ready();
    w.send(
        rider(),
        AppCommandBody::ReserveVehicle(ReserveVehicle {
            vehicle_id: VEHICLE,
        }),
    );
    start(&mut w, rider());
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Undeliverable);
    assert_eq!(failed(&d).reason, "unlock_undeliverable");
    assert_eq!(w.state.operational_state(), VehicleState::Available);
}

#[test]
fn another_rider_cannot_start_a_ride_on_a_reserved_vehicle() {
    let mut w = World::ready();
    w.send(
        rider(),
        AppCommandBody::ReserveVehicle(ReserveVehicle {
            vehicle_id: VEHICLE,
        }),
    );
    let d = start(&mut w, rider_as(OTHER_RIDER));
    assert_eq!(rejection(&d).as_deref(), Some("reserved_by_other"));
    assert!(d.downlinks.is_empty());
}

#[test]
fn starting_a_ride_on_a_vehicle_already_starting_or_ridden_is_rejected() {
    let mut w = World::ready();
    start(&mut w, rider());
    assert_eq!(
        rejection(&start(&mut w, rider_as(OTHER_RIDER))).as_deref(),
        Some("vehicle_in_use")
    );
    let mut w = riding();
    assert_eq!(
        rejection(&start(&mut w, rider_as(OTHER_RIDER))).as_deref(),
        Some("vehicle_in_use")
    );
}

#[test]
fn a_rider_busy_elsewhere_cannot_start_a_ride() {
    let mut w = World::ready();
    w.rider_busy = true;
    assert_eq!(
        rejection(&start(&mut w, rider())).as_deref(),
        Some("rider_busy")
    );
}

#[test]
fn starting_a_ride_needs_an_online_vehicle_with_enough_battery() {
    let mut w = World::ready();
    w.advance(1);
    w.telemetry(|t| t.battery_pct = Some(5));
    assert_eq!(
        rejection(&start(&mut w, rider())).as_deref(),
        Some("battery_low")
    );
    let mut w = World::ready();
    w.advance(1);
    w.session(false);
    assert_eq!(
        rejection(&start(&mut w, rider())).as_deref(),
        Some("offline")
    );
}

#[test]
fn the_ride_and_unlock_ids_derive_from_the_command_id() {
    let mut w = World::ready();
    let d = start(&mut w, rider());
    let cmd = w.last_command.clone().expect("sent");
    let r = requested(&d);
    let derived = |name: &str| Uuid::new_v5(&cmd.command_id, name.as_bytes());
    assert_eq!(
        (r.ride_id, r.unlock_command_id),
        (derived("ride"), derived("unlock"))
    );
}
