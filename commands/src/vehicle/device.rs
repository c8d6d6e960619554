//! Device facts (telemetry, sessions, replies) and the ride saga's confirmations and
//! failures they cause.
//!
//! An unlock is confirmed by the device answering the UNLOCK downlink (`ANSWERED`) or by
//! telemetry received after the request that reports `UNLOCKED`; the same holds for a lock
//! with `LOCKED`. A refusal, an undeliverable command or a timeout fails the step.

use fleetlog_schemas::events::{
    DeviceReply, FleetEventBody, GeoPoint, LockState, ReplyOutcome, RideEnded, RideFailed,
    RideStarted, SessionChange, SessionEvent, Telemetry,
};
use uuid::Uuid;

use super::input::{Decision, DeviceFact, InternalEvent, VehicleEvent, fleet};
use super::state::{Activity, Awaiting, Ride, SagaStep, Vehicle};
use crate::context::Context;
use crate::geo::is_plausible;

/// A telemetry record of the vehicle's device: recorded when newer than the last one, and
/// a confirmation when it shows the lock state the saga waits for.
pub(crate) fn on_telemetry(
    state: &Vehicle,
    t: &Telemetry,
    ctx: &Context<'_>,
    now: i64,
) -> Decision {
    let is_ours = state
        .registration
        .as_ref()
        .is_some_and(|r| r.device_id == t.device_id);
    let is_newer = state
        .last_record_time_ms
        .is_none_or(|last| t.device_time_ms > last);
    if !is_ours || !is_newer {
        return Decision::default();
    }
    let point = GeoPoint {
        lat_e7: t.lat_e7,
        lon_e7: t.lon_e7,
    };
    let fact = DeviceFact {
        device_time_ms: t.device_time_ms,
        received_at_ms: t.received_at_ms,
        position: (t.position_valid && is_plausible(point)).then_some(point),
        battery_pct: t.battery_pct,
        lock_state: t.lock_state,
    };
    let mut decision = Decision::of(vec![VehicleEvent::Internal(InternalEvent::DeviceObserved(
        fact,
    ))]);
    let observed = decision.apply_to(state);
    if let Some(step) = &observed.saga {
        let wanted = match step.awaiting {
            Awaiting::Unlock => LockState::Unlocked,
            Awaiting::Lock => LockState::Locked,
        };
        if t.lock_state == Some(wanted) && t.received_at_ms >= step.requested_at_ms {
            decision.append(saga_confirmed(&observed, step, ctx, now));
        }
    }
    decision.with_state_change(state, now)
}

/// A session change of the vehicle's device, unless older than what is known.
pub(crate) fn on_session(state: &Vehicle, s: &SessionEvent) -> Decision {
    let is_ours = state
        .registration
        .as_ref()
        .is_some_and(|r| r.device_id == s.device_id);
    let is_newer = state.presence_at_ms.is_none_or(|at| s.at_ms >= at);
    if !is_ours || !is_newer {
        return Decision::default();
    }
    let online = matches!(s.change, SessionChange::SessionConnected(_));
    Decision::of(vec![VehicleEvent::Internal(
        InternalEvent::SessionChanged {
            online,
            at_ms: s.at_ms,
        },
    )])
}

/// A reply to the downlink the saga waits for; replies to anything else are ignored.
pub(crate) fn on_reply(state: &Vehicle, r: &DeviceReply, ctx: &Context<'_>, now: i64) -> Decision {
    let Some(step) = &state.saga else {
        return Decision::default();
    };
    let is_ours = state
        .registration
        .as_ref()
        .is_some_and(|reg| reg.device_id == r.device_id);
    if !is_ours || step.downlink_command_id != r.command_id {
        return Decision::default();
    }
    let failure = match (step.awaiting, r.outcome) {
        (_, ReplyOutcome::Delivered) => return Decision::default(),
        (_, ReplyOutcome::Answered) => return saga_confirmed(state, step, ctx, now),
        (Awaiting::Unlock, ReplyOutcome::TimedOut) => "unlock_timed_out",
        (Awaiting::Unlock, ReplyOutcome::Undeliverable) => "unlock_undeliverable",
        (Awaiting::Unlock, ReplyOutcome::Rejected) => "unlock_rejected",
        (Awaiting::Lock, ReplyOutcome::TimedOut) => "lock_timed_out",
        (Awaiting::Lock, ReplyOutcome::Undeliverable) => "lock_undeliverable",
        (Awaiting::Lock, ReplyOutcome::Rejected) => "lock_rejected",
    };
    let mut decision = saga_failed(state, step, failure, ctx, now);
    if let Some(VehicleEvent::Fleet(f)) = decision.events.first_mut()
        && let FleetEventBody::RideFailed(failed) = &mut f.event
    {
        failed.detail = r.reply_text.clone();
    }
    decision
}

/// The saga step is confirmed: an unlock starts the ride, a lock ends it.
pub(crate) fn saga_confirmed(
    state: &Vehicle,
    step: &SagaStep,
    ctx: &Context<'_>,
    now: i64,
) -> Decision {
    let Some(vehicle_id) = state.vehicle_id() else {
        return Decision::default();
    };
    let event = match (&state.activity, step.awaiting) {
        (Activity::Starting(req), Awaiting::Unlock) => FleetEventBody::RideStarted(RideStarted {
            vehicle_id,
            ride_id: req.ride_id,
            rider_id: req.rider_id,
            start_position: state.position(),
        }),
        (Activity::Riding(ride), Awaiting::Lock) => ride_ended(vehicle_id, state, ride, step, ctx),
        _ => return Decision::default(),
    };
    Decision::of(vec![fleet(now, event)]).with_state_change(state, now)
}

/// The saga step failed with `reason`: a ride that was starting fails (the vehicle is free
/// again); a ride that was ending goes on, unless an operator forced the end.
pub(crate) fn saga_failed(
    state: &Vehicle,
    step: &SagaStep,
    reason: &str,
    ctx: &Context<'_>,
    now: i64,
) -> Decision {
    let Some(vehicle_id) = state.vehicle_id() else {
        return Decision::default();
    };
    let event = match (&state.activity, step.awaiting) {
        (Activity::Starting(req), Awaiting::Unlock) => fleet(
            now,
            FleetEventBody::RideFailed(RideFailed {
                vehicle_id,
                ride_id: req.ride_id,
                rider_id: req.rider_id,
                reason: reason.to_owned(),
                detail: None,
            }),
        ),
        (Activity::Riding(ride), Awaiting::Lock) if step.forced => {
            fleet(now, ride_ended(vehicle_id, state, ride, step, ctx))
        }
        _ => VehicleEvent::Internal(InternalEvent::SagaAbandoned {
            downlink_command_id: step.downlink_command_id,
            reason: reason.to_owned(),
        }),
    };
    Decision::of(vec![event]).with_state_change(state, now)
}

/// The priced end of `ride`. Billing runs from the confirmed unlock to the end request (the
/// lock's latency is not billed); the distance is the track accumulated during the ride.
fn ride_ended(
    vehicle_id: Uuid,
    state: &Vehicle,
    ride: &Ride,
    step: &SagaStep,
    ctx: &Context<'_>,
) -> FleetEventBody {
    let duration_ms = step
        .requested_at_ms
        .saturating_sub(ride.started_at_ms)
        .max(0);
    FleetEventBody::RideEnded(RideEnded {
        vehicle_id,
        ride_id: ride.ride_id,
        rider_id: ride.rider_id,
        duration_ms,
        distance_m: ride.distance_mm.max(0).saturating_add(500) / 1000,
        fare_minor: ctx.pricing.fare_minor(duration_ms),
        currency: ctx.pricing.currency.clone(),
        end_position: state.position(),
        forced: step.forced,
    })
}
