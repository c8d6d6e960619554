//! `decide` and `handle`: the entry points of the vehicle decider.
//!
//! Every input is decided in two stages, each followed by a `VehicleStateChanged` when the
//! operational state moved: first time (a reservation past its expiry, a saga step past its
//! deadline, at the input's clock), then the input itself.

use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    AppCommand, AppCommandBody as B, CommandAccepted, CommandRejected, FleetEventBody,
    ReservationExpired,
};
use uuid::Uuid;

use super::input::{Decision, InternalEvent, VehicleEvent, VehicleInput, fleet};
use super::state::{Activity, Awaiting, Vehicle};
use super::{device, guards, operator, rides};
use crate::context::Context;
use crate::rejection::{Rejection, RejectionCode as Code};

/// Decide `input` for the vehicle in `state`.
///
/// The clock is the tick's `now_ms` for [`VehicleInput::Tick`] and `ctx.now_ms` otherwise
/// (the caller sets it from [`VehicleInput::timestamp_ms`]). A command already decided (same
/// command id or idempotency key) yields an empty decision. Device inputs never fail: facts
/// about another device, or replies to a command nobody waits for, yield nothing.
///
/// # Errors
///
/// The [`Rejection`] of a refused command; the caller publishes it as `CommandRejected`,
/// which [`handle`] does for it.
pub fn decide(
    state: &Vehicle,
    input: &VehicleInput,
    ctx: &Context<'_>,
) -> Result<Decision, Rejection> {
    if is_duplicate(state, input) {
        return Ok(Decision::default());
    }
    let now = clock(input, ctx);
    let mut decision = decide_due(state, now, ctx);
    let current = decision.apply_to(state);
    let rest = match input {
        VehicleInput::Command(cmd) => decide_command(&current, cmd, ctx, now)?,
        VehicleInput::Telemetry(t) => device::on_telemetry(&current, t, ctx, now),
        VehicleInput::Session(s) => device::on_session(&current, s),
        VehicleInput::Reply(r) => device::on_reply(&current, r, ctx, now),
        VehicleInput::Tick { .. } => Decision::default(),
    };
    decision.append(rest);
    Ok(decision)
}

/// [`decide`], with a rejection turned into its events: what is due at the input's clock,
/// then `CommandRejected` (and the bookkeeping that makes a re-delivery yield nothing).
pub fn handle(state: &Vehicle, input: &VehicleInput, ctx: &Context<'_>) -> Decision {
    match (decide(state, input, ctx), input) {
        (Ok(decision), _) => decision,
        (Err(rejection), VehicleInput::Command(cmd)) => {
            let now = clock(input, ctx);
            let mut decision = decide_due(state, now, ctx);
            decision.append(rejected(cmd, &rejection, now));
            decision
        }
        // Only commands are ever rejected.
        (Err(_), _) => Decision::default(),
    }
}

/// The events recording that `cmd` was rejected with `rejection` at `now_ms`.
pub fn rejected(cmd: &AppCommand, rejection: &Rejection, now_ms: i64) -> Decision {
    let event = CommandRejected {
        command_id: cmd.command_id,
        vehicle_id: vehicle_of(cmd),
        code: rejection.code.as_str().to_owned(),
        message: rejection.message.clone(),
    };
    Decision::of(vec![
        fleet(now_ms, FleetEventBody::CommandRejected(event)),
        decided(cmd),
    ])
}

/// The id of `what` a command creates (its ride, its unlock, …), the same every time the
/// command is decided.
pub(crate) fn derived_id(cmd: &AppCommand, what: Derived<'_>) -> Uuid {
    Envelope::derived_id(cmd.command_id, what)
}

fn clock(input: &VehicleInput, ctx: &Context<'_>) -> i64 {
    match input {
        VehicleInput::Tick { now_ms } => *now_ms,
        _ => ctx.now_ms,
    }
}

fn is_duplicate(state: &Vehicle, input: &VehicleInput) -> bool {
    matches!(input, VehicleInput::Command(c)
        if state.recent.contains(c.command_id, &c.idempotency_key))
}

fn vehicle_of(cmd: &AppCommand) -> Option<Uuid> {
    match cmd.command {
        B::DefineZone(_) => None,
        _ => Some(cmd.key()),
    }
}

fn decided(cmd: &AppCommand) -> VehicleEvent {
    VehicleEvent::Internal(InternalEvent::CommandDecided {
        command_id: cmd.command_id,
        idempotency_key: cmd.idempotency_key.clone(),
    })
}

/// Expiries and deadlines due at `now`.
fn decide_due(state: &Vehicle, now: i64, ctx: &Context<'_>) -> Decision {
    let mut decision = Decision::default();
    if let (Activity::Reserved(r), Some(vehicle_id)) = (&state.activity, state.vehicle_id())
        && now >= r.expires_at_ms
    {
        let expired = ReservationExpired {
            vehicle_id,
            reservation_id: r.reservation_id,
            rider_id: r.rider_id,
        };
        let event = fleet(now, FleetEventBody::ReservationExpired(expired));
        decision.events.push(event);
    }
    if let Some(step) = &state.saga
        && now >= step.deadline_ms
    {
        let reason = match step.awaiting {
            Awaiting::Unlock => "unlock_timed_out",
            Awaiting::Lock => "lock_timed_out",
        };
        decision.append(device::saga_failed(state, step, reason, ctx, now));
    }
    decision.with_state_change(state, now)
}

fn decide_command(
    state: &Vehicle,
    cmd: &AppCommand,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    check_addressed_to(state, cmd)?;
    let effects = match &cmd.command {
        B::ReserveVehicle(_) => rides::reserve(state, cmd, ctx, now)?,
        B::CancelReservation(c) => rides::cancel(state, cmd, c, now)?,
        B::StartRide(c) => rides::start(state, cmd, c, ctx, now)?,
        B::EndRide(c) => rides::end(state, cmd, c, ctx, now)?,
        B::RegisterVehicle(c) => operator::register(state, cmd, c, now)?,
        B::SetOutOfService(c) => operator::out_of_service(state, cmd, c, now)?,
        B::SetInService(c) => operator::in_service(state, cmd, c, now)?,
        B::RemoteLock(c) => operator::remote_lock(state, cmd, c, ctx, now)?,
        B::RemoteUnlock(c) => operator::remote_unlock(state, cmd, c, ctx, now)?,
        B::LocateVehicle(_) => operator::locate(state, cmd, ctx, now)?,
        B::DefineZone(_) => unreachable_zone()?,
    };
    let accepted = CommandAccepted {
        command_id: cmd.command_id,
        vehicle_id: vehicle_of(cmd),
    };
    let mut decision = Decision::of(vec![
        fleet(now, FleetEventBody::CommandAccepted(accepted)),
        decided(cmd),
    ]);
    decision.append(effects);
    Ok(decision.with_state_change(state, now))
}

fn unreachable_zone() -> Result<Decision, Rejection> {
    Err(Rejection::new(
        Code::InvalidCommand,
        "zone commands are not decided by the vehicle decider",
    ))
}

/// Commands other than registration need a registered vehicle with the command's id.
fn check_addressed_to(state: &Vehicle, cmd: &AppCommand) -> Result<(), Rejection> {
    if matches!(cmd.command, B::RegisterVehicle(_) | B::DefineZone(_)) {
        return Ok(());
    }
    let reg = guards::registered(state)?;
    if reg.vehicle_id == cmd.key() {
        Ok(())
    } else {
        Err(Rejection::new(
            Code::InvalidCommand,
            format!(
                "command for vehicle {} sent to {}",
                cmd.key(),
                reg.vehicle_id
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use fleetlog_schemas::events::{
        Actor, ActorRole, FleetEvent, ReserveVehicle, VehicleRegistered,
    };

    use super::*;
    use crate::context::{DeciderConfig, Pricing};
    use crate::vehicle::evolve::evolve;
    use crate::vehicle::state::Reservation;

    fn command() -> AppCommand {
        AppCommand {
            command_id: Uuid::from_u128(7),
            idempotency_key: "k".into(),
            actor: Actor {
                id: Uuid::from_u128(2).to_string(),
                role: ActorRole::Rider,
            },
            requested_at_ms: 50,
            command: B::ReserveVehicle(ReserveVehicle {
                vehicle_id: Uuid::from_u128(9),
            }),
        }
    }

    fn reserved_until(expires_at_ms: i64) -> Vehicle {
        let registered = VehicleEvent::Fleet(FleetEvent {
            occurred_at_ms: 0,
            event: FleetEventBody::VehicleRegistered(VehicleRegistered {
                vehicle_id: Uuid::from_u128(9),
                device_id: "d".into(),
                protocol: fleetlog_schemas::events::Protocol::Omni,
                model: "m".into(),
                qr_code: "q".into(),
            }),
        });
        Vehicle {
            activity: Activity::Reserved(Reservation {
                reservation_id: Uuid::from_u128(1),
                rider_id: Uuid::from_u128(2),
                expires_at_ms,
            }),
            ..evolve(Vehicle::default(), &registered)
        }
    }

    #[test]
    fn a_rejection_becomes_command_rejected_with_its_snake_case_code() {
        let rejection = Rejection::new(Code::RiderBusy, "busy");
        let d = rejected(&command(), &rejection, 50);
        let first = d.fleet_events().next().map(|e| e.event.clone());
        let Some(FleetEventBody::CommandRejected(r)) = first else {
            panic!("CommandRejected first");
        };
        assert_eq!(
            (r.code.as_str(), r.message.as_str()),
            ("rider_busy", "busy")
        );
        assert_eq!(r.vehicle_id, Some(Uuid::from_u128(9)));
        assert_eq!(d.events.len(), 2, "plus the idempotency bookkeeping");
    }

    #[test]
    fn a_tick_is_decided_at_its_own_time() {
        let (config, pricing) = (DeciderConfig::default(), Pricing::default());
        let ctx = Context {
            now_ms: 0,
            rider_busy: false,
            zones: &[],
            config: &config,
            pricing: &pricing,
        };
        let state = reserved_until(100);
        let tick = |now_ms| decide(&state, &VehicleInput::Tick { now_ms }, &ctx);
        assert_eq!(tick(99).map(|d| d.is_empty()), Ok(true));
        assert_eq!(tick(100).map(|d| d.fleet_events().count()), Ok(2));
    }

    #[test]
    fn ids_derived_from_a_command_are_stable_and_distinct_per_name() {
        let cmd = command();
        assert_eq!(
            derived_id(&cmd, Derived::Ride),
            derived_id(&cmd, Derived::Ride)
        );
        assert_ne!(
            derived_id(&cmd, Derived::Ride),
            derived_id(&cmd, Derived::Unlock)
        );
    }
}
