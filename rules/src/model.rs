//! A validated rule set, as the engine runs it.

use fleetlog_schemas::events::{AlarmKind, GeoPoint};

use crate::action::ActionKind;
use crate::window::TimeWindow;

/// A validated rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// The file's version; stamped on every action its rules take.
    pub version: u32,
    /// Declared notification channels; when declared, `notify` may only name these.
    pub channels: Option<Vec<String>>,
    /// The rules, in file order (the order the engine evaluates them in).
    pub rules: Vec<Rule>,
}

/// One rule: when its condition starts to hold for a device, its actions are taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique name within the file.
    pub name: String,
    /// Line of the `[[rule]]` in the file.
    pub line: usize,
    /// When it fires.
    pub when: Condition,
    /// When it closes its alerts and work orders by itself; without it, the rule re-arms
    /// as soon as its condition stops holding and closes nothing.
    pub clears_when: Option<Clear>,
    /// What it does when it fires, in order.
    pub actions: Vec<ActionKind>,
}

/// A trigger condition, evaluated per device.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A telemetry record reports a battery below this percentage.
    BatteryBelow(u8),
    /// Nothing heard from the device (telemetry or a new session) for this long, as
    /// measured by ticks.
    SilentFor {
        /// The duration in milliseconds.
        ms: i64,
    },
    /// A valid position inside the zone, during its window.
    EnterZone(Zone),
    /// The device reports this alarm (in telemetry or as an `AlarmRaised` event).
    Alarm(AlarmKind),
}

/// A polygon with an optional daily window.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The outer ring (no holes), at least three points.
    pub ring: Vec<GeoPoint>,
    /// When the zone applies; always when `None`.
    pub window: Option<TimeWindow>,
}

/// When a fired rule clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clear {
    /// A telemetry record reports a battery above this percentage.
    BatteryAbove(u8),
    /// The device is heard from again.
    SeenAgain,
    /// A valid position outside the zone.
    ZoneExit,
    /// The alarm is no longer reported.
    AlarmCleared,
}
