//! Batches decided in memory: cross-vehicle rules (riders, devices), and the chains the
//! decided records join.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    Actor, ActorRole, AppCommand, AppCommandBody as B, FleetEventBody, LockState, Protocol,
    RegisterVehicle, ReserveVehicle, StartRide, Telemetry,
};
use fleetlog_schemas::topics;
use uuid::Uuid;

use super::inputs::{Input, InputKind};
use super::step::{Loaded, Outcome, OutputValue, Rules, decide_batch};
use crate::vehicle::VehicleInput;

const T0: i64 = 1_750_000_000_000;

fn command(n: u128, actor: Actor, body: B) -> Input {
    let cmd = AppCommand {
        command_id: Uuid::from_u128(1_000 + n),
        idempotency_key: format!("k{n}"),
        actor,
        requested_at_ms: T0 + 1_000 + i64::try_from(n).unwrap(),
        command: body,
    };
    let id = cmd.command_id;
    Input {
        envelope: Envelope::from_parts(
            id,
            id,
            None,
            topics::APP_COMMANDS.event_type(),
            "/t",
            "v",
            chrono::Utc::now(),
        ),
        kind: InputKind::Command(cmd),
    }
}

fn rider(n: u128) -> Actor {
    Actor {
        id: Uuid::from_u128(n).to_string(),
        role: ActorRole::Rider,
    }
}

fn operator() -> Actor {
    Actor {
        id: Uuid::from_u128(99).to_string(),
        role: ActorRole::Operator,
    }
}

fn register(n: u128, vehicle: u128, device: &str) -> Input {
    command(
        n,
        operator(),
        B::RegisterVehicle(RegisterVehicle {
            vehicle_id: Uuid::from_u128(vehicle),
            device_id: device.into(),
            protocol: Protocol::Teltonika,
            model: "m".into(),
            qr_code: format!("qr-{vehicle}"),
        }),
    )
}

fn telemetry(device: &str, at: i64, lock: LockState) -> Input {
    let t = Telemetry {
        device_id: device.into(),
        frame_id: Uuid::from_u128(7),
        record_index: 0,
        device_time_ms: at,
        received_at_ms: at,
        lat_e7: 375_665_000,
        lon_e7: 1_269_780_000,
        altitude_m: 40,
        speed_kmh: 0,
        heading_deg: 0,
        satellites: 9,
        position_valid: true,
        battery_pct: Some(80),
        lock_state: Some(lock),
        alarms: Vec::new(),
        odometer_m: None,
        io: Vec::new(),
    };
    let id = Uuid::new_v5(&Uuid::from_u128(7), format!("{device}-{at}").as_bytes());
    Input {
        envelope: Envelope::from_parts(
            id,
            id,
            None,
            topics::TELEMETRY.event_type(),
            "/t",
            device,
            chrono::Utc::now(),
        ),
        kind: InputKind::Device {
            device_id: device.into(),
            input: VehicleInput::Telemetry(t),
        },
    }
}

fn start(n: u128, who: u128, vehicle: u128) -> Input {
    command(
        n,
        rider(who),
        B::StartRide(StartRide {
            vehicle_id: Uuid::from_u128(vehicle),
            reservation_id: None,
            rider_position: None,
        }),
    )
}

fn reserve(n: u128, who: u128, vehicle: u128) -> Input {
    command(
        n,
        rider(who),
        B::ReserveVehicle(ReserveVehicle {
            vehicle_id: Uuid::from_u128(vehicle),
        }),
    )
}

fn decisions(outcome: &Outcome) -> Vec<(Uuid, &'static str)> {
    outcome
        .outputs
        .iter()
        .filter_map(|o| match &o.value {
            OutputValue::Fleet(e) => match &e.event {
                FleetEventBody::CommandAccepted(a) => Some((a.command_id, "accepted")),
                FleetEventBody::CommandRejected(r) => Some((r.command_id, "rejected")),
                _ => None,
            },
            OutputValue::Downlink(_) => None,
        })
        .collect()
}

/// Two vehicles registered and reporting (online, 80 %, locked).
fn ready() -> Vec<Input> {
    vec![
        register(1, 11, "dev-a"),
        register(2, 12, "dev-b"),
        telemetry("dev-a", T0 + 500, LockState::Locked),
        telemetry("dev-b", T0 + 500, LockState::Locked),
    ]
}

#[test]
fn of_many_riders_starting_one_vehicle_in_one_batch_exactly_one_is_accepted() {
    let mut inputs = ready();
    inputs.extend((0..50).map(|n| start(10 + n, 100 + n, 11)));
    let outcome = decide_batch(Loaded::default(), &inputs, &Rules::default());
    let starts: Vec<_> = decisions(&outcome)
        .into_iter()
        .filter(|(id, _)| id.as_u128() >= 1_010)
        .collect();
    assert_eq!(starts.len(), 50);
    assert_eq!(starts.iter().filter(|(_, d)| *d == "accepted").count(), 1);
    assert_eq!(
        outcome.holders(),
        vec![(Uuid::from_u128(100), Uuid::from_u128(11))]
    );
}

#[test]
fn a_rider_holding_one_vehicle_cannot_reserve_another_even_in_a_later_batch() {
    let mut inputs = ready();
    inputs.push(reserve(20, 7, 11));
    let first = decide_batch(Loaded::default(), &inputs, &Rules::default());
    // The next batch starts from what the first one stored.
    let loaded = Loaded {
        vehicles: first.vehicles.clone().into_iter().collect(),
        devices: [
            ("dev-a".to_owned(), Uuid::from_u128(11)),
            ("dev-b".to_owned(), Uuid::from_u128(12)),
        ]
        .into(),
        riders: first.holders().into_iter().collect(),
        ..Loaded::default()
    };
    let second = decide_batch(loaded, &[reserve(21, 7, 12)], &Rules::default());
    assert_eq!(
        decisions(&second),
        vec![(Uuid::from_u128(1_021), "rejected")]
    );
}

#[test]
fn a_device_registered_to_one_vehicle_cannot_be_registered_to_another() {
    let inputs = vec![register(1, 11, "dev-a"), register(2, 12, "dev-a")];
    let outcome = decide_batch(Loaded::default(), &inputs, &Rules::default());
    assert_eq!(
        decisions(&outcome),
        vec![
            (Uuid::from_u128(1_001), "accepted"),
            (Uuid::from_u128(1_002), "rejected")
        ]
    );
}

#[test]
fn an_unlock_confirmed_by_telemetry_is_traced_to_the_command_and_its_downlink() {
    let mut inputs = ready();
    inputs.push(start(30, 5, 11));
    inputs.push(telemetry("dev-a", T0 + 5_000, LockState::Unlocked));
    let outcome = decide_batch(Loaded::default(), &inputs, &Rules::default());
    let command_id = Uuid::from_u128(1_030);
    let downlink = outcome
        .outputs
        .iter()
        .find(|o| matches!(o.value, OutputValue::Downlink(_)))
        .unwrap();
    assert_eq!(downlink.envelope.correlation_id, command_id);
    let started = outcome
        .outputs
        .iter()
        .find(|o| matches!(&o.value, OutputValue::Fleet(e) if matches!(e.event, FleetEventBody::RideStarted(_))))
        .unwrap();
    assert_eq!(started.envelope.correlation_id, command_id);
    assert_eq!(started.envelope.causation_id, Some(downlink.envelope.id));
    let ids: std::collections::HashSet<_> = outcome.outputs.iter().map(|o| o.envelope.id).collect();
    assert_eq!(
        ids.len(),
        outcome.outputs.len(),
        "every output has its own id"
    );
}

#[test]
fn telemetry_of_an_unregistered_device_decides_nothing() {
    let outcome = decide_batch(
        Loaded::default(),
        &[telemetry("stranger", T0, LockState::Locked)],
        &Rules::default(),
    );
    assert!(outcome.outputs.is_empty() && outcome.vehicles.is_empty());
}
