//! Random sequences of inputs through `decide` + `evolve`, checking the invariants that no
//! sequence may break: at most one reservation or ride per vehicle, a ride only starts on an
//! unlock confirmation, fares are never negative, decisions are deterministic and
//! idempotent, and nothing panics.

use fleetlog_commands::vehicle::{Activity, Decision, VehicleInput, decide};
use fleetlog_schemas::events::{
    Actor, AppCommand, AppCommandBody as B, CancelReservation, EndRide, FleetEventBody as E,
    LocateVehicle, LockState, RemoteLock, RemoteUnlock, ReplyOutcome, ReserveVehicle, SetInService,
    SetOutOfService, StartRide,
};
use proptest::prelude::*;
use uuid::Uuid;

use crate::support::*;

#[derive(Debug, Clone)]
enum Step {
    Advance(i64),
    Tick,
    Busy(bool),
    Reserve(u8),
    Cancel(u8),
    Start(u8, bool),
    End(u8),
    ForceEnd,
    OutOfService(bool),
    InService,
    RemoteLock(bool),
    RemoteUnlock(bool),
    Locate,
    Redeliver,
    Telemetry {
        dlat: i32,
        dlon: i32,
        battery: Option<i32>,
        lock: Option<bool>,
        valid: bool,
        back_ms: i64,
    },
    Session(bool),
    Reply {
        to_pending: bool,
        outcome: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let telemetry = (
        -300_000..300_000i32,
        -300_000..300_000i32,
        proptest::option::of(0..100i32),
        proptest::option::of(any::<bool>()),
        proptest::bool::weighted(0.9),
        prop_oneof![4 => Just(0i64), 1 => 0..5_000i64],
    )
        .prop_map(
            |(dlat, dlon, battery, lock, valid, back_ms)| Step::Telemetry {
                dlat,
                dlon,
                battery,
                lock,
                valid,
                back_ms,
            },
        );
    prop_oneof![
        4 => (0..5_000i64).prop_map(Step::Advance),
        1 => (0..900_000i64).prop_map(Step::Advance),
        2 => Just(Step::Tick),
        1 => any::<bool>().prop_map(Step::Busy),
        3 => (0..3u8).prop_map(Step::Reserve),
        1 => (0..4u8).prop_map(Step::Cancel),
        3 => (0..3u8, any::<bool>()).prop_map(|(r, with)| Step::Start(r, with)),
        3 => (0..3u8).prop_map(Step::End),
        1 => Just(Step::ForceEnd),
        1 => any::<bool>().prop_map(Step::OutOfService),
        1 => Just(Step::InService),
        1 => any::<bool>().prop_map(Step::RemoteLock),
        1 => any::<bool>().prop_map(Step::RemoteUnlock),
        1 => Just(Step::Locate),
        2 => Just(Step::Redeliver),
        5 => telemetry,
        1 => any::<bool>().prop_map(Step::Session),
        5 => (
            proptest::bool::weighted(0.8),
            prop_oneof![2 => Just(1u8), 1 => 0..5u8]
        )
            .prop_map(|(to_pending, outcome)| Step::Reply { to_pending, outcome }),
    ]
}

fn riders(i: u8) -> Actor {
    match i {
        0 => rider_as(RIDER),
        1 => rider_as(OTHER_RIDER),
        2 => rider_as(Uuid::from_u128(0xca7)),
        _ => operator(),
    }
}

/// What the published events say is open, checked against every new event.
#[derive(Default)]
struct Model {
    reservation: Option<Uuid>,
    requested: Option<(Uuid, Uuid)>,
    ride: Option<Uuid>,
    last_command: Option<AppCommand>,
}

fn input_for(w: &mut World, m: &Model, s: &Step) -> Option<VehicleInput> {
    match s.clone() {
        Step::Advance(ms) => {
            w.advance(ms);
            None
        }
        Step::Busy(b) => {
            w.rider_busy = b;
            None
        }
        Step::Tick => Some(VehicleInput::Tick { now_ms: w.now }),
        Step::Redeliver => m.last_command.clone().map(VehicleInput::Command),
        Step::Session(online) => Some(VehicleInput::Session(w.session_event(online))),
        Step::Reply {
            to_pending,
            outcome,
        } => Some(reply_for(w, to_pending, outcome)),
        Step::Telemetry {
            dlat,
            dlon,
            battery,
            lock,
            valid,
            back_ms,
        } => {
            let t = w.telemetry_record(|t| {
                t.lat_e7 = CENTER.lat_e7 + dlat;
                t.lon_e7 = CENTER.lon_e7 + dlon;
                t.battery_pct = battery;
                t.lock_state = lock.map(|l| {
                    if l {
                        LockState::Locked
                    } else {
                        LockState::Unlocked
                    }
                });
                t.position_valid = valid;
                t.device_time_ms -= back_ms;
            });
            Some(VehicleInput::Telemetry(t))
        }
        command => {
            let (actor, body) = command_for(w, command)?;
            Some(VehicleInput::Command(w.command(actor, body)))
        }
    }
}

fn reply_for(w: &mut World, to_pending: bool, outcome: u8) -> VehicleInput {
    let id = match (&w.state.saga, to_pending) {
        (Some(s), true) => s.downlink_command_id,
        _ => w.next_id(),
    };
    let outcome = [
        ReplyOutcome::Delivered,
        ReplyOutcome::Answered,
        ReplyOutcome::TimedOut,
        ReplyOutcome::Undeliverable,
        ReplyOutcome::Rejected,
    ][usize::from(outcome)];
    VehicleInput::Reply(w.device_reply(id, outcome))
}

fn command_for(w: &World, s: Step) -> Option<(Actor, B)> {
    let v = VEHICLE;
    Some(match s {
        Step::Reserve(r) => (
            riders(r),
            B::ReserveVehicle(ReserveVehicle { vehicle_id: v }),
        ),
        Step::Cancel(r) => {
            let reason = (r == 3).then(|| "ops".to_owned());
            let body = CancelReservation {
                vehicle_id: v,
                reservation_id: None,
                reason,
            };
            (riders(r), B::CancelReservation(body))
        }
        Step::Start(r, with) => {
            let reservation_id = match (&w.state.activity, with) {
                (Activity::Reserved(res), true) => Some(res.reservation_id),
                _ => None,
            };
            let body = StartRide {
                vehicle_id: v,
                reservation_id,
                rider_position: None,
            };
            (riders(r), B::StartRide(body))
        }
        Step::End(r) => {
            let body = EndRide {
                vehicle_id: v,
                ride_id: None,
                force: false,
                reason: None,
            };
            (riders(r), B::EndRide(body))
        }
        operator_step => return operator_command(operator_step),
    })
}

fn operator_command(s: Step) -> Option<(Actor, B)> {
    let v = VEHICLE;
    let ops = || Some("ops".to_owned());
    Some(match s {
        Step::ForceEnd => {
            let body = EndRide {
                vehicle_id: v,
                ride_id: None,
                force: true,
                reason: ops(),
            };
            (operator(), B::EndRide(body))
        }
        Step::OutOfService(force) => {
            let body = SetOutOfService {
                vehicle_id: v,
                force,
                reason: "check".into(),
            };
            (operator(), B::SetOutOfService(body))
        }
        Step::InService => {
            let body = SetInService {
                vehicle_id: v,
                reason: None,
            };
            (operator(), B::SetInService(body))
        }
        Step::RemoteLock(force) => {
            let body = RemoteLock {
                vehicle_id: v,
                force,
                reason: ops(),
            };
            (operator(), B::RemoteLock(body))
        }
        Step::RemoteUnlock(force) => {
            let body = RemoteUnlock {
                vehicle_id: v,
                force,
                reason: ops(),
            };
            (operator(), B::RemoteUnlock(body))
        }
        Step::Locate => (
            operator(),
            B::LocateVehicle(LocateVehicle { vehicle_id: v }),
        ),
        _ => return None,
    })
}

/// Whether `input` confirms the unlock `unlock_id`.
fn confirms_unlock(input: &VehicleInput, unlock_id: Uuid) -> bool {
    match input {
        VehicleInput::Reply(r) => r.command_id == unlock_id && r.outcome == ReplyOutcome::Answered,
        VehicleInput::Telemetry(t) => t.lock_state == Some(LockState::Unlocked),
        _ => false,
    }
}

fn check_events(
    w: &World,
    m: &mut Model,
    input: &VehicleInput,
    d: &Decision,
) -> Result<(), TestCaseError> {
    for e in d.fleet_events() {
        match &e.event {
            E::ReservationMade(r) => {
                prop_assert!(m.reservation.is_none() && m.requested.is_none() && m.ride.is_none());
                m.reservation = Some(r.reservation_id);
            }
            E::ReservationExpired(r) => {
                prop_assert_eq!(m.reservation.take(), Some(r.reservation_id));
            }
            E::ReservationCancelled(r) => {
                prop_assert_eq!(m.reservation.take(), Some(r.reservation_id));
            }
            E::RideRequested(r) => {
                prop_assert!(m.requested.is_none() && m.ride.is_none());
                prop_assert_eq!(m.reservation.take(), r.reservation_id);
                m.requested = Some((r.ride_id, r.unlock_command_id));
            }
            E::RideStarted(r) => {
                let (ride_id, unlock_id) = m
                    .requested
                    .take()
                    .ok_or_else(|| TestCaseError::fail("start without request"))?;
                prop_assert_eq!(ride_id, r.ride_id);
                prop_assert!(
                    confirms_unlock(input, unlock_id),
                    "started without confirmation: {:?}",
                    input
                );
                m.ride = Some(r.ride_id);
            }
            E::RideFailed(r) => {
                prop_assert_eq!(m.requested.take().map(|x| x.0), Some(r.ride_id));
            }
            E::RideEnded(r) => {
                prop_assert_eq!(m.ride.take(), Some(r.ride_id));
                prop_assert!(r.fare_minor >= 0 && r.distance_m >= 0 && r.duration_ms >= 0);
                prop_assert_eq!(r.fare_minor, w.pricing.fare_minor(r.duration_ms));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_state(w: &World, m: &Model) -> Result<(), TestCaseError> {
    match &w.state.activity {
        Activity::Idle => {
            prop_assert!(m.reservation.is_none() && m.requested.is_none() && m.ride.is_none())
        }
        Activity::Reserved(r) => prop_assert_eq!(m.reservation, Some(r.reservation_id)),
        Activity::Starting(r) => {
            prop_assert_eq!(m.requested.map(|x| x.0), Some(r.ride_id));
            prop_assert!(
                w.state.saga.is_some(),
                "a starting ride waits for its unlock"
            );
        }
        Activity::Riding(r) => {
            prop_assert_eq!(m.ride, Some(r.ride_id));
            prop_assert!(r.distance_mm >= 0);
        }
    }
    Ok(())
}

fn run_step(w: &mut World, m: &mut Model, s: &Step) -> Result<(), TestCaseError> {
    let before = w.state.clone();
    let Some(input) = input_for(w, m, s) else {
        return Ok(());
    };
    let ctx = w.ctx(input.timestamp_ms());
    let first = decide(&before, &input, &ctx);
    prop_assert_eq!(&first, &decide(&before, &input, &ctx), "deterministic");
    let d = w.run(input.clone());
    check_events(w, m, &input, &d)?;
    for dl in &d.downlinks {
        prop_assert!(dl.expires_at_ms > input.timestamp_ms());
    }
    if let VehicleInput::Command(cmd) = &input {
        let again = w.run(input.clone());
        prop_assert!(again.is_empty(), "a re-delivered command yields nothing");
        m.last_command = Some(cmd.clone());
    }
    check_state(w, m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_input_sequences_keep_every_vehicle_invariant(steps in proptest::collection::vec(step(), 1..80)) {
        let mut w = World::ready();
        w.zones = vec![service_area(), no_parking()];
        let mut m = Model::default();
        for s in &steps {
            run_step(&mut w, &mut m, s)?;
        }
    }
}
