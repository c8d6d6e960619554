//! Ending a ride: who may, where, the lock and its confirmation, the priced end.

use fleetlog_commands::geo::haversine_mm;
use fleetlog_commands::vehicle::{Activity, Decision, VehicleInput};
use fleetlog_schemas::events::{
    Actor, AppCommandBody, DownlinkKind, EndRide, FleetEventBody, GeoPoint, LockState,
    ReplyOutcome, RideEnded,
};
use uuid::Uuid;

use crate::ride_start::{riding, start};
use crate::support::*;

fn end(w: &mut World, actor: Actor, force: bool, reason: Option<&str>) -> Decision {
    let body = EndRide {
        vehicle_id: VEHICLE,
        ride_id: None,
        force,
        reason: reason.map(str::to_owned),
    };
    w.send(actor, AppCommandBody::EndRide(body))
}

fn ended(d: &Decision) -> &RideEnded {
    find(d, |e| match e {
        FleetEventBody::RideEnded(r) => Some(r),
        _ => None,
    })
}

fn north_of(p: GeoPoint, e7: i32) -> GeoPoint {
    GeoPoint {
        lat_e7: p.lat_e7 + e7,
        lon_e7: p.lon_e7,
    }
}

#[test]
fn ending_a_ride_sends_a_lock_and_its_confirmation_ends_and_prices_the_ride() {
    let mut w = riding();
    w.advance(9 * 60_000 + 30_000);
    let d = end(&mut w, rider(), false, None);
    assert_eq!(names(&d), ["CommandAccepted"]);
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Lock]);
    assert!(
        matches!(w.state.activity, Activity::Riding(_)),
        "the ride goes on until locked"
    );
    w.advance(2_000);
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    assert_eq!(names(&d), ["RideEnded", "VehicleStateChanged"]);
    let e = ended(&d);
    assert_eq!(
        e.duration_ms,
        9 * 60_000 + 30_000,
        "billing stops at the end request"
    );
    assert_eq!(
        e.fare_minor,
        100 + 25 * 10,
        "unlock fee + ten started minutes"
    );
    assert_eq!(
        (e.currency.as_str(), e.forced, e.rider_id),
        ("EUR", false, RIDER)
    );
    assert_eq!(e.end_position, Some(CENTER));
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn locked_telemetry_after_the_end_request_confirms_the_end() {
    let mut w = riding();
    end(&mut w, rider(), false, None);
    w.advance(1_000);
    let d = w.telemetry(|t| t.lock_state = Some(LockState::Locked));
    assert_eq!(names(&d), ["RideEnded", "VehicleStateChanged"]);
}

#[test]
fn the_distance_is_the_sum_of_haversine_segments_between_valid_newer_positions() {
    let mut w = riding();
    let (a, b, c) = (
        north_of(CENTER, 10_000),
        north_of(CENTER, 20_000),
        north_of(CENTER, 35_000),
    );
    w.move_to(a);
    w.advance(1_000);
    w.telemetry(|t| {
        t.position_valid = false;
        t.lat_e7 = FAR_AWAY.lat_e7;
        t.lon_e7 = FAR_AWAY.lon_e7;
    });
    w.move_to(b);
    let mut stale = w.telemetry_record(|t| {
        t.lat_e7 = FAR_AWAY.lat_e7;
        t.lon_e7 = FAR_AWAY.lon_e7;
    });
    stale.device_time_ms -= 5_000;
    w.run(VehicleInput::Telemetry(stale));
    w.move_to(c);
    end(&mut w, rider(), false, None);
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    let expected_mm = haversine_mm(CENTER, a) + haversine_mm(a, b) + haversine_mm(b, c);
    assert_eq!(ended(&d).distance_m, (expected_mm + 500) / 1000);
    assert_eq!(ended(&d).distance_m, 389, "0.0035° of latitude");
    assert_eq!(ended(&d).end_position, Some(c));
}

#[test]
fn only_the_riding_rider_can_end_the_ride() {
    let mut w = riding();
    assert_eq!(
        rejection(&end(&mut w, rider_as(OTHER_RIDER), false, None)).as_deref(),
        Some("not_owner")
    );
    assert_eq!(
        rejection(&end(&mut w, operator(), false, None)).as_deref(),
        Some("not_owner")
    );
}

#[test]
fn ending_outside_the_service_area_is_rejected_and_inside_accepted() {
    let mut w = riding();
    w.zones = vec![service_area()];
    w.move_to(FAR_AWAY);
    let d = end(&mut w, rider(), false, None);
    assert_eq!(rejection(&d).as_deref(), Some("outside_service_area"));
    assert!(d.downlinks.is_empty());
    w.move_to(CENTER);
    assert_eq!(rejection(&end(&mut w, rider(), false, None)), None);
}

#[test]
fn ending_inside_a_no_parking_zone_is_rejected() {
    let mut w = riding();
    w.zones = vec![service_area(), no_parking()];
    w.move_to(NO_PARKING_SPOT);
    assert_eq!(
        rejection(&end(&mut w, rider(), false, None)).as_deref(),
        Some("in_no_parking_zone")
    );
}

#[test]
fn ending_anywhere_is_allowed_when_no_service_area_is_defined() {
    let mut w = riding();
    w.move_to(FAR_AWAY);
    assert_eq!(rejection(&end(&mut w, rider(), false, None)), None);
}

#[test]
fn ending_without_a_known_position_is_rejected_when_zones_constrain_parking() {
    let mut w = World::empty();
    w.register();
    w.session(true);
    w.telemetry(|t| {
        t.battery_pct = Some(90);
        t.position_valid = false;
    });
    start(&mut w, rider());
    w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    w.zones = vec![service_area()];
    assert_eq!(
        rejection(&end(&mut w, rider(), false, None)).as_deref(),
        Some("position_unknown")
    );
}

#[test]
fn an_operator_force_ends_a_ride_anywhere_with_a_reason() {
    let mut w = riding();
    w.zones = vec![service_area()];
    w.move_to(FAR_AWAY);
    let d = end(&mut w, operator(), true, Some("abandoned in Potsdam"));
    assert_eq!(names(&d), ["CommandAccepted"]);
    assert_eq!(
        w.state.saga.as_ref().and_then(|s| s.reason.as_deref()),
        Some("abandoned in Potsdam")
    );
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    assert!(ended(&d).forced);
}

#[test]
fn forcing_needs_a_reason_and_an_operator() {
    let mut w = riding();
    assert_eq!(
        rejection(&end(&mut w, operator(), true, None)).as_deref(),
        Some("reason_required")
    );
    assert_eq!(
        rejection(&end(&mut w, operator(), true, Some("  "))).as_deref(),
        Some("reason_required")
    );
    assert_eq!(
        rejection(&end(&mut w, rider(), true, Some("please"))).as_deref(),
        Some("forbidden")
    );
}

#[test]
fn an_unconfirmed_lock_leaves_the_ride_on_and_the_rider_can_try_again() {
    let mut w = riding();
    end(&mut w, rider(), false, None);
    w.advance(30_000);
    let d = w.tick();
    assert!(is_silent(&d), "no fleet event: the ride goes on");
    assert!(matches!(w.state.activity, Activity::Riding(_)));
    assert_eq!(w.state.saga, None);
    assert_eq!(rejection(&end(&mut w, rider(), false, None)), None);
}

#[test]
fn an_unconfirmed_forced_lock_ends_the_ride_anyway() {
    let mut w = riding();
    end(&mut w, operator(), true, Some("device dead"));
    w.advance(30_000);
    let d = w.tick();
    assert_eq!(names(&d), ["RideEnded", "VehicleStateChanged"]);
    assert!(ended(&d).forced);
}

#[test]
fn ending_a_ride_that_is_still_unlocking_or_already_ending_is_rejected_as_pending() {
    let mut w = World::ready();
    start(&mut w, rider());
    assert_eq!(
        rejection(&end(&mut w, rider(), false, None)).as_deref(),
        Some("command_pending")
    );
    let mut w = riding();
    end(&mut w, rider(), false, None);
    assert_eq!(
        rejection(&end(&mut w, rider(), false, None)).as_deref(),
        Some("command_pending")
    );
}

#[test]
fn ending_a_ride_that_is_not_the_current_one_is_rejected() {
    let mut w = World::ready();
    assert_eq!(
        rejection(&end(&mut w, rider(), false, None)).as_deref(),
        Some("ride_not_found")
    );
    let mut w = riding();
    let body = EndRide {
        vehicle_id: VEHICLE,
        ride_id: Some(Uuid::from_u128(3)),
        force: false,
        reason: None,
    };
    let d = w.send(rider(), AppCommandBody::EndRide(body));
    assert_eq!(rejection(&d).as_deref(), Some("ride_not_found"));
}
