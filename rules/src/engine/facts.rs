//! What one input says about one device, and how conditions read it.

use fleetlog_commands::geo::{is_plausible, polygon_contains};
use fleetlog_schemas::events::{AlarmKind, GeoPoint, Telemetry};

use crate::model::{Clear, Condition, Zone};

/// An alarm fact: a record's whole alarm list, or one alarm raised or cleared.
#[derive(Debug, Clone, Copy)]
pub(super) enum Alarms<'a> {
    /// Exactly these are active (a telemetry record).
    Active(&'a [AlarmKind]),
    /// This one became active.
    Raised(AlarmKind),
    /// This one ended.
    Cleared(AlarmKind),
}

/// What an input tells about one device; `None` fields say nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Facts<'a> {
    /// The input's time, ms since the Unix epoch (stamped on actions, used for windows).
    pub(super) at_ms: i64,
    /// The device was heard from (telemetry or a new session).
    pub(super) seen: bool,
    /// The tick's time, for silence; `last_seen_ms` is the device's last contact.
    pub(super) tick: Option<(i64, Option<i64>)>,
    pub(super) battery_pct: Option<i32>,
    pub(super) position: Option<GeoPoint>,
    pub(super) alarms: Option<Alarms<'a>>,
}

impl<'a> Facts<'a> {
    pub(super) fn telemetry(t: &'a Telemetry) -> Self {
        let point = GeoPoint {
            lat_e7: t.lat_e7,
            lon_e7: t.lon_e7,
        };
        Self {
            at_ms: t.device_time_ms,
            seen: true,
            tick: None,
            battery_pct: t.battery_pct,
            position: (t.position_valid && is_plausible(point)).then_some(point),
            alarms: Some(Alarms::Active(&t.alarms)),
        }
    }

    /// Whether `when` holds, or `None` when these facts say nothing about it.
    pub(super) fn holds(&self, when: &Condition) -> Option<bool> {
        match when {
            Condition::BatteryBelow(t) => self.battery_pct.map(|b| b < i32::from(*t)),
            Condition::SilentFor { ms } => match self.tick {
                Some((now, Some(last))) => Some(now.saturating_sub(last) >= *ms),
                Some((_, None)) => None,
                None => self.seen.then_some(false),
            },
            Condition::EnterZone(zone) => self.position.map(|p| self.inside(zone, p)),
            Condition::Alarm(kind) => self.alarms.and_then(|a| match a {
                Alarms::Active(list) => Some(list.contains(kind)),
                Alarms::Raised(k) => (k == *kind).then_some(true),
                Alarms::Cleared(k) => (k == *kind).then_some(false),
            }),
        }
    }

    /// Whether `clear` holds for a fired rule with condition `when`, or `None` when these
    /// facts say nothing about it. Without a `clears_when`, a rule clears when its
    /// condition stops holding.
    pub(super) fn clears(&self, when: &Condition, clear: Option<Clear>) -> Option<bool> {
        match clear {
            None => self.holds(when).map(|h| !h),
            Some(Clear::BatteryAbove(t)) => self.battery_pct.map(|b| b > i32::from(t)),
            Some(Clear::SeenAgain) => self.seen.then_some(true),
            Some(Clear::ZoneExit) => match when {
                Condition::EnterZone(zone) => self
                    .position
                    .map(|p| !polygon_contains(std::slice::from_ref(&zone.ring), p)),
                _ => None,
            },
            Some(Clear::AlarmCleared) => self.holds(when).map(|h| !h),
        }
    }

    fn inside(&self, zone: &Zone, p: GeoPoint) -> bool {
        let open = zone.window.is_none_or(|w| w.contains(self.at_ms));
        open && polygon_contains(std::slice::from_ref(&zone.ring), p)
    }
}
