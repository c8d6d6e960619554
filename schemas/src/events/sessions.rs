//! `scooter.sessions.v1`: device sessions opening and closing (`schemas/avro/sessions/`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::Protocol;
use super::ids::uuid_text;

/// Value of [`crate::topics::SESSIONS`] (`SessionEvent.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// Id of the connection, shared by its connected and disconnected events.
    #[serde(with = "uuid_text")]
    pub session_id: Uuid,
    /// Device id (IMEI, or GT06 terminal id); the record key.
    pub device_id: String,
    /// Gateway instance holding the connection.
    pub gateway_id: String,
    /// When it happened, ms since the Unix epoch.
    pub at_ms: i64,
    /// What happened.
    pub change: SessionChange,
}

/// The union of `SessionEvent.change`: one variant per branch, in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionChange {
    /// The device identified itself on a new connection.
    SessionConnected(SessionConnected),
    /// The connection ended.
    SessionDisconnected(SessionDisconnected),
}

/// A device identified itself on a new connection (`SessionConnected.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionConnected {
    /// Protocol spoken on the connection.
    pub protocol: Protocol,
    /// Peer address, `ip:port`.
    pub remote_addr: String,
}

/// Why a session ended (`DisconnectReason.avsc`); unknown symbols read as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DisconnectReason {
    /// The device closed the connection.
    PeerClosed,
    /// Nothing received for the idle timeout.
    IdleTimeout,
    /// The device broke the protocol.
    ProtocolError,
    /// A socket error.
    IoError,
    /// A newer connection of the same device replaced this one.
    Replaced,
    /// The gateway shut down.
    GatewayShutdown,
    /// Anything else, including symbols added after this build.
    #[serde(other)]
    Other,
}

/// A device connection ended (`SessionDisconnected.avsc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDisconnected {
    /// Why.
    pub reason: DisconnectReason,
    /// Human-readable detail, for support.
    pub detail: Option<String>,
    /// Frames received during the session.
    pub frames: i64,
}
