//! Operations rules for fleetlog, without I/O: the rule file format, its validation and a
//! deterministic engine.
//!
//! Operators write rules in TOML ([`parse`]): conditions over `scooter.telemetry.v1`,
//! `scooter.sessions.v1`, `fleet.events.v1` and time (battery below a threshold, silent for a
//! duration, entering a zone in a time-of-day window, an alarm), and actions (raise or clear
//! an alert, open or close a work order, a device command, a notification). A bad file is
//! rejected with a [`RuleFileError`] naming the line.
//!
//! The [`Engine`] folds [`Input`]s (records of those topics and clock ticks, each with its
//! event id) into per-device state and returns the [`Action`]s they cause, each naming its
//! rule, the rule set's version, its target and the event that caused it. It reads no wall
//! clock and draws no random numbers: the same inputs give the same actions, which is what
//! lets a rule be replayed over history before it goes live.
//!
//! Not here yet (see `docs/rules.md`): the processor that feeds the engine from Kafka, the
//! topic the actions are written to, the work-order read model and API, notification
//! delivery and `fleetlog rules test`.

mod action;
mod engine;
mod error;
mod file;
mod model;
mod parse;
mod window;

pub use action::{Action, ActionKind, DeviceCommand, Priority, Target, WorkOrderKind};
pub use engine::{Engine, Input};
pub use error::RuleFileError;
pub use model::{Clear, Condition, Rule, RuleSet, Zone};
pub use parse::{TOP_LEVEL_KEYS, parse};
pub use window::TimeWindow;
