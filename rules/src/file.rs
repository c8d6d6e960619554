//! The rule file as written: serde types with spans, before validation.

use serde::Deserialize;
use toml::Spanned;

use crate::action::{Priority, WorkOrderKind};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub(crate) version: Spanned<i64>,
    #[serde(default)]
    pub(crate) channels: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) rule: Vec<Spanned<RawRule>>,
}

/// One `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) name: Spanned<String>,
    pub(crate) when: Spanned<RawCondition>,
    #[serde(default)]
    pub(crate) clears_when: Option<Spanned<RawClear>>,
    pub(crate) action: Vec<Spanned<RawAction>>,
}

/// `when = { ... }`: exactly one key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawCondition {
    BatteryPctBelow(i64),
    SilentForS(i64),
    EnterZone(RawZone),
    Alarm(String),
}

/// `enter_zone = { polygon = [[lon, lat], ...], window = "HH:MM-HH:MM" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawZone {
    pub(crate) polygon: Vec<[f64; 2]>,
    #[serde(default)]
    pub(crate) window: Option<String>,
}

/// `clears_when = { battery_pct_above = N }` or `"seen_again"`, `"zone_exit"`,
/// `"alarm_cleared"`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawClear {
    BatteryPctAbove(i64),
    SeenAgain,
    ZoneExit,
    AlarmCleared,
}

/// One `[[rule.action]]`: exactly one key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawAction {
    RaiseAlert(String),
    ClearAlert(String),
    OpenWorkOrder(RawOpenWorkOrder),
    CloseWorkOrder(RawCloseWorkOrder),
    DeviceCommand(RawDeviceCommand),
    Notify(Spanned<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOpenWorkOrder {
    pub(crate) kind: WorkOrderKind,
    #[serde(default = "normal")]
    pub(crate) priority: Priority,
}

fn normal() -> Priority {
    Priority::Normal
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCloseWorkOrder {
    pub(crate) kind: WorkOrderKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeviceCommand {
    pub(crate) kind: RawDeviceCommandKind,
    #[serde(default)]
    pub(crate) value: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawDeviceCommandKind {
    Lock,
    SpeedLimit,
}
