//! The scooter gateway's settings (`FLEETLOG_GATEWAY__*`): listeners, limits, admission.
//! Part of [`crate::settings::Settings`], re-exported there.

use serde::{Deserialize, Serialize};

/// What the gateway does with a device id it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionPolicy {
    /// Refuse the login (Teltonika gets 0x00) and close the connection.
    Reject,
    /// Accept it, but mark its frames `unknown_device`: stored, never decoded, so they
    /// change no fleet state.
    Quarantine,
    /// Admit it like a known device (its frames are decoded), as Traccar's
    /// `database.registerUnknown` does: for trials and development, never for devices on a
    /// network others can reach.
    Open,
}

/// The scooter gateway: listeners, limits, admission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// This gateway instance's id (in `ce_source` and session events).
    pub gateway_id: String,
    /// Teltonika listener.
    pub teltonika_addr: String,
    /// Omni listener.
    pub omni_addr: String,
    /// GT06 listener.
    pub gt06_addr: String,
    /// Open connections across all listeners; more are refused.
    pub max_connections: usize,
    /// Open connections from one source address; more are refused (0: no limit). Raise it
    /// when devices reach the gateway through NAT (e.g. a carrier-grade NAT'd APN).
    pub max_connections_per_address: usize,
    /// Time a new connection has to identify itself, in milliseconds.
    pub handshake_timeout_ms: u64,
    /// A connection silent for this long is closed, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Largest frame accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Frames per second one connection may send before it is cut off.
    pub max_frames_per_sec: u32,
    /// Appends one connection may have waiting for the broker before reading pauses.
    pub max_inflight_per_connection: usize,
    /// Unknown device ids: `reject` or `quarantine`.
    pub admission: AdmissionPolicy,
    /// A login with the id of a device already connected from **another** address is
    /// refused (and counted as `device_online`) unless that connection has sent no complete
    /// frame for this long, in milliseconds; from the same address it always replaces it.
    pub takeover_silence_ms: u64,
    /// Device ids known before the vehicle registry exists (comma separated).
    pub known_devices: String,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            gateway_id: "gw-1".into(),
            teltonika_addr: "0.0.0.0:5027".into(),
            omni_addr: "0.0.0.0:5028".into(),
            gt06_addr: "0.0.0.0:5023".into(),
            max_connections: 18_000,
            max_connections_per_address: 1000,
            handshake_timeout_ms: 10_000,
            idle_timeout_ms: 600_000,
            max_frame_bytes: 4096,
            max_frames_per_sec: 50,
            max_inflight_per_connection: 32,
            admission: AdmissionPolicy::Quarantine,
            takeover_silence_ms: 60_000,
            known_devices: String::new(),
        }
    }
}
