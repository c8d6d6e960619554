//! Reserving and releasing a vehicle.

use fleetlog_commands::vehicle::Activity;
use fleetlog_schemas::events::{
    Actor, ActorRole, AppCommandBody, CancelReservation, DefineZone, FleetEventBody,
    ReservationMade, ReserveVehicle, VehicleState, ZoneKind,
};
use uuid::Uuid;

use crate::support::*;

fn reserve(w: &mut World, actor: Actor) -> fleetlog_commands::vehicle::Decision {
    w.send(
        actor,
        AppCommandBody::ReserveVehicle(ReserveVehicle {
            vehicle_id: VEHICLE,
        }),
    )
}

fn cancel(
    w: &mut World,
    actor: Actor,
    reason: Option<&str>,
) -> fleetlog_commands::vehicle::Decision {
    w.send(
        actor,
        AppCommandBody::CancelReservation(CancelReservation {
            vehicle_id: VEHICLE,
            reservation_id: None,
            reason: reason.map(str::to_owned),
        }),
    )
}

fn made(d: &fleetlog_commands::vehicle::Decision) -> &ReservationMade {
    find(d, |e| match e {
        FleetEventBody::ReservationMade(m) => Some(m),
        _ => None,
    })
}

#[test]
fn a_rider_reserves_an_available_vehicle_for_the_reservation_ttl() {
    let mut w = World::ready();
    let d = reserve(&mut w, rider());
    assert_eq!(
        names(&d),
        ["CommandAccepted", "ReservationMade", "VehicleStateChanged"]
    );
    let m = made(&d);
    assert_eq!((m.rider_id, m.vehicle_id), (RIDER, VEHICLE));
    assert_eq!(m.expires_at_ms, w.now + 10 * 60 * 1000);
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Available, VehicleState::Reserved))
    );
    assert!(d.downlinks.is_empty());
}

#[test]
fn reserving_an_unregistered_vehicle_is_rejected() {
    let mut w = World::empty();
    let d = reserve(&mut w, rider());
    assert_eq!(names(&d), ["CommandRejected"]);
    assert_eq!(rejection(&d).as_deref(), Some("not_registered"));
}

#[test]
fn reserving_an_offline_vehicle_is_rejected() {
    let mut w = World::ready();
    w.advance(1);
    w.session(false);
    assert_eq!(
        rejection(&reserve(&mut w, rider())).as_deref(),
        Some("offline")
    );
}

#[test]
fn reserving_below_the_minimum_battery_is_rejected_and_at_the_minimum_accepted() {
    let mut w = World::ready();
    w.advance(1);
    w.telemetry(|t| t.battery_pct = Some(14));
    assert_eq!(
        rejection(&reserve(&mut w, rider())).as_deref(),
        Some("battery_low")
    );
    w.advance(1);
    w.telemetry(|t| t.battery_pct = Some(15));
    assert_eq!(rejection(&reserve(&mut w, rider())), None);
}

#[test]
fn reserving_a_vehicle_whose_battery_is_unknown_is_rejected() {
    let mut w = World::empty();
    w.register();
    w.session(true);
    assert_eq!(
        rejection(&reserve(&mut w, rider())).as_deref(),
        Some("battery_low")
    );
}

#[test]
fn a_rider_with_another_ride_or_reservation_cannot_reserve() {
    let mut w = World::ready();
    w.rider_busy = true;
    assert_eq!(
        rejection(&reserve(&mut w, rider())).as_deref(),
        Some("rider_busy")
    );
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn a_vehicle_held_by_another_rider_cannot_be_reserved() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    let d = reserve(&mut w, rider_as(OTHER_RIDER));
    assert_eq!(rejection(&d).as_deref(), Some("reserved_by_other"));
}

#[test]
fn reserving_the_same_vehicle_again_is_rejected_as_already_reserved() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    assert_eq!(
        rejection(&reserve(&mut w, rider())).as_deref(),
        Some("already_reserved")
    );
}

#[test]
fn a_reservation_expires_on_the_first_tick_at_its_expiry_time() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    w.advance(10 * 60 * 1000 - 1);
    assert!(
        w.tick().is_empty(),
        "still held one millisecond before expiry"
    );
    w.advance(1);
    let d = w.tick();
    assert_eq!(names(&d), ["ReservationExpired", "VehicleStateChanged"]);
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Reserved, VehicleState::Available))
    );
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn an_expired_reservation_is_released_by_the_next_command_even_without_a_tick() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    w.advance(11 * 60 * 1000);
    let d = reserve(&mut w, rider_as(OTHER_RIDER));
    assert_eq!(
        names(&d),
        [
            "ReservationExpired",
            "VehicleStateChanged",
            "CommandAccepted",
            "ReservationMade",
            "VehicleStateChanged"
        ]
    );
    assert_eq!(made(&d).rider_id, OTHER_RIDER);
}

#[test]
fn a_rejected_command_still_carries_what_expired_before_it() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    w.advance(11 * 60 * 1000);
    w.rider_busy = true;
    let d = reserve(&mut w, rider_as(OTHER_RIDER));
    assert_eq!(
        names(&d),
        [
            "ReservationExpired",
            "VehicleStateChanged",
            "CommandRejected"
        ]
    );
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn the_holder_cancels_their_reservation_and_the_vehicle_is_available_again() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    let d = cancel(&mut w, rider(), None);
    assert_eq!(
        names(&d),
        [
            "CommandAccepted",
            "ReservationCancelled",
            "VehicleStateChanged"
        ]
    );
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn another_rider_cannot_cancel_a_reservation() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    let d = cancel(&mut w, rider_as(OTHER_RIDER), None);
    assert_eq!(rejection(&d).as_deref(), Some("not_owner"));
}

#[test]
fn an_operator_cancels_a_reservation_only_with_a_reason() {
    let mut w = World::ready();
    reserve(&mut w, rider());
    assert_eq!(
        rejection(&cancel(&mut w, operator(), None)).as_deref(),
        Some("reason_required")
    );
    let d = cancel(&mut w, operator(), Some("vehicle damaged"));
    let c = find(&d, |e| match e {
        FleetEventBody::ReservationCancelled(c) => Some(c),
        _ => None,
    });
    assert_eq!(c.cancelled_by.role, ActorRole::Operator);
    assert_eq!(c.reason.as_deref(), Some("vehicle damaged"));
    assert_eq!(c.rider_id, RIDER);
}

#[test]
fn cancelling_a_reservation_that_is_not_the_current_one_is_rejected() {
    let mut w = World::ready();
    assert_eq!(
        rejection(&cancel(&mut w, rider(), None)).as_deref(),
        Some("reservation_not_found")
    );
    reserve(&mut w, rider());
    let d = w.send(
        rider(),
        AppCommandBody::CancelReservation(CancelReservation {
            vehicle_id: VEHICLE,
            reservation_id: Some(Uuid::from_u128(42)),
            reason: None,
        }),
    );
    assert_eq!(rejection(&d).as_deref(), Some("reservation_not_found"));
}

#[test]
fn a_command_addressed_to_another_vehicle_is_rejected_as_invalid() {
    let mut w = World::ready();
    let other = Uuid::from_u128(999);
    let d = w.send(
        rider(),
        AppCommandBody::ReserveVehicle(ReserveVehicle { vehicle_id: other }),
    );
    assert_eq!(rejection(&d).as_deref(), Some("invalid_command"));
}

#[test]
fn a_zone_command_is_not_for_the_vehicle_decider() {
    let mut w = World::ready();
    let d = w.send(
        operator(),
        AppCommandBody::DefineZone(DefineZone {
            zone_id: Uuid::from_u128(5),
            kind: ZoneKind::Slow,
            name: "old town".into(),
            rings: Vec::new(),
            speed_limit_kmh: Some(10),
        }),
    );
    assert_eq!(rejection(&d).as_deref(), Some("invalid_command"));
}

#[test]
fn a_rider_whose_actor_id_is_not_an_account_id_is_rejected() {
    let mut w = World::ready();
    let bad = Actor {
        id: "not-a-uuid".into(),
        role: ActorRole::Rider,
    };
    assert_eq!(
        rejection(&reserve(&mut w, bad)).as_deref(),
        Some("invalid_command")
    );
}
