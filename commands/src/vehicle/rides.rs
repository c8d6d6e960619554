//! Rider commands: reserve, cancel a reservation, start and end a ride.
//!
//! Each function returns the effects of an accepted command (the caller adds
//! `CommandAccepted` and any state change) or the rejection.

use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::events::{
    AppCommand, CancelReservation, DownlinkKind, EndRide, FleetEventBody, ReservationCancelled,
    ReservationMade, RideRequested, StartRide,
};
use uuid::Uuid;

use super::decide::derived_id;
use super::guards::{self, account, is_staff};
use super::input::{Decision, InternalEvent, VehicleEvent, fleet};
use super::state::{Activity, Awaiting, SagaStep, Vehicle};
use crate::context::Context;
use crate::rejection::{Rejection, RejectionCode as Code};

/// A rider holds an available, in-service, online, charged vehicle for
/// `reservation_ttl_ms`.
pub(crate) fn reserve(
    state: &Vehicle,
    cmd: &AppCommand,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    let rider = account(&cmd.actor)?;
    let reg = guards::registered(state)?;
    guards::in_service(state)?;
    match &state.activity {
        Activity::Idle => {}
        Activity::Reserved(r) if r.rider_id == rider => {
            return Err(Rejection::new(
                Code::AlreadyReserved,
                "you hold this vehicle already",
            ));
        }
        Activity::Reserved(_) => return Err(reserved_by_other()),
        Activity::Starting(_) | Activity::Riding(_) => return Err(in_use()),
    }
    rider_free(ctx)?;
    guards::ready_to_ride(state, ctx)?;
    let made = ReservationMade {
        vehicle_id: reg.vehicle_id,
        reservation_id: derived_id(cmd, Derived::Reservation),
        rider_id: rider,
        expires_at_ms: now.saturating_add(ctx.config.reservation_ttl_ms),
    };
    Ok(Decision::of(vec![fleet(
        now,
        FleetEventBody::ReservationMade(made),
    )]))
}

/// The holder, or an operator with a reason, releases the current reservation.
pub(crate) fn cancel(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &CancelReservation,
    now: i64,
) -> Result<Decision, Rejection> {
    let reg = guards::registered(state)?;
    let Activity::Reserved(r) = &state.activity else {
        return Err(no_reservation());
    };
    if c.reservation_id.is_some_and(|id| id != r.reservation_id) {
        return Err(no_reservation());
    }
    let is_holder = account(&cmd.actor).is_ok_and(|me| me == r.rider_id);
    if !is_holder {
        if !is_staff(&cmd.actor) {
            return Err(not_owner("the reservation belongs to another rider"));
        }
        guards::non_empty_reason(c.reason.as_deref())?;
    }
    let cancelled = ReservationCancelled {
        vehicle_id: reg.vehicle_id,
        reservation_id: r.reservation_id,
        rider_id: r.rider_id,
        cancelled_by: cmd.actor.clone(),
        reason: c.reason.clone(),
    };
    Ok(Decision::of(vec![fleet(
        now,
        FleetEventBody::ReservationCancelled(cancelled),
    )]))
}

/// A rider starts a ride on an available vehicle, or on the one they reserved: the ride is
/// requested and the device is asked to unlock; `RideStarted` waits for the confirmation.
pub(crate) fn start(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &StartRide,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    let rider = account(&cmd.actor)?;
    let reg = guards::registered(state)?;
    guards::in_service(state)?;
    let reservation_id = match &state.activity {
        Activity::Idle if c.reservation_id.is_some() => return Err(no_reservation()),
        Activity::Idle => None,
        Activity::Reserved(r) if r.rider_id == rider => {
            if c.reservation_id.is_some_and(|id| id != r.reservation_id) {
                return Err(no_reservation());
            }
            Some(r.reservation_id)
        }
        Activity::Reserved(_) => return Err(reserved_by_other()),
        Activity::Starting(_) | Activity::Riding(_) => return Err(in_use()),
    };
    rider_free(ctx)?;
    guards::ready_to_ride(state, ctx)?;
    let unlock_id = derived_id(cmd, Derived::Unlock);
    let step = saga_step(
        cmd,
        Awaiting::Unlock,
        unlock_id,
        now,
        ctx.config.unlock_timeout_ms,
    );
    let requested = RideRequested {
        vehicle_id: reg.vehicle_id,
        ride_id: derived_id(cmd, Derived::Ride),
        rider_id: rider,
        reservation_id,
        unlock_command_id: unlock_id,
    };
    let downlink = guards::downlink(reg, unlock_id, DownlinkKind::Unlock, step.deadline_ms);
    Ok(Decision {
        events: vec![
            fleet(now, FleetEventBody::RideRequested(requested)),
            VehicleEvent::Internal(InternalEvent::SagaStarted(step)),
        ],
        downlinks: vec![downlink],
    })
}

/// The rider (parked inside the service area, outside no-parking zones) or an operator
/// with `force` and a reason ends the ride: the device is asked to lock; `RideEnded` waits
/// for the confirmation.
pub(crate) fn end(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &EndRide,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    let reg = guards::registered(state)?;
    let ride = match &state.activity {
        Activity::Riding(ride) => ride,
        Activity::Starting(_) => return Err(pending("the ride is still unlocking")),
        Activity::Idle | Activity::Reserved(_) => return Err(no_ride()),
    };
    if c.ride_id.is_some_and(|id| id != ride.ride_id) {
        return Err(no_ride());
    }
    if state.saga.is_some() {
        return Err(pending("the ride is already ending"));
    }
    guards::force_allowed(&cmd.actor, c.force, c.reason.as_deref())?;
    if !c.force {
        if account(&cmd.actor).ok() != Some(ride.rider_id) {
            return Err(not_owner(
                "the ride belongs to another rider (operators end it with force)",
            ));
        }
        ctx.check_parking(state.position())?;
    }
    let lock_id = derived_id(cmd, Derived::Lock);
    let mut step = saga_step(
        cmd,
        Awaiting::Lock,
        lock_id,
        now,
        ctx.config.lock_timeout_ms,
    );
    step.forced = c.force;
    step.reason = c.reason.clone().filter(|_| c.force);
    let downlink = guards::downlink(reg, lock_id, DownlinkKind::Lock, step.deadline_ms);
    Ok(Decision {
        events: vec![VehicleEvent::Internal(InternalEvent::SagaStarted(step))],
        downlinks: vec![downlink],
    })
}

fn saga_step(
    cmd: &AppCommand,
    awaiting: Awaiting,
    downlink_command_id: Uuid,
    now: i64,
    timeout_ms: i64,
) -> SagaStep {
    SagaStep {
        awaiting,
        command_id: cmd.command_id,
        downlink_command_id,
        requested_at_ms: now,
        deadline_ms: now.saturating_add(timeout_ms),
        forced: false,
        reason: None,
    }
}

fn rider_free(ctx: &Context<'_>) -> Result<(), Rejection> {
    if ctx.rider_busy {
        Err(Rejection::new(
            Code::RiderBusy,
            "you already have an active ride or reservation",
        ))
    } else {
        Ok(())
    }
}

fn reserved_by_other() -> Rejection {
    Rejection::new(Code::ReservedByOther, "another rider holds this vehicle")
}

fn in_use() -> Rejection {
    Rejection::new(Code::VehicleInUse, "the vehicle is in use")
}

fn no_reservation() -> Rejection {
    Rejection::new(
        Code::ReservationNotFound,
        "no such active reservation on this vehicle",
    )
}

fn no_ride() -> Rejection {
    Rejection::new(Code::RideNotFound, "no such active ride on this vehicle")
}

fn not_owner(message: &str) -> Rejection {
    Rejection::new(Code::NotOwner, message)
}

fn pending(message: &str) -> Rejection {
    Rejection::new(Code::CommandPending, message)
}
