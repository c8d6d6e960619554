//! Operator commands: register, out of service / back in service, remote lock and unlock,
//! locate.
//!
//! Each function returns the effects of an accepted command (the caller adds
//! `CommandAccepted`) or the rejection. Remote lock, unlock and locate only send a downlink:
//! the saga does not wait for them.

use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::events::{
    AppCommand, DownlinkKind, FleetEventBody, RegisterVehicle, RemoteLock, RemoteUnlock,
    ReservationCancelled, SetInService, SetOutOfService, VehicleRegistered, VehicleState,
    VehicleStateChanged,
};

use super::decide::derived_id;
use super::guards::{self, staff_only};
use super::input::{Decision, fleet};
use super::state::{Activity, Vehicle};
use crate::context::Context;
use crate::rejection::{Rejection, RejectionCode as Code};

/// Add the vehicle to the fleet, paired with its device.
pub(crate) fn register(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &RegisterVehicle,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "register vehicles")?;
    if state.is_registered() {
        return Err(Rejection::new(
            Code::AlreadyRegistered,
            "the vehicle is registered already",
        ));
    }
    if c.device_id.trim().is_empty() {
        return Err(Rejection::new(Code::InvalidCommand, "device_id is empty"));
    }
    let registered = VehicleRegistered {
        vehicle_id: c.vehicle_id,
        device_id: c.device_id.clone(),
        protocol: c.protocol,
        model: c.model.clone(),
        qr_code: c.qr_code.clone(),
    };
    Ok(Decision::of(vec![fleet(
        now,
        FleetEventBody::VehicleRegistered(registered),
    )]))
}

/// Take the vehicle out of service. A reservation or ride blocks it unless forced; forced,
/// a reservation is cancelled and a ride goes on until it ends.
pub(crate) fn out_of_service(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &SetOutOfService,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "take vehicles out of service")?;
    let reg = guards::registered(state)?;
    if state.out_of_service.is_some() {
        return Err(Rejection::new(
            Code::OutOfService,
            "the vehicle is out of service already",
        ));
    }
    guards::non_empty_reason(Some(&c.reason))?;
    let mut decision = Decision::default();
    match &state.activity {
        Activity::Idle => {}
        _ if !c.force => {
            return Err(Rejection::new(
                Code::VehicleInUse,
                "the vehicle is reserved or in a ride (force to take it out anyway)",
            ));
        }
        Activity::Reserved(r) => {
            let cancelled = ReservationCancelled {
                vehicle_id: reg.vehicle_id,
                reservation_id: r.reservation_id,
                rider_id: r.rider_id,
                cancelled_by: cmd.actor.clone(),
                reason: Some(c.reason.clone()),
            };
            let event = FleetEventBody::ReservationCancelled(cancelled);
            decision.events.push(fleet(now, event));
        }
        Activity::Starting(_) | Activity::Riding(_) => {}
    }
    let change = VehicleStateChanged {
        vehicle_id: reg.vehicle_id,
        from_state: state.operational_state(),
        to_state: VehicleState::OutOfService,
        reason: Some(c.reason.clone()),
    };
    let event = FleetEventBody::VehicleStateChanged(change);
    decision.events.push(fleet(now, event));
    Ok(decision)
}

/// Put an out-of-service vehicle back into service.
pub(crate) fn in_service(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &SetInService,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "put vehicles back into service")?;
    let reg = guards::registered(state)?;
    if state.out_of_service.is_none() {
        return Err(Rejection::new(
            Code::NotOutOfService,
            "the vehicle is in service already",
        ));
    }
    let back = Vehicle {
        out_of_service: None,
        ..state.clone()
    };
    let change = VehicleStateChanged {
        vehicle_id: reg.vehicle_id,
        from_state: VehicleState::OutOfService,
        to_state: back.operational_state(),
        reason: c.reason.clone(),
    };
    Ok(Decision::of(vec![fleet(
        now,
        FleetEventBody::VehicleStateChanged(change),
    )]))
}

/// Lock the vehicle; refused during a ride unless forced.
pub(crate) fn remote_lock(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &RemoteLock,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "lock vehicles remotely")?;
    let reg = guards::registered(state)?;
    guards::force_allowed(&cmd.actor, c.force, c.reason.as_deref())?;
    let in_ride = matches!(state.activity, Activity::Starting(_) | Activity::Riding(_));
    if in_ride && !c.force {
        return Err(Rejection::new(
            Code::VehicleInUse,
            "a ride is on (force to lock anyway)",
        ));
    }
    let expires = now.saturating_add(ctx.config.lock_timeout_ms);
    let downlink = guards::downlink(
        reg,
        derived_id(cmd, Derived::Lock),
        DownlinkKind::Lock,
        expires,
    );
    Ok(Decision {
        events: Vec::new(),
        downlinks: vec![downlink],
    })
}

/// Unlock the vehicle outside a ride; refused when reserved or ridden unless forced.
pub(crate) fn remote_unlock(
    state: &Vehicle,
    cmd: &AppCommand,
    c: &RemoteUnlock,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "unlock vehicles remotely")?;
    let reg = guards::registered(state)?;
    guards::force_allowed(&cmd.actor, c.force, c.reason.as_deref())?;
    if state.activity != Activity::Idle && !c.force {
        return Err(Rejection::new(
            Code::VehicleInUse,
            "the vehicle is reserved or in a ride (force to unlock anyway)",
        ));
    }
    let expires = now.saturating_add(ctx.config.unlock_timeout_ms);
    let id = derived_id(cmd, Derived::Unlock);
    let downlink = guards::downlink(reg, id, DownlinkKind::Unlock, expires);
    Ok(Decision {
        events: Vec::new(),
        downlinks: vec![downlink],
    })
}

/// Ask the device for a fresh position.
pub(crate) fn locate(
    state: &Vehicle,
    cmd: &AppCommand,
    ctx: &Context<'_>,
    now: i64,
) -> Result<Decision, Rejection> {
    staff_only(&cmd.actor, "locate vehicles")?;
    let reg = guards::registered(state)?;
    let expires = now.saturating_add(ctx.config.unlock_timeout_ms);
    let id = derived_id(cmd, Derived::Locate);
    let downlink = guards::downlink(reg, id, DownlinkKind::Locate, expires);
    Ok(Decision {
        events: Vec::new(),
        downlinks: vec![downlink],
    })
}
