//! Device facts, idempotency and determinism.

use fleetlog_commands::vehicle::{Vehicle, VehicleInput, decide, evolve};
use fleetlog_schemas::events::{
    AppCommandBody, GeoPoint, LockState, ReplyOutcome, ReserveVehicle, StartRide,
};

use crate::support::*;

fn reserve_body() -> AppCommandBody {
    AppCommandBody::ReserveVehicle(ReserveVehicle {
        vehicle_id: VEHICLE,
    })
}

#[test]
fn telemetry_updates_battery_lock_state_and_position_without_publishing_anything() {
    let mut w = World::ready();
    w.advance(1_000);
    let at = GeoPoint {
        lat_e7: 525_210_000,
        lon_e7: 134_060_000,
    };
    let d = w.telemetry(|t| {
        t.battery_pct = Some(42);
        t.lock_state = Some(LockState::Unlocked);
        t.lat_e7 = at.lat_e7;
        t.lon_e7 = at.lon_e7;
    });
    assert!(is_silent(&d));
    assert_eq!(internal_count(&d), 1);
    assert_eq!(w.state.battery_pct, Some(42));
    assert_eq!(w.state.lock_state, Some(LockState::Unlocked));
    let fix = w.state.last_fix.expect("a fix");
    assert_eq!((fix.point, fix.device_time_ms), (at, w.now));
}

#[test]
fn older_or_repeated_telemetry_is_ignored() {
    let mut w = World::ready();
    let before = w.state.clone();
    let repeated = w.telemetry_record(|t| t.battery_pct = Some(1));
    assert!(w.run(VehicleInput::Telemetry(repeated.clone())).is_empty());
    let mut older = repeated;
    older.device_time_ms -= 1;
    assert!(w.run(VehicleInput::Telemetry(older)).is_empty());
    assert_eq!(w.state, before);
}

#[test]
fn telemetry_from_another_device_is_ignored() {
    let mut w = World::ready();
    w.advance(1);
    let d = w.telemetry(|t| {
        t.device_id = "other".into();
        t.battery_pct = Some(3);
    });
    assert!(d.is_empty());
    assert_eq!(w.state.battery_pct, Some(80));
}

#[test]
fn an_invalid_or_zero_fix_keeps_the_last_position() {
    let mut w = World::ready();
    w.advance(1);
    w.telemetry(|t| {
        t.position_valid = false;
        t.lat_e7 = 1;
    });
    w.advance(1);
    w.telemetry(|t| {
        t.lat_e7 = 0;
        t.lon_e7 = 0;
    });
    assert_eq!(w.state.position(), Some(CENTER));
}

#[test]
fn a_session_closing_takes_the_vehicle_offline_and_a_new_one_brings_it_back() {
    let mut w = World::ready();
    w.advance(1);
    w.session(false);
    assert!(!w.state.online);
    w.advance(1);
    w.session(true);
    assert!(w.state.online);
}

#[test]
fn telemetry_received_before_a_disconnect_does_not_bring_the_vehicle_back_online() {
    let mut w = World::ready();
    w.advance(10);
    let late = w.telemetry_record(|t| {
        t.received_at_ms -= 5;
        t.device_time_ms += 1;
    });
    w.session(false);
    w.run(VehicleInput::Telemetry(late));
    assert!(!w.state.online);
}

#[test]
fn the_same_command_delivered_twice_yields_no_events_the_second_time() {
    let mut w = World::ready();
    let cmd = w.command(rider(), reserve_body());
    let first = w.run(VehicleInput::Command(cmd.clone()));
    assert_eq!(names(&first)[0], "CommandAccepted");
    let again = w.run(VehicleInput::Command(cmd));
    assert!(again.is_empty());
}

#[test]
fn a_command_re_sent_with_the_same_idempotency_key_yields_no_events() {
    let mut w = World::ready();
    let mut cmd = w.command(rider(), reserve_body());
    cmd.idempotency_key = "tap-42".into();
    w.run(VehicleInput::Command(cmd.clone()));
    cmd.command_id = w.next_id();
    assert!(w.run(VehicleInput::Command(cmd)).is_empty());
}

#[test]
fn a_rejected_command_delivered_twice_is_rejected_once() {
    let mut w = World::ready();
    w.rider_busy = true;
    let cmd = w.command(rider(), reserve_body());
    let first = w.run(VehicleInput::Command(cmd.clone()));
    assert_eq!(rejection(&first).as_deref(), Some("rider_busy"));
    w.rider_busy = false;
    assert!(w.run(VehicleInput::Command(cmd)).is_empty());
}

#[test]
fn a_ride_command_delivered_twice_sends_one_unlock() {
    let mut w = World::ready();
    let body = AppCommandBody::StartRide(StartRide {
        vehicle_id: VEHICLE,
        reservation_id: None,
        rider_position: None,
    });
    let cmd = w.command(rider(), body);
    assert_eq!(w.run(VehicleInput::Command(cmd.clone())).downlinks.len(), 1);
    assert!(w.run(VehicleInput::Command(cmd)).downlinks.is_empty());
}

#[test]
fn deciding_the_same_input_on_the_same_state_twice_gives_the_same_decision() {
    let mut w = World::ready();
    let cmd = w.command(rider(), reserve_body());
    let input = VehicleInput::Command(cmd);
    let ctx = w.ctx(input.timestamp_ms());
    assert_eq!(
        decide(&w.state, &input, &ctx),
        decide(&w.state, &input, &ctx)
    );
}

#[test]
fn two_worlds_fed_the_same_inputs_end_in_the_same_state_with_the_same_events() {
    let script = |w: &mut World| {
        let mut out = Vec::new();
        out.push(w.send(rider(), reserve_body()));
        w.advance(2_000);
        out.push(w.send(
            rider(),
            AppCommandBody::StartRide(StartRide {
                vehicle_id: VEHICLE,
                reservation_id: None,
                rider_position: None,
            }),
        ));
        w.advance(1_000);
        out.push(w.reply(w.pending_downlink(), ReplyOutcome::Answered));
        out
    };
    let (mut a, mut b) = (World::ready(), World::ready());
    assert_eq!(script(&mut a), script(&mut b));
    assert_eq!(a.state, b.state);
}

#[test]
fn the_state_survives_a_json_round_trip_for_storage() {
    let mut w = World::ready();
    w.send(rider(), reserve_body());
    let json = serde_json::to_string(&w.state).expect("serialise");
    let back: Vehicle = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, w.state);
}

#[test]
fn evolving_with_the_published_events_alone_keeps_reservations_and_rides_consistent() {
    let mut w = World::ready();
    let d = w.send(rider(), reserve_body());
    let from_fleet = d
        .fleet_events()
        .cloned()
        .map(fleetlog_commands::vehicle::VehicleEvent::Fleet)
        .fold(Vehicle::default(), |s, e| evolve(s, &e));
    assert_eq!(from_fleet.holder(), Some(RIDER));
}
