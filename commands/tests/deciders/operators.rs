//! Operator commands: registration, service state, remote lock/unlock, locate.

use fleetlog_commands::vehicle::{Activity, Decision};
use fleetlog_schemas::events::{
    AppCommandBody, DownlinkKind, FleetEventBody, LocateVehicle, Protocol, RegisterVehicle,
    RemoteLock, RemoteUnlock, ReplyOutcome, ReserveVehicle, SetInService, SetOutOfService,
    StartRide, VehicleState,
};

use crate::support::*;

fn out_of_service(w: &mut World, force: bool, reason: &str) -> Decision {
    let body = SetOutOfService {
        vehicle_id: VEHICLE,
        force,
        reason: reason.into(),
    };
    w.send(operator(), AppCommandBody::SetOutOfService(body))
}

fn in_service(w: &mut World) -> Decision {
    let body = SetInService {
        vehicle_id: VEHICLE,
        reason: Some("repaired".into()),
    };
    w.send(operator(), AppCommandBody::SetInService(body))
}

fn reserve(w: &mut World) -> Decision {
    w.send(
        rider(),
        AppCommandBody::ReserveVehicle(ReserveVehicle {
            vehicle_id: VEHICLE,
        }),
    )
}

fn remote_lock(w: &mut World, force: bool, reason: Option<&str>) -> Decision {
    let body = RemoteLock {
        vehicle_id: VEHICLE,
        force,
        reason: reason.map(str::to_owned),
    };
    w.send(operator(), AppCommandBody::RemoteLock(body))
}

fn remote_unlock(w: &mut World, force: bool, reason: Option<&str>) -> Decision {
    let body = RemoteUnlock {
        vehicle_id: VEHICLE,
        force,
        reason: reason.map(str::to_owned),
    };
    w.send(operator(), AppCommandBody::RemoteUnlock(body))
}

fn start_ride(w: &mut World) {
    let body = StartRide {
        vehicle_id: VEHICLE,
        reservation_id: None,
        rider_position: None,
    };
    w.send(rider(), AppCommandBody::StartRide(body));
    w.reply(w.pending_downlink(), ReplyOutcome::Answered);
}

#[test]
fn an_operator_registers_a_vehicle_with_its_device() {
    let mut w = World::empty();
    let d = w.register();
    assert_eq!(names(&d), ["CommandAccepted", "VehicleRegistered"]);
    let reg = w.state.registration.clone().expect("registered");
    assert_eq!((reg.vehicle_id, reg.device_id.as_str()), (VEHICLE, DEVICE));
    assert_eq!(reg.protocol, Protocol::Teltonika);
    assert_eq!(w.state.operational_state(), VehicleState::Available);
}

#[test]
fn a_rider_cannot_register_a_vehicle() {
    let mut w = World::empty();
    let body = RegisterVehicle {
        vehicle_id: VEHICLE,
        device_id: DEVICE.into(),
        protocol: Protocol::Omni,
        model: "x".into(),
        qr_code: "y".into(),
    };
    let d = w.send(rider(), AppCommandBody::RegisterVehicle(body));
    assert_eq!(rejection(&d).as_deref(), Some("forbidden"));
    assert!(!w.state.is_registered());
}

#[test]
fn registering_a_vehicle_twice_is_rejected() {
    let mut w = World::ready();
    assert_eq!(
        rejection(&w.register()).as_deref(),
        Some("already_registered")
    );
}

#[test]
fn registering_without_a_device_id_is_rejected() {
    let mut w = World::empty();
    let body = RegisterVehicle {
        vehicle_id: VEHICLE,
        device_id: " ".into(),
        protocol: Protocol::Gt06,
        model: "x".into(),
        qr_code: "y".into(),
    };
    let d = w.send(operator(), AppCommandBody::RegisterVehicle(body));
    assert_eq!(rejection(&d).as_deref(), Some("invalid_command"));
}

#[test]
fn an_operator_takes_an_idle_vehicle_out_of_service_with_the_reason_recorded() {
    let mut w = World::ready();
    let d = out_of_service(&mut w, false, "brake check");
    assert_eq!(names(&d), ["CommandAccepted", "VehicleStateChanged"]);
    let change = find(&d, |e| match e {
        FleetEventBody::VehicleStateChanged(c) => Some(c),
        _ => None,
    });
    assert_eq!(change.reason.as_deref(), Some("brake check"));
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Available, VehicleState::OutOfService))
    );
    assert_eq!(w.state.out_of_service.as_deref(), Some("brake check"));
}

#[test]
fn an_out_of_service_vehicle_cannot_be_reserved_or_taken_out_again() {
    let mut w = World::ready();
    out_of_service(&mut w, false, "brake check");
    assert_eq!(
        rejection(&reserve(&mut w)).as_deref(),
        Some("out_of_service")
    );
    assert_eq!(
        rejection(&out_of_service(&mut w, false, "again")).as_deref(),
        Some("out_of_service")
    );
}

#[test]
fn taking_a_vehicle_out_of_service_needs_a_reason() {
    let mut w = World::ready();
    assert_eq!(
        rejection(&out_of_service(&mut w, false, "")).as_deref(),
        Some("reason_required")
    );
}

#[test]
fn taking_a_reserved_vehicle_out_of_service_needs_force_and_cancels_the_reservation() {
    let mut w = World::ready();
    reserve(&mut w);
    assert_eq!(
        rejection(&out_of_service(&mut w, false, "tyre")).as_deref(),
        Some("vehicle_in_use")
    );
    let d = out_of_service(&mut w, true, "tyre");
    assert_eq!(
        names(&d),
        [
            "CommandAccepted",
            "ReservationCancelled",
            "VehicleStateChanged"
        ]
    );
    assert_eq!(
        state_change(&d),
        Some((VehicleState::Reserved, VehicleState::OutOfService))
    );
    assert_eq!(w.state.activity, Activity::Idle);
}

#[test]
fn a_forced_out_of_service_during_a_ride_lets_the_ride_finish() {
    let mut w = World::ready();
    start_ride(&mut w);
    let d = out_of_service(&mut w, true, "recall");
    assert_eq!(
        state_change(&d),
        Some((VehicleState::InRide, VehicleState::OutOfService))
    );
    let end = fleetlog_schemas::events::EndRide {
        vehicle_id: VEHICLE,
        ride_id: None,
        force: false,
        reason: None,
    };
    w.send(rider(), AppCommandBody::EndRide(end));
    let d = w.reply(w.pending_downlink(), ReplyOutcome::Answered);
    assert_eq!(names(&d), ["RideEnded"], "it stays out of service");
    assert_eq!(w.state.operational_state(), VehicleState::OutOfService);
}

#[test]
fn back_in_service_makes_the_vehicle_available_again() {
    let mut w = World::ready();
    out_of_service(&mut w, false, "brake check");
    let d = in_service(&mut w);
    assert_eq!(
        state_change(&d),
        Some((VehicleState::OutOfService, VehicleState::Available))
    );
    assert_eq!(rejection(&reserve(&mut w)), None);
}

#[test]
fn putting_an_in_service_vehicle_back_into_service_is_rejected() {
    let mut w = World::ready();
    assert_eq!(
        rejection(&in_service(&mut w)).as_deref(),
        Some("not_out_of_service")
    );
}

#[test]
fn remote_lock_sends_a_lock_downlink_and_only_an_accepted_event() {
    let mut w = World::ready();
    let d = remote_lock(&mut w, false, None);
    assert_eq!(names(&d), ["CommandAccepted"]);
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Lock]);
    assert_eq!(d.downlinks[0].expires_at_ms, w.now + 30_000);
    assert_eq!(
        w.state.saga, None,
        "the saga does not wait for remote commands"
    );
}

#[test]
fn remote_lock_during_a_ride_needs_force_with_a_reason() {
    let mut w = World::ready();
    start_ride(&mut w);
    assert_eq!(
        rejection(&remote_lock(&mut w, false, None)).as_deref(),
        Some("vehicle_in_use")
    );
    assert_eq!(
        rejection(&remote_lock(&mut w, true, None)).as_deref(),
        Some("reason_required")
    );
    let d = remote_lock(&mut w, true, Some("stolen"));
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Lock]);
}

#[test]
fn remote_unlock_of_a_reserved_vehicle_needs_force() {
    let mut w = World::ready();
    assert_eq!(
        downlink_kinds(&remote_unlock(&mut w, false, None)),
        [DownlinkKind::Unlock]
    );
    reserve(&mut w);
    assert_eq!(
        rejection(&remote_unlock(&mut w, false, None)).as_deref(),
        Some("vehicle_in_use")
    );
    let d = remote_unlock(&mut w, true, Some("battery swap"));
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Unlock]);
}

#[test]
fn locate_sends_a_locate_downlink() {
    let mut w = World::ready();
    let d = w.send(
        operator(),
        AppCommandBody::LocateVehicle(LocateVehicle {
            vehicle_id: VEHICLE,
        }),
    );
    assert_eq!(names(&d), ["CommandAccepted"]);
    assert_eq!(downlink_kinds(&d), [DownlinkKind::Locate]);
    assert_eq!(d.downlinks[0].device_id, DEVICE);
}

#[test]
fn riders_cannot_use_operator_commands() {
    let mut w = World::ready();
    let bodies = [
        AppCommandBody::LocateVehicle(LocateVehicle {
            vehicle_id: VEHICLE,
        }),
        AppCommandBody::RemoteUnlock(RemoteUnlock {
            vehicle_id: VEHICLE,
            force: false,
            reason: None,
        }),
        AppCommandBody::SetOutOfService(SetOutOfService {
            vehicle_id: VEHICLE,
            force: false,
            reason: "mine now".into(),
        }),
    ];
    for body in bodies {
        let d = w.send(rider(), body);
        assert_eq!(rejection(&d).as_deref(), Some("forbidden"));
        assert!(d.downlinks.is_empty());
    }
}

#[test]
fn operator_commands_on_an_unregistered_vehicle_are_rejected() {
    let mut w = World::empty();
    assert_eq!(
        rejection(&remote_lock(&mut w, false, None)).as_deref(),
        Some("not_registered")
    );
}
