//! Why a device connection ended.

use fleetlog_schemas::events::DisconnectReason;

/// The reason a connection task ended; logged, counted and put on `scooter.sessions.v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// The device closed the connection.
    PeerClosed,
    /// No login within the handshake timeout.
    HandshakeTimeout,
    /// Nothing received within the idle timeout.
    IdleTimeout,
    /// The device broke its protocol (garbage, data before login, id change).
    Protocol(String),
    /// A frame larger than the maximum.
    Oversize(String),
    /// More frames per second than allowed.
    RateLimited,
    /// Unknown device under the `reject` policy.
    Rejected,
    /// The device did not read what we wrote in time.
    SlowClient,
    /// A socket error.
    Io(String),
    /// The broker did not acknowledge an append; the device will re-send after reconnecting.
    AppendFailed(String),
    /// A newer connection of the same device took over.
    Replaced,
    /// The gateway is shutting down.
    Shutdown,
}

impl Close {
    /// Low-cardinality label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::PeerClosed => "peer_closed",
            Self::HandshakeTimeout => "handshake_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::Protocol(_) => "protocol_error",
            Self::Oversize(_) => "oversize",
            Self::RateLimited => "rate_limited",
            Self::Rejected => "rejected",
            Self::SlowClient => "slow_client",
            Self::Io(_) => "io_error",
            Self::AppendFailed(_) => "append_failed",
            Self::Replaced => "replaced",
            Self::Shutdown => "shutdown",
        }
    }

    /// The reason as stored in a `SessionDisconnected` event.
    pub fn reason(&self) -> DisconnectReason {
        match self {
            Self::PeerClosed => DisconnectReason::PeerClosed,
            Self::HandshakeTimeout | Self::IdleTimeout => DisconnectReason::IdleTimeout,
            Self::Protocol(_) | Self::Oversize(_) | Self::RateLimited | Self::Rejected => {
                DisconnectReason::ProtocolError
            }
            Self::SlowClient | Self::Io(_) => DisconnectReason::IoError,
            Self::Replaced => DisconnectReason::Replaced,
            Self::Shutdown => DisconnectReason::GatewayShutdown,
            Self::AppendFailed(_) => DisconnectReason::Other,
        }
    }

    /// Detail text for support, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Protocol(d) | Self::Oversize(d) | Self::Io(d) | Self::AppendFailed(d) => {
                Some(d.clone())
            }
            _ => None,
        }
    }
}
