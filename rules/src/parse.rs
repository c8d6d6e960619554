//! From TOML text to a validated [`RuleSet`], or the first error with its line.

use std::collections::BTreeSet;

use fleetlog_schemas::events::{AlarmKind, GeoPoint};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as ValueError, StrDeserializer};
use toml::Spanned;

use crate::action::{ActionKind, DeviceCommand};
use crate::error::RuleFileError;
use crate::file::{
    RawAction, RawClear, RawCondition, RawDeviceCommand, RawDeviceCommandKind, RawFile, RawRule,
    RawZone,
};
use crate::model::{Clear, Condition, Rule, RuleSet, Zone};
use crate::window::TimeWindow;

/// The keys a rule file may have at its top level (the JSON Schema lists the same).
pub const TOP_LEVEL_KEYS: [&str; 3] = ["version", "channels", "rule"];

/// The longest `silent_for_s` accepted: 30 days.
const MAX_SILENT_S: i64 = 30 * 24 * 3600;

/// Parses and validates a rule file.
///
/// # Errors
///
/// A [`RuleFileError`] naming the line and column of the first problem: a TOML syntax
/// error, an unknown or missing key, or a rule that breaks a semantic rule (duplicate name,
/// a polygon of fewer than three points, a threshold outside 0..=100, a malformed window, a
/// channel not declared in `channels`, a `clears_when` that does not fit the condition).
pub fn parse(source: &str) -> Result<RuleSet, RuleFileError> {
    let raw: RawFile = toml::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        RuleFileError::at(source, offset, e.message().trim_end())
    })?;
    Checker { source }.file(raw)
}

struct Checker<'a> {
    source: &'a str,
}

impl Checker<'_> {
    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> RuleFileError {
        RuleFileError::at(self.source, at.span().start, message)
    }

    fn file(&self, raw: RawFile) -> Result<RuleSet, RuleFileError> {
        let version = u32::try_from(*raw.version.get_ref())
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| self.err(&raw.version, "version must be a positive integer"))?;
        let channels = match &raw.channels {
            None => None,
            Some(list) => {
                let mut names = BTreeSet::new();
                for c in list {
                    if !is_name(c.get_ref()) {
                        return Err(self.err(c, format!("bad channel name {:?}", c.get_ref())));
                    }
                    if !names.insert(c.get_ref().clone()) {
                        return Err(
                            self.err(c, format!("channel {:?} declared twice", c.get_ref()))
                        );
                    }
                }
                Some(list.iter().map(|c| c.get_ref().clone()).collect::<Vec<_>>())
            }
        };
        let mut names = BTreeSet::new();
        let mut rules = Vec::with_capacity(raw.rule.len());
        for rule in raw.rule {
            let name = &rule.get_ref().name;
            if !names.insert(name.get_ref().clone()) {
                return Err(self.err(name, format!("duplicate rule name {:?}", name.get_ref())));
            }
            rules.push(self.rule(rule, channels.as_deref())?);
        }
        Ok(RuleSet {
            version,
            channels,
            rules,
        })
    }

    fn rule(
        &self,
        spanned: Spanned<RawRule>,
        channels: Option<&[String]>,
    ) -> Result<Rule, RuleFileError> {
        let line = RuleFileError::at(self.source, spanned.span().start, "").line;
        let raw = spanned.into_inner();
        if !is_name(raw.name.get_ref()) {
            return Err(self.err(&raw.name, "a rule name is 1 to 64 of a-z, 0-9, '-' and '_'"));
        }
        let when = self.condition(&raw.when)?;
        let clears_when = match &raw.clears_when {
            None => None,
            Some(c) => Some(self.clear(c, &when)?),
        };
        if raw.action.is_empty() {
            return Err(self.err(&raw.name, "a rule needs at least one [[rule.action]]"));
        }
        let mut actions = Vec::with_capacity(raw.action.len());
        for a in &raw.action {
            actions.push(self.action(a, channels)?);
        }
        let raises = actions
            .iter()
            .filter(|a| matches!(a, ActionKind::RaiseAlert { .. }))
            .count();
        if raises > 1 {
            return Err(self.err(&raw.name, "a rule raises at most one alert"));
        }
        Ok(Rule {
            name: raw.name.into_inner(),
            line,
            when,
            clears_when,
            actions,
        })
    }

    fn condition(&self, raw: &Spanned<RawCondition>) -> Result<Condition, RuleFileError> {
        Ok(match raw.get_ref() {
            RawCondition::BatteryPctBelow(n) => Condition::BatteryBelow(self.pct(raw, *n)?),
            RawCondition::SilentForS(s) => {
                if !(1..=MAX_SILENT_S).contains(s) {
                    return Err(self.err(raw, format!("silent_for_s must be 1..={MAX_SILENT_S}")));
                }
                Condition::SilentFor { ms: s * 1000 }
            }
            RawCondition::EnterZone(zone) => Condition::EnterZone(self.zone(raw, zone)?),
            RawCondition::Alarm(name) => Condition::Alarm(self.alarm(raw, name)?),
        })
    }

    fn pct<T>(&self, at: &Spanned<T>, n: i64) -> Result<u8, RuleFileError> {
        u8::try_from(n)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| self.err(at, format!("threshold {n} is not a percentage in 0..=100")))
    }

    fn zone<T>(&self, at: &Spanned<T>, raw: &RawZone) -> Result<Zone, RuleFileError> {
        let distinct: BTreeSet<_> = raw
            .polygon
            .iter()
            .map(|[lon, lat]| (lon.to_bits(), lat.to_bits()))
            .collect();
        if distinct.len() < 3 {
            return Err(self.err(at, "a zone polygon needs at least 3 distinct points"));
        }
        let mut ring = Vec::with_capacity(raw.polygon.len());
        for [lon, lat] in &raw.polygon {
            let ok = (-180.0..=180.0).contains(lon) && (-90.0..=90.0).contains(lat);
            if !ok {
                return Err(self.err(at, format!("[{lon}, {lat}] is not a [lon, lat] in degrees")));
            }
            // In range, so the products fit in i32.
            ring.push(GeoPoint {
                lat_e7: (lat * 1e7).round() as i32,
                lon_e7: (lon * 1e7).round() as i32,
            });
        }
        let window = match &raw.window {
            None => None,
            Some(text) => Some(TimeWindow::parse(text).ok_or_else(|| {
                self.err(at, format!("window {text:?} is not \"HH:MM-HH:MM\" (UTC)"))
            })?),
        };
        Ok(Zone { ring, window })
    }

    fn alarm<T>(&self, at: &Spanned<T>, name: &str) -> Result<AlarmKind, RuleFileError> {
        let de: StrDeserializer<'_, ValueError> = name.into_deserializer();
        match AlarmKind::deserialize(de) {
            Ok(AlarmKind::Other) if name != "OTHER" => {}
            Ok(kind) => return Ok(kind),
            Err(_) => {}
        }
        Err(self.err(
            at,
            format!("unknown alarm {name:?} (e.g. \"FALL\", \"TAMPER\")"),
        ))
    }

    fn clear(&self, raw: &Spanned<RawClear>, when: &Condition) -> Result<Clear, RuleFileError> {
        let clear = match raw.get_ref() {
            RawClear::BatteryPctAbove(n) => Clear::BatteryAbove(self.pct(raw, *n)?),
            RawClear::SeenAgain => Clear::SeenAgain,
            RawClear::ZoneExit => Clear::ZoneExit,
            RawClear::AlarmCleared => Clear::AlarmCleared,
        };
        let fits = match (when, clear) {
            (Condition::BatteryBelow(below), Clear::BatteryAbove(above)) => above >= *below,
            (Condition::SilentFor { .. }, Clear::SeenAgain)
            | (Condition::EnterZone(_), Clear::ZoneExit)
            | (Condition::Alarm(_), Clear::AlarmCleared) => true,
            _ => false,
        };
        if !fits {
            return Err(self.err(
                raw,
                "clears_when does not fit the condition (battery_pct_below: battery_pct_above \
                 at or over its threshold; silent_for_s: \"seen_again\"; enter_zone: \
                 \"zone_exit\"; alarm: \"alarm_cleared\")",
            ));
        }
        Ok(clear)
    }

    fn action(
        &self,
        raw: &Spanned<RawAction>,
        channels: Option<&[String]>,
    ) -> Result<ActionKind, RuleFileError> {
        let key = |k: &String| {
            if is_name(k) {
                Ok(k.clone())
            } else {
                Err(self.err(raw, format!("bad alert key {k:?}")))
            }
        };
        Ok(match raw.get_ref() {
            RawAction::RaiseAlert(k) => ActionKind::RaiseAlert { key: key(k)? },
            RawAction::ClearAlert(k) => ActionKind::ClearAlert { key: key(k)? },
            RawAction::OpenWorkOrder(w) => ActionKind::OpenWorkOrder {
                kind: w.kind,
                priority: w.priority,
            },
            RawAction::CloseWorkOrder(w) => ActionKind::CloseWorkOrder { kind: w.kind },
            RawAction::DeviceCommand(c) => ActionKind::DeviceCommand(self.command(raw, c)?),
            RawAction::Notify(spanned) => {
                let channel = spanned.get_ref();
                if channels.is_some_and(|cs| !cs.contains(channel)) {
                    return Err(self.err(spanned, format!("channel {channel:?} is not declared")));
                }
                if !is_name(channel) {
                    return Err(self.err(spanned, format!("bad channel name {channel:?}")));
                }
                ActionKind::Notify {
                    channel: channel.clone(),
                }
            }
        })
    }

    fn command<T>(
        &self,
        at: &Spanned<T>,
        raw: &RawDeviceCommand,
    ) -> Result<DeviceCommand, RuleFileError> {
        match (raw.kind, raw.value) {
            (RawDeviceCommandKind::Lock, None) => Ok(DeviceCommand::Lock),
            (RawDeviceCommandKind::Lock, Some(_)) => Err(self.err(at, "lock takes no value")),
            (RawDeviceCommandKind::SpeedLimit, Some(v)) => u8::try_from(v)
                .ok()
                .filter(|kmh| (1..=100).contains(kmh))
                .map(|kmh| DeviceCommand::SpeedLimit { kmh })
                .ok_or_else(|| self.err(at, format!("speed limit {v} is not 1..=100 km/h"))),
            (RawDeviceCommandKind::SpeedLimit, None) => {
                Err(self.err(at, "speed_limit needs a value in km/h"))
            }
        }
    }
}

/// Names of rules, channels and alert keys: 1 to 64 of `a-z 0-9 - _`.
fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
