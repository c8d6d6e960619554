//! The per-batch reduction: newest wins, ties are broken the same way whatever the batch
//! boundaries, and position moves only with a valid fix.

use fleetlog_schemas::events::{
    DisconnectReason, SessionConnected, SessionDisconnected, VehicleRegistered, VehicleStateChanged,
};

use super::*;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn record(device: &str, time: i64, index: i32) -> Telemetry {
    Telemetry {
        device_id: device.into(),
        frame_id: id(999),
        record_index: index,
        device_time_ms: time,
        received_at_ms: time + 5,
        lat_e7: 375_000_000 + i32::try_from(time).unwrap(),
        lon_e7: 1_270_000_000,
        altitude_m: 30,
        speed_kmh: i32::try_from(time).unwrap(),
        heading_deg: 90,
        satellites: 9,
        position_valid: true,
        battery_pct: Some(80),
        lock_state: Some(LockState::Locked),
        alarms: vec![],
        odometer_m: Some(1000 + time),
        io: vec![],
    }
}

#[test]
fn the_newest_record_per_device_wins_whatever_the_batch_order() {
    let batch = vec![
        (id(1), record("a", 20, 0)),
        (id(2), record("b", 5, 0)),
        (id(3), record("a", 30, 0)),
        (id(4), record("a", 10, 0)),
    ];
    let reduced = newest_telemetry(&batch);
    assert_eq!(reduced.len(), 2);
    assert_eq!(reduced[0].device_id, "a");
    assert_eq!((reduced[0].device_time_ms, reduced[0].speed_kmh), (30, 30));
    assert_eq!(reduced[0].event_id, id(3));
    assert_eq!(
        reduced[0].position,
        Some(Stamped {
            value: (375_000_030, 1_270_000_000),
            at_ms: 30
        })
    );
    assert_eq!(reduced[1].device_id, "b");

    let mut reversed = batch.clone();
    reversed.reverse();
    assert_eq!(newest_telemetry(&reversed), reduced);
}

#[test]
fn equal_device_times_are_ordered_by_record_index() {
    let batch = vec![(id(1), record("a", 20, 1)), (id(2), record("a", 20, 0))];
    assert_eq!(newest_telemetry(&batch)[0].event_id, id(1));
    let swapped = vec![batch[1].clone(), batch[0].clone()];
    assert_eq!(newest_telemetry(&swapped)[0].event_id, id(1));
}

#[test]
fn a_resent_record_keeps_the_first_event_id() {
    let batch = vec![(id(1), record("a", 20, 0)), (id(2), record("a", 20, 0))];
    assert_eq!(newest_telemetry(&batch)[0].event_id, id(1));
    let distinct = distinct_records(&batch);
    assert_eq!(distinct.len(), 1);
    assert_eq!(distinct[0].0, id(1));
}

#[test]
fn position_moves_only_with_a_valid_fix_and_other_fields_keep_their_newest_report() {
    let mut newest = record("a", 30, 0);
    newest.position_valid = false;
    newest.lat_e7 = 0;
    newest.battery_pct = None;
    newest.lock_state = Some(LockState::Unlocked);
    let reduced = newest_telemetry(&[(id(1), record("a", 20, 0)), (id(2), newest)]);
    let d = &reduced[0];
    assert_eq!(d.device_time_ms, 30);
    assert_eq!(d.event_id, id(2));
    assert_eq!(
        d.position,
        Some(Stamped {
            value: (375_000_020, 1_270_000_000),
            at_ms: 20
        })
    );
    assert_eq!(
        d.battery_pct,
        Some(Stamped {
            value: 80,
            at_ms: 20
        })
    );
    assert_eq!(
        d.lock_state,
        Some(Stamped {
            value: LockState::Unlocked,
            at_ms: 30
        })
    );
}

fn session(device: &str, at: i64, connected: bool) -> SessionEvent {
    SessionEvent {
        session_id: id(7),
        device_id: device.into(),
        gateway_id: "gw".into(),
        at_ms: at,
        change: if connected {
            SessionChange::SessionConnected(SessionConnected {
                protocol: Protocol::Teltonika,
                remote_addr: "127.0.0.1:1".into(),
            })
        } else {
            SessionChange::SessionDisconnected(SessionDisconnected {
                reason: DisconnectReason::PeerClosed,
                detail: None,
                frames: 3,
            })
        },
    }
}

#[test]
fn an_older_disconnect_later_in_the_batch_does_not_win() {
    let reduced = newest_sessions(&[
        (id(1), session("a", 100, true)),
        (id(2), session("a", 50, false)),
    ]);
    assert_eq!(reduced.len(), 1);
    assert!(reduced[0].online);
    assert_eq!(reduced[0].protocol, Some(Protocol::Teltonika));
}

#[test]
fn session_events_at_the_same_millisecond_are_ordered_by_event_id() {
    let events = [
        (id(9), session("a", 100, true)),
        (id(3), session("a", 100, false)),
    ];
    assert!(newest_sessions(&events)[0].online);
    let swapped = [events[1].clone(), events[0].clone()];
    assert!(newest_sessions(&swapped)[0].online);
}

fn registered(vehicle: u128, device: &str, at: i64) -> FleetEvent {
    FleetEvent {
        occurred_at_ms: at,
        event: FleetEventBody::VehicleRegistered(VehicleRegistered {
            vehicle_id: id(vehicle),
            device_id: device.into(),
            protocol: Protocol::Omni,
            model: "S9".into(),
            qr_code: "QR".into(),
        }),
    }
}

fn state(vehicle: u128, to: VehicleState, at: i64) -> FleetEvent {
    FleetEvent {
        occurred_at_ms: at,
        event: FleetEventBody::VehicleStateChanged(VehicleStateChanged {
            vehicle_id: id(vehicle),
            from_state: VehicleState::Available,
            to_state: to,
            reason: None,
        }),
    }
}

#[test]
fn vehicles_keep_their_newest_registration_and_state_and_ignore_other_events() {
    let zone = FleetEvent {
        occurred_at_ms: 1,
        event: FleetEventBody::ZoneDefined(fleetlog_schemas::events::ZoneDefined {
            zone_id: id(50),
            kind: fleetlog_schemas::events::ZoneKind::Slow,
            name: "z".into(),
            rings: vec![],
            speed_limit_kmh: Some(10),
        }),
    };
    let events = [
        (id(11), registered(1, "d1", 10)),
        (id(12), state(1, VehicleState::Reserved, 30)),
        (id(13), state(1, VehicleState::InRide, 20)),
        (id(14), zone),
        (id(15), state(2, VehicleState::OutOfService, 5)),
    ];
    let changes = vehicle_changes(&events);
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].vehicle_id, id(1));
    assert_eq!(
        changes[0]
            .registration
            .as_ref()
            .map(|r| r.device_id.as_str()),
        Some("d1")
    );
    assert_eq!(
        changes[0].state.as_ref().map(|s| (s.state, s.event_id)),
        Some((VehicleState::Reserved, id(12)))
    );
    assert!(changes[1].registration.is_none());
    let devices = device_registrations(&events);
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].vehicle_id, id(1));
}

fn zone(n: u128, name: &str, at_ms: i64) -> FleetEvent {
    FleetEvent {
        occurred_at_ms: at_ms,
        event: FleetEventBody::ZoneDefined(fleetlog_schemas::events::ZoneDefined {
            zone_id: id(n),
            kind: fleetlog_schemas::events::ZoneKind::NoParking,
            name: name.into(),
            rings: vec![],
            speed_limit_kmh: None,
        }),
    }
}

#[test]
fn zones_keep_their_newest_definition_whatever_the_batch_order() {
    let events = vec![
        (id(21), zone(2, "old", 10)),
        (id(22), zone(1, "only", 5)),
        (id(23), zone(2, "new", 30)),
        (id(24), zone(2, "older", 20)),
        // Same time: the greater event id wins.
        (id(20), zone(1, "tie-lower-id", 5)),
        (id(11), registered(1, "d1", 10)),
    ];
    let zones = zone_definitions(&events);
    let names: Vec<_> = zones
        .iter()
        .map(|d| (d.zone.zone_id, d.zone.name.as_str(), d.event_id))
        .collect();
    assert_eq!(names, [(id(1), "only", id(22)), (id(2), "new", id(23))]);
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(zone_definitions(&reversed), zones);
}

#[test]
fn a_disconnect_after_its_connect_in_one_batch_keeps_the_connects_protocol() {
    // Applied in one batch or in two, the device ends with the protocol of its connect.
    let reduced = newest_sessions(&[
        (id(1), session("a", 100, true)),
        (id(2), session("a", 150, false)),
    ]);
    assert_eq!(reduced.len(), 1);
    assert!(!reduced[0].online);
    assert_eq!(reduced[0].protocol, Some(Protocol::Teltonika));
}
