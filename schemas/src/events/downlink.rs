//! `scooter.downlink.v1` and `scooter.replies.v1`: commands to devices and what became of
//! them (`schemas/avro/downlink/`, `schemas/avro/replies/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ids::{uuid_text, uuid_text_opt};

/// What a command asks a device to do (`DownlinkKind.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DownlinkKind {
    /// Unlock.
    Unlock,
    /// Lock.
    Lock,
    /// Report a fresh position.
    Locate,
    /// A protocol-specific command in `params`.
    Custom,
}

/// A command for a device (`DownlinkCommand.avsc`); value of [`crate::topics::DOWNLINK`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkCommand {
    /// Id of the command; replies carry it.
    #[serde(with = "uuid_text")]
    pub command_id: Uuid,
    /// Device to deliver to; the record key.
    pub device_id: String,
    /// Vehicle the device is registered to, if any.
    #[serde(with = "uuid_text_opt")]
    pub vehicle_id: Option<Uuid>,
    /// What to do.
    pub kind: DownlinkKind,
    /// Protocol-specific parameter text.
    pub params: Option<String>,
    /// Not delivered after this, ms since the Unix epoch.
    pub expires_at_ms: i64,
}

/// What became of a downlink command (`ReplyOutcome.avsc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplyOutcome {
    /// Written to the device's socket.
    Delivered,
    /// The device answered.
    Answered,
    /// Expired before delivery or answer.
    TimedOut,
    /// No session to deliver it on.
    Undeliverable,
    /// The device refused it.
    Rejected,
}

/// A delivery outcome or device answer (`DeviceReply.avsc`); value of [`crate::topics::REPLIES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceReply {
    /// The [`DownlinkCommand`] this is about.
    #[serde(with = "uuid_text")]
    pub command_id: Uuid,
    /// Device id; the record key.
    pub device_id: String,
    /// What happened.
    pub outcome: ReplyOutcome,
    /// The device's answer, for `Answered` and `Rejected`.
    pub reply_text: Option<String>,
    /// When the gateway observed it, ms since the Unix epoch.
    pub at_ms: i64,
}
