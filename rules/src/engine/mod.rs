//! The engine: inputs in, actions out, per-device state in between.
//!
//! For each device and rule it keeps two bits: whether the condition held at the last
//! input that said anything about it (`raw`), and whether the rule has fired and not yet
//! cleared (`active`). A rule fires when its condition starts to hold (an edge, not a
//! level) while it is not active; it clears when its `clears_when` holds (or, without
//! one, when its condition stops holding). Alerts and work orders are open per (device,
//! key) and (device, kind): a second raise or open while one is open is suppressed. Edges
//! that would have fired again while the rule was still active, and suppressed raises or
//! opens, are counted as would-be flaps instead of being emitted.
//!
//! State lives in ordered maps and rules run in file order, so the same inputs give the
//! same actions in the same order.

mod facts;

use std::collections::BTreeMap;

use fleetlog_schemas::events::{
    FleetEvent, FleetEventBody, SessionChange, SessionEvent, Telemetry,
};
use uuid::Uuid;

use crate::action::{Action, ActionKind, Target, WorkOrderKind};
use crate::model::{Rule, RuleSet};
use facts::{Alarms, Facts};

/// One input, with the id of the event it came from (the causation id of what it causes).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A `scooter.telemetry.v1` record.
    Telemetry {
        /// The record's event id.
        id: Uuid,
        /// The record.
        record: Telemetry,
    },
    /// A `scooter.sessions.v1` event.
    Session {
        /// The event id.
        id: Uuid,
        /// The event.
        event: SessionEvent,
    },
    /// A `fleet.events.v1` event.
    Fleet {
        /// The event id.
        id: Uuid,
        /// The event.
        event: FleetEvent,
    },
    /// The clock reached `at_ms`; silence is measured against ticks.
    Tick {
        /// The tick's id.
        id: Uuid,
        /// ms since the Unix epoch.
        at_ms: i64,
    },
}

/// Per device and rule: did the condition hold last time, has the rule fired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RuleState {
    raw: bool,
    active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Device {
    vehicle_id: Option<Uuid>,
    last_seen_ms: Option<i64>,
    rules: Vec<RuleState>,
}

impl Device {
    /// A device not heard of before, with fresh state for `rules` rules.
    fn new(rules: usize) -> Self {
        Self {
            rules: vec![RuleState::default(); rules],
            ..Self::default()
        }
    }
}

/// What is open, and the would-be flaps: the engine's state across rules.
#[derive(Debug, Clone, Default)]
struct Books {
    /// (device, alert key) → the rule that raised it.
    alerts: BTreeMap<(String, String), String>,
    /// (device, work-order kind) → the rule that opened it.
    work_orders: BTreeMap<(String, WorkOrderKind), String>,
    flaps: BTreeMap<String, u64>,
}

/// Runs a [`RuleSet`] over inputs. See the module documentation for the semantics.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: RuleSet,
    devices: BTreeMap<String, Device>,
    books: Books,
}

impl Engine {
    /// An engine with no state yet.
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            devices: BTreeMap::new(),
            books: Books::default(),
        }
    }

    /// The rules it runs.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Folds `input` into the state and returns the actions it causes, in order.
    pub fn apply(&mut self, input: &Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Telemetry { id, record } => {
                self.seen(&record.device_id, record.received_at_ms);
                self.observe(&record.device_id, *id, &Facts::telemetry(record), &mut out);
            }
            Input::Session { id, event } => {
                let facts = match &event.change {
                    SessionChange::SessionConnected(_) => {
                        self.seen(&event.device_id, event.at_ms);
                        Facts {
                            at_ms: event.at_ms,
                            seen: true,
                            ..Facts::default()
                        }
                    }
                    SessionChange::SessionDisconnected(_) => {
                        let device = self.device(&event.device_id);
                        device.last_seen_ms.get_or_insert(event.at_ms);
                        return out;
                    }
                };
                self.observe(&event.device_id, *id, &facts, &mut out);
            }
            Input::Fleet { id, event } => self.fleet(*id, event, &mut out),
            Input::Tick { id, at_ms } => {
                let devices: Vec<(String, Option<i64>)> = self
                    .devices
                    .iter()
                    .map(|(d, s)| (d.clone(), s.last_seen_ms))
                    .collect();
                for (device, last_seen) in devices {
                    let facts = Facts {
                        at_ms: *at_ms,
                        tick: Some((*at_ms, last_seen)),
                        ..Facts::default()
                    };
                    self.observe(&device, *id, &facts, &mut out);
                }
            }
        }
        out
    }

    /// Would-be flaps per rule: firings suppressed because the rule, its alert or its
    /// work order was still open.
    pub fn flaps(&self) -> &BTreeMap<String, u64> {
        &self.books.flaps
    }

    /// Open alerts as (device, key, rule that raised it).
    pub fn open_alerts(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.books
            .alerts
            .iter()
            .map(|((d, k), r)| (d.as_str(), k.as_str(), r.as_str()))
    }

    /// Open work orders as (device, kind, rule that opened it).
    pub fn open_work_orders(&self) -> impl Iterator<Item = (&str, WorkOrderKind, &str)> {
        self.books
            .work_orders
            .iter()
            .map(|((d, k), r)| (d.as_str(), *k, r.as_str()))
    }

    fn device(&mut self, device_id: &str) -> &mut Device {
        let n = self.rules.rules.len();
        self.devices
            .entry(device_id.to_owned())
            .or_insert_with(|| Device::new(n))
    }

    fn seen(&mut self, device_id: &str, at_ms: i64) {
        let device = self.device(device_id);
        device.last_seen_ms = Some(device.last_seen_ms.map_or(at_ms, |l| l.max(at_ms)));
    }

    fn fleet(&mut self, id: Uuid, event: &FleetEvent, out: &mut Vec<Action>) {
        let at_ms = event.occurred_at_ms;
        let (device_id, alarms) = match &event.event {
            FleetEventBody::VehicleRegistered(e) => {
                self.device(&e.device_id).vehicle_id = Some(e.vehicle_id);
                return;
            }
            FleetEventBody::AlarmRaised(e) => (&e.device_id, Alarms::Raised(e.alarm)),
            FleetEventBody::AlarmCleared(e) => (&e.device_id, Alarms::Cleared(e.alarm)),
            _ => return,
        };
        let facts = Facts {
            at_ms,
            alarms: Some(alarms),
            ..Facts::default()
        };
        self.observe(device_id, id, &facts, out);
    }

    /// Runs every rule for one device against `facts`.
    fn observe(
        &mut self,
        device_id: &str,
        caused_by: Uuid,
        facts: &Facts<'_>,
        out: &mut Vec<Action>,
    ) {
        let n = self.rules.rules.len();
        let device = self
            .devices
            .entry(device_id.to_owned())
            .or_insert_with(|| Device::new(n));
        let target = Target {
            device_id: device_id.to_owned(),
            vehicle_id: device.vehicle_id,
        };
        for (rule, state) in self.rules.rules.iter().zip(device.rules.iter_mut()) {
            let mut step = Step {
                rule,
                version: self.rules.version,
                target: &target,
                caused_by,
                at_ms: facts.at_ms,
                out: &mut *out,
            };
            let holds = facts.holds(&rule.when);
            if state.active {
                if holds == Some(true) && !state.raw {
                    self.books.flap(rule);
                }
                if facts.clears(&rule.when, rule.clears_when) == Some(true) {
                    state.active = false;
                    if rule.clears_when.is_some() {
                        self.books.close(&mut step);
                    }
                }
            } else if holds == Some(true) && !state.raw {
                state.active = true;
                self.books.fire(&mut step);
            }
            if let Some(h) = holds {
                state.raw = h;
            }
        }
    }
}

impl Books {
    fn flap(&mut self, rule: &Rule) {
        *self.flaps.entry(rule.name.clone()).or_default() += 1;
    }

    /// Takes the rule's actions; raises and opens of what is already open are suppressed.
    fn fire(&mut self, step: &mut Step<'_, '_>) {
        for kind in &step.rule.actions {
            let device = step.target.device_id.clone();
            let emit = match kind {
                ActionKind::RaiseAlert { key } => {
                    let slot = (device, key.clone());
                    let fresh = !self.alerts.contains_key(&slot);
                    if fresh {
                        self.alerts.insert(slot, step.rule.name.clone());
                    }
                    fresh
                }
                ActionKind::ClearAlert { key } => {
                    self.alerts.remove(&(device, key.clone())).is_some()
                }
                ActionKind::OpenWorkOrder { kind, .. } => {
                    let slot = (device, *kind);
                    let fresh = !self.work_orders.contains_key(&slot);
                    if fresh {
                        self.work_orders.insert(slot, step.rule.name.clone());
                    }
                    fresh
                }
                ActionKind::CloseWorkOrder { kind } => {
                    self.work_orders.remove(&(device, *kind)).is_some()
                }
                ActionKind::DeviceCommand(_) | ActionKind::Notify { .. } => true,
            };
            if emit {
                step.emit(kind.clone());
            } else if matches!(
                kind,
                ActionKind::RaiseAlert { .. } | ActionKind::OpenWorkOrder { .. }
            ) {
                self.flap(step.rule);
            }
        }
    }

    /// Clears what the rule raised and closes what it opened, if still open.
    fn close(&mut self, step: &mut Step<'_, '_>) {
        for kind in &step.rule.actions {
            let device = step.target.device_id.clone();
            let closing = match kind {
                ActionKind::RaiseAlert { key } => self
                    .alerts
                    .remove(&(device, key.clone()))
                    .map(|_| ActionKind::ClearAlert { key: key.clone() }),
                ActionKind::OpenWorkOrder { kind, .. } => self
                    .work_orders
                    .remove(&(device, *kind))
                    .map(|_| ActionKind::CloseWorkOrder { kind: *kind }),
                _ => None,
            };
            if let Some(closing) = closing {
                step.emit(closing);
            }
        }
    }
}

/// One rule's evaluation for one device: where its actions go and what they carry.
struct Step<'r, 'o> {
    rule: &'r Rule,
    version: u32,
    target: &'r Target,
    caused_by: Uuid,
    at_ms: i64,
    out: &'o mut Vec<Action>,
}

impl Step<'_, '_> {
    fn emit(&mut self, kind: ActionKind) {
        self.out.push(Action {
            rule: self.rule.name.clone(),
            rule_version: self.version,
            target: self.target.clone(),
            caused_by: self.caused_by,
            at_ms: self.at_ms,
            kind,
        });
    }
}
