//! `evolve`: the vehicle state after one event. Total and pure: any event applies to any
//! state without panicking; an event ending a reservation or ride that is not the current
//! one changes nothing.

use fleetlog_schemas::events::{FleetEvent, FleetEventBody as E, VehicleState};

use super::input::{DeviceFact, InternalEvent, VehicleEvent};
use super::state::{Activity, Fix, Registration, Reservation, Ride, RideRequest, Vehicle};
use crate::geo::haversine_mm;

/// The state after `event`.
pub fn evolve(mut state: Vehicle, event: &VehicleEvent) -> Vehicle {
    match event {
        VehicleEvent::Fleet(e) => apply_fleet(&mut state, e),
        VehicleEvent::Internal(e) => apply_internal(&mut state, e),
    }
    state
}

fn apply_fleet(state: &mut Vehicle, event: &FleetEvent) {
    let at_ms = event.occurred_at_ms;
    match &event.event {
        E::VehicleRegistered(e) => {
            state.registration = Some(Registration {
                vehicle_id: e.vehicle_id,
                device_id: e.device_id.clone(),
                protocol: e.protocol,
                model: e.model.clone(),
                qr_code: e.qr_code.clone(),
            });
        }
        E::VehicleStateChanged(e) => {
            if e.to_state == VehicleState::OutOfService {
                state.out_of_service = Some(e.reason.clone().unwrap_or_default());
            } else if e.from_state == VehicleState::OutOfService {
                state.out_of_service = None;
            }
        }
        E::ReservationMade(e) => {
            state.activity = Activity::Reserved(Reservation {
                reservation_id: e.reservation_id,
                rider_id: e.rider_id,
                expires_at_ms: e.expires_at_ms,
            });
        }
        E::ReservationExpired(e) => release_reservation(state, e.reservation_id),
        E::ReservationCancelled(e) => release_reservation(state, e.reservation_id),
        E::RideRequested(e) => {
            state.activity = Activity::Starting(RideRequest {
                ride_id: e.ride_id,
                rider_id: e.rider_id,
                reservation_id: e.reservation_id,
            });
        }
        E::RideStarted(e) => {
            state.activity = Activity::Riding(Ride {
                ride_id: e.ride_id,
                rider_id: e.rider_id,
                started_at_ms: at_ms,
                start_position: e.start_position,
                distance_mm: 0,
                last_point: e.start_position,
            });
            state.saga = None;
        }
        E::RideEnded(e) => end_ride(state, e.ride_id),
        E::RideFailed(e) => end_ride(state, e.ride_id),
        E::CommandAccepted(e) => state.recent.remember_id(e.command_id),
        E::CommandRejected(e) => state.recent.remember_id(e.command_id),
        E::AlarmRaised(_) | E::AlarmCleared(_) | E::ZoneDefined(_) => {}
    }
}

fn release_reservation(state: &mut Vehicle, reservation_id: uuid::Uuid) {
    if matches!(&state.activity, Activity::Reserved(r) if r.reservation_id == reservation_id) {
        state.activity = Activity::Idle;
    }
}

fn end_ride(state: &mut Vehicle, ride_id: uuid::Uuid) {
    let current = match &state.activity {
        Activity::Starting(r) => Some(r.ride_id),
        Activity::Riding(r) => Some(r.ride_id),
        Activity::Idle | Activity::Reserved(_) => None,
    };
    if current == Some(ride_id) {
        state.activity = Activity::Idle;
        state.saga = None;
    }
}

fn apply_internal(state: &mut Vehicle, event: &InternalEvent) {
    match event {
        InternalEvent::CommandDecided {
            command_id,
            idempotency_key,
        } => {
            state.recent.remember_id(*command_id);
            state.recent.remember_key(idempotency_key);
        }
        InternalEvent::DeviceObserved(fact) => observe(state, fact),
        InternalEvent::SessionChanged { online, at_ms } => {
            state.online = *online;
            state.presence_at_ms = Some(*at_ms);
        }
        InternalEvent::SagaStarted(step) => state.saga = Some(step.clone()),
        InternalEvent::SagaAbandoned {
            downlink_command_id,
            ..
        } => {
            if state
                .saga
                .as_ref()
                .is_some_and(|s| s.downlink_command_id == *downlink_command_id)
            {
                state.saga = None;
            }
        }
    }
}

fn observe(state: &mut Vehicle, fact: &DeviceFact) {
    state.last_record_time_ms = Some(fact.device_time_ms);
    if state
        .presence_at_ms
        .is_none_or(|t| fact.received_at_ms >= t)
    {
        // The record came over a live session newer than the last session change.
        state.online = true;
        state.presence_at_ms = Some(fact.received_at_ms);
    }
    if let Some(pct) = fact.battery_pct {
        state.battery_pct = Some(pct);
    }
    if let Some(lock) = fact.lock_state {
        state.lock_state = Some(lock);
    }
    let Some(point) = fact.position else {
        return;
    };
    state.last_fix = Some(Fix {
        point,
        device_time_ms: fact.device_time_ms,
    });
    if let Activity::Riding(ride) = &mut state.activity {
        if let Some(prev) = ride.last_point {
            ride.distance_mm = ride.distance_mm.saturating_add(haversine_mm(prev, point));
        }
        ride.last_point = Some(point);
    }
}

#[cfg(test)]
mod tests {
    use fleetlog_schemas::events::{
        GeoPoint, ReservationExpired, RideStarted, VehicleState, VehicleStateChanged,
    };
    use uuid::Uuid;

    use super::*;
    use crate::vehicle::state::{Awaiting, SagaStep};

    fn fleet(at: i64, event: E) -> VehicleEvent {
        VehicleEvent::Fleet(FleetEvent {
            occurred_at_ms: at,
            event,
        })
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn seen(device_time_ms: i64, lat_e7: i32) -> VehicleEvent {
        VehicleEvent::Internal(InternalEvent::DeviceObserved(DeviceFact {
            device_time_ms,
            received_at_ms: device_time_ms,
            position: Some(GeoPoint {
                lat_e7,
                lon_e7: 134_000_000,
            }),
            battery_pct: None,
            lock_state: None,
        }))
    }

    #[test]
    fn the_expiry_of_another_reservation_changes_nothing() {
        let reserved = Vehicle {
            activity: Activity::Reserved(Reservation {
                reservation_id: id(1),
                rider_id: id(2),
                expires_at_ms: 10,
            }),
            ..Vehicle::default()
        };
        let other = fleet(
            5,
            E::ReservationExpired(ReservationExpired {
                vehicle_id: id(9),
                reservation_id: id(3),
                rider_id: id(2),
            }),
        );
        assert_eq!(evolve(reserved.clone(), &other), reserved);
    }

    #[test]
    fn positions_seen_during_a_ride_add_haversine_segments_to_its_distance() {
        let start = GeoPoint {
            lat_e7: 525_000_000,
            lon_e7: 134_000_000,
        };
        let started = fleet(
            100,
            E::RideStarted(RideStarted {
                vehicle_id: id(9),
                ride_id: id(4),
                rider_id: id(2),
                start_position: Some(start),
            }),
        );
        let events = [started, seen(200, 525_010_000), seen(300, 525_020_000)];
        let state = events.iter().fold(Vehicle::default(), evolve);
        let Activity::Riding(ride) = &state.activity else {
            panic!("riding");
        };
        assert_eq!(ride.started_at_ms, 100);
        assert_eq!((ride.distance_mm + 500) / 1000, 222, "0.002° of latitude");
    }

    #[test]
    fn positions_seen_outside_a_ride_only_move_the_last_fix() {
        let state = evolve(Vehicle::default(), &seen(200, 525_010_000));
        assert_eq!(state.activity, Activity::Idle);
        assert_eq!(state.last_fix.map(|f| f.device_time_ms), Some(200));
        assert!(state.online, "telemetry arrives over a live session");
    }

    #[test]
    fn an_out_of_service_change_sets_and_clears_the_flag_with_its_reason() {
        let change = |from, to, reason: Option<&str>| {
            fleet(
                1,
                E::VehicleStateChanged(VehicleStateChanged {
                    vehicle_id: id(9),
                    from_state: from,
                    to_state: to,
                    reason: reason.map(str::to_owned),
                }),
            )
        };
        let out = evolve(
            Vehicle::default(),
            &change(
                VehicleState::Available,
                VehicleState::OutOfService,
                Some("tyre"),
            ),
        );
        assert_eq!(out.out_of_service.as_deref(), Some("tyre"));
        let back = evolve(
            out,
            &change(VehicleState::OutOfService, VehicleState::Available, None),
        );
        assert_eq!(back.out_of_service, None);
    }

    #[test]
    fn abandoning_another_downlink_keeps_the_pending_step() {
        let step = SagaStep {
            awaiting: Awaiting::Lock,
            command_id: id(1),
            downlink_command_id: id(2),
            requested_at_ms: 0,
            deadline_ms: 10,
            forced: false,
            reason: None,
        };
        let state = Vehicle {
            saga: Some(step),
            ..Vehicle::default()
        };
        let abandon = |n| {
            VehicleEvent::Internal(InternalEvent::SagaAbandoned {
                downlink_command_id: id(n),
                reason: "lock_timed_out".into(),
            })
        };
        assert!(evolve(state.clone(), &abandon(3)).saga.is_some());
        assert!(evolve(state, &abandon(2)).saga.is_none());
    }
}
