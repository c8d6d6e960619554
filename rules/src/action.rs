//! What rules do: the actions a rule file declares and the engine emits.

use serde::Deserialize;
use uuid::Uuid;

/// Kind of field task a work order asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderKind {
    /// Swap or charge the battery.
    BatterySwap,
    /// Go and look (a silent module, an alarm).
    Investigate,
    /// Repair (fallen over, lock failure).
    Repair,
    /// Scheduled maintenance.
    Maintenance,
    /// Move the vehicle to where riders are.
    Rebalance,
}

/// How urgent a work order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// When convenient.
    Low,
    /// In the normal course of a shift.
    Normal,
    /// Before other work.
    High,
    /// Now.
    Urgent,
}

/// A command for the vehicle's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceCommand {
    /// Lock the vehicle.
    Lock,
    /// Limit the speed, in km/h.
    SpeedLimit {
        /// The limit, 1..=100 km/h.
        kmh: u8,
    },
}

/// One thing a rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Open an alert for the target, unless one with this key is open already.
    RaiseAlert {
        /// The alert's key, e.g. `low_battery`.
        key: String,
    },
    /// Close the target's open alert with this key.
    ClearAlert {
        /// The alert's key.
        key: String,
    },
    /// Open a work order for the target, unless one of this kind is open already.
    OpenWorkOrder {
        /// The task.
        kind: WorkOrderKind,
        /// Its urgency.
        priority: Priority,
    },
    /// Close the target's open work order of this kind.
    CloseWorkOrder {
        /// The task.
        kind: WorkOrderKind,
    },
    /// Send a command to the target's device.
    DeviceCommand(DeviceCommand),
    /// Tell a notification channel.
    Notify {
        /// The channel's name.
        channel: String,
    },
}

/// The device (and, once known, vehicle) an action is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// Device id (IMEI, or GT06 terminal id).
    pub device_id: String,
    /// The vehicle, when a `VehicleRegistered` event named the device.
    pub vehicle_id: Option<Uuid>,
}

/// An action the engine took, with what it needs to be traced back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    /// Name of the rule that took it.
    pub rule: String,
    /// Version of the rule set the rule belongs to.
    pub rule_version: u32,
    /// Who it is about.
    pub target: Target,
    /// Id of the input event that triggered it (its causation id on the log).
    pub caused_by: Uuid,
    /// Time of the triggering input, ms since the Unix epoch.
    pub at_ms: i64,
    /// What to do.
    pub kind: ActionKind,
}
