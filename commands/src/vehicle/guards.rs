//! Checks shared by the command rules; each returns the [`Rejection`] to give.

use fleetlog_schemas::events::{Actor, ActorRole, DownlinkCommand, DownlinkKind};
use uuid::Uuid;

use super::state::{Registration, Vehicle};
use crate::context::Context;
use crate::rejection::{Rejection, RejectionCode as Code};

/// Operators, admins and fleetlog itself act on any vehicle and may force.
pub(crate) fn is_staff(actor: &Actor) -> bool {
    matches!(
        actor.role,
        ActorRole::Operator | ActorRole::Admin | ActorRole::System
    )
}

/// Only staff may do `what`.
pub(crate) fn staff_only(actor: &Actor, what: &str) -> Result<(), Rejection> {
    if is_staff(actor) {
        Ok(())
    } else {
        Err(Rejection::new(
            Code::Forbidden,
            format!("only operators may {what}"),
        ))
    }
}

/// The actor's account id, which rides and reservations belong to.
pub(crate) fn account(actor: &Actor) -> Result<Uuid, Rejection> {
    Uuid::parse_str(&actor.id).map_err(|_| {
        Rejection::new(
            Code::InvalidCommand,
            format!("actor id {:?} is not an account id", actor.id),
        )
    })
}

/// `force` is for staff and needs a reason.
pub(crate) fn force_allowed(
    actor: &Actor,
    force: bool,
    reason: Option<&str>,
) -> Result<(), Rejection> {
    if !force {
        return Ok(());
    }
    staff_only(actor, "force a command")?;
    non_empty_reason(reason)
}

/// A reason that is present and not blank.
pub(crate) fn non_empty_reason(reason: Option<&str>) -> Result<(), Rejection> {
    if reason.is_some_and(|r| !r.trim().is_empty()) {
        Ok(())
    } else {
        Err(Rejection::new(Code::ReasonRequired, "a reason is required"))
    }
}

/// The registration, or `not_registered`.
pub(crate) fn registered(state: &Vehicle) -> Result<&Registration, Rejection> {
    state
        .registration
        .as_ref()
        .ok_or_else(|| Rejection::new(Code::NotRegistered, "the vehicle is not registered"))
}

/// Not out of service.
pub(crate) fn in_service(state: &Vehicle) -> Result<(), Rejection> {
    match &state.out_of_service {
        None => Ok(()),
        Some(reason) => Err(Rejection::new(
            Code::OutOfService,
            format!("the vehicle is out of service: {reason}"),
        )),
    }
}

/// Online, with a known battery at or above the minimum.
pub(crate) fn ready_to_ride(state: &Vehicle, ctx: &Context<'_>) -> Result<(), Rejection> {
    if !state.online {
        return Err(Rejection::new(
            Code::Offline,
            "the vehicle is not connected",
        ));
    }
    let min = ctx.config.min_battery_pct;
    match state.battery_pct {
        Some(pct) if pct >= min => Ok(()),
        Some(pct) => Err(Rejection::new(
            Code::BatteryLow,
            format!("battery at {pct}%, below the {min}% minimum"),
        )),
        None => Err(Rejection::new(
            Code::BatteryLow,
            "the battery level is not known yet",
        )),
    }
}

/// A downlink for the registered device.
pub(crate) fn downlink(
    reg: &Registration,
    command_id: Uuid,
    kind: DownlinkKind,
    expires_at_ms: i64,
) -> DownlinkCommand {
    DownlinkCommand {
        command_id,
        device_id: reg.device_id.clone(),
        vehicle_id: Some(reg.vehicle_id),
        kind,
        params: None,
        expires_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{DeciderConfig, Pricing};

    fn actor(role: ActorRole) -> Actor {
        Actor {
            id: Uuid::from_u128(1).to_string(),
            role,
        }
    }

    #[test]
    fn operators_admins_and_the_system_are_staff_and_riders_are_not() {
        assert!(is_staff(&actor(ActorRole::Operator)));
        assert!(is_staff(&actor(ActorRole::Admin)));
        assert!(is_staff(&actor(ActorRole::System)));
        assert!(!is_staff(&actor(ActorRole::Rider)));
    }

    #[test]
    fn force_needs_staff_and_a_non_blank_reason() {
        let code =
            |role, reason| force_allowed(&actor(role), true, reason).map_err(|r: Rejection| r.code);
        assert_eq!(code(ActorRole::Rider, Some("x")), Err(Code::Forbidden));
        assert_eq!(code(ActorRole::Operator, None), Err(Code::ReasonRequired));
        assert_eq!(
            code(ActorRole::Operator, Some(" ")),
            Err(Code::ReasonRequired)
        );
        assert_eq!(code(ActorRole::Operator, Some("stolen")), Ok(()));
        assert_eq!(force_allowed(&actor(ActorRole::Rider), false, None), Ok(()));
    }

    #[test]
    fn a_vehicle_is_ready_to_ride_when_online_with_enough_battery() {
        let (config, pricing) = (DeciderConfig::default(), Pricing::default());
        let ctx = Context {
            now_ms: 0,
            rider_busy: false,
            zones: &[],
            config: &config,
            pricing: &pricing,
        };
        let code = |online, battery_pct| {
            let v = Vehicle {
                online,
                battery_pct,
                ..Vehicle::default()
            };
            ready_to_ride(&v, &ctx).map_err(|r| r.code)
        };
        assert_eq!(code(true, Some(15)), Ok(()));
        assert_eq!(code(true, Some(14)), Err(Code::BatteryLow));
        assert_eq!(code(true, None), Err(Code::BatteryLow));
        assert_eq!(code(false, Some(90)), Err(Code::Offline));
    }
}
