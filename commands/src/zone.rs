//! The zone decider: `DefineZone` commands (keyed by zone id) become `ZoneDefined`.
//!
//! Zones have no state a decision depends on beyond the command itself, so the decider is a
//! validation: only operators may define zones, every ring is a plausible closed polygon,
//! and a speed limit belongs to `SLOW` zones only. Pure, like the vehicle decider.

use fleetlog_schemas::events::{
    ActorRole, AppCommand, CommandAccepted, CommandRejected, DefineZone, FleetEvent,
    FleetEventBody, GeoPoint, ZoneDefined, ZoneKind,
};

use crate::geo::is_plausible;
use crate::rejection::{Rejection, RejectionCode as Code};

/// Longest zone name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most points in one zone (all rings together).
pub const MAX_POINTS: usize = 10_000;

/// Decide `define` (the body of `cmd`) at `now_ms`: `CommandAccepted` then `ZoneDefined`.
///
/// # Errors
/// `forbidden` for a rider; `invalid_command` for a zone that is not a usable polygon.
pub fn decide_zone(
    cmd: &AppCommand,
    define: &DefineZone,
    now_ms: i64,
) -> Result<Vec<FleetEvent>, Rejection> {
    if cmd.actor.role == ActorRole::Rider {
        return Err(Rejection::new(
            Code::Forbidden,
            "only operators define zones",
        ));
    }
    validate(define).map_err(|message| Rejection::new(Code::InvalidCommand, message))?;
    let at = |event| FleetEvent {
        occurred_at_ms: now_ms,
        event,
    };
    Ok(vec![
        at(FleetEventBody::CommandAccepted(CommandAccepted {
            command_id: cmd.command_id,
            vehicle_id: None,
        })),
        at(FleetEventBody::ZoneDefined(ZoneDefined {
            zone_id: define.zone_id,
            kind: define.kind,
            name: define.name.trim().to_owned(),
            rings: define.rings.iter().map(|r| closed(r)).collect(),
            speed_limit_kmh: define.speed_limit_kmh,
        })),
    ])
}

/// The `CommandRejected` of a zone command.
pub fn zone_rejected(cmd: &AppCommand, rejection: &Rejection, now_ms: i64) -> FleetEvent {
    FleetEvent {
        occurred_at_ms: now_ms,
        event: FleetEventBody::CommandRejected(CommandRejected {
            command_id: cmd.command_id,
            vehicle_id: None,
            code: rejection.code.as_str().to_owned(),
            message: rejection.message.clone(),
        }),
    }
}

/// Why `define` is not a usable zone, in words for the operator.
///
/// # Errors
/// The first problem found.
pub fn validate(define: &DefineZone) -> Result<(), String> {
    let name = define.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    if define.rings.is_empty() {
        return Err("a zone needs an outer ring".to_owned());
    }
    let points: usize = define.rings.iter().map(Vec::len).sum();
    if points > MAX_POINTS {
        return Err(format!("a zone may have at most {MAX_POINTS} points"));
    }
    for (i, ring) in define.rings.iter().enumerate() {
        if let Some(p) = ring.iter().find(|p| !is_plausible(**p)) {
            return Err(format!(
                "ring {i}: point ({}, {}) is not a valid position",
                p.lat_e7, p.lon_e7
            ));
        }
        if distinct(ring) < 3 {
            return Err(format!("ring {i} needs at least 3 distinct points"));
        }
    }
    match (define.kind, define.speed_limit_kmh) {
        (ZoneKind::Slow, Some(kmh)) if (1..=100).contains(&kmh) => Ok(()),
        (ZoneKind::Slow, Some(_)) => Err("speed_limit_kmh must be 1 to 100".to_owned()),
        (ZoneKind::Slow, None) => Err("a SLOW zone needs speed_limit_kmh".to_owned()),
        (_, Some(_)) => Err("only SLOW zones have a speed limit".to_owned()),
        (_, None) => Ok(()),
    }
}

fn distinct(ring: &[GeoPoint]) -> usize {
    let mut seen: Vec<GeoPoint> = Vec::with_capacity(ring.len());
    for p in ring {
        if !seen.contains(p) {
            seen.push(*p);
        }
    }
    seen.len()
}

/// `ring` with its first point repeated at the end when it was not already.
fn closed(ring: &[GeoPoint]) -> Vec<GeoPoint> {
    let mut out = ring.to_vec();
    if let (Some(first), Some(last)) = (ring.first(), ring.last())
        && first != last
    {
        out.push(*first);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetlog_schemas::events::{Actor, AppCommandBody};
    use uuid::Uuid;

    fn p(lat: i32, lon: i32) -> GeoPoint {
        GeoPoint {
            lat_e7: lat,
            lon_e7: lon,
        }
    }

    fn square() -> Vec<GeoPoint> {
        vec![
            p(524_000_000, 133_000_000),
            p(524_000_000, 134_000_000),
            p(525_000_000, 134_000_000),
            p(525_000_000, 133_000_000),
        ]
    }

    fn define(kind: ZoneKind, rings: Vec<Vec<GeoPoint>>, limit: Option<i32>) -> DefineZone {
        DefineZone {
            zone_id: Uuid::from_u128(7),
            kind,
            name: " Mitte ".to_owned(),
            rings,
            speed_limit_kmh: limit,
        }
    }

    fn command(role: ActorRole, body: &DefineZone) -> AppCommand {
        AppCommand {
            command_id: Uuid::from_u128(1),
            idempotency_key: "k".to_owned(),
            actor: Actor {
                id: Uuid::from_u128(2).to_string(),
                role,
            },
            requested_at_ms: 1_000,
            command: AppCommandBody::DefineZone(body.clone()),
        }
    }

    #[test]
    fn an_operator_defines_a_zone_and_its_ring_comes_out_closed() {
        let body = define(ZoneKind::ServiceArea, vec![square()], None);
        let events = decide_zone(&command(ActorRole::Operator, &body), &body, 5).expect("ok");
        assert_eq!(events.len(), 2);
        let FleetEventBody::ZoneDefined(z) = &events[1].event else {
            panic!("expected ZoneDefined, got {:?}", events[1]);
        };
        assert_eq!(z.name, "Mitte");
        assert_eq!(z.rings[0].len(), 5);
        assert_eq!(z.rings[0].first(), z.rings[0].last());
    }

    #[test]
    fn riders_may_not_define_zones() {
        let body = define(ZoneKind::NoParking, vec![square()], None);
        let err = decide_zone(&command(ActorRole::Rider, &body), &body, 5).expect_err("no");
        assert_eq!(err.code, Code::Forbidden);
    }

    #[test]
    fn degenerate_rings_and_misplaced_speed_limits_are_invalid() {
        let two = vec![p(1, 1), p(2, 2), p(1, 1)];
        assert!(validate(&define(ZoneKind::NoParking, vec![two], None)).is_err());
        assert!(validate(&define(ZoneKind::NoParking, vec![], None)).is_err());
        assert!(validate(&define(ZoneKind::NoParking, vec![square()], Some(10))).is_err());
        assert!(validate(&define(ZoneKind::Slow, vec![square()], None)).is_err());
        assert!(validate(&define(ZoneKind::Slow, vec![square()], Some(15))).is_ok());
        let off_world = vec![p(950_000_000, 0), p(1, 2), p(3, 4)];
        assert!(validate(&define(ZoneKind::Slow, vec![off_world], Some(15))).is_err());
    }
}
