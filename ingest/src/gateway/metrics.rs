//! The gateway's metrics, named in one place (`fleetlog_gateway_*`). Labels are low
//! cardinality: protocol, status, reason, outcome — never a device id.

use fleetlog_schemas::events::FrameStatus;

/// Open device connections (gauge; label `protocol`).
pub const CONNECTIONS: &str = "fleetlog_gateway_connections";
/// Connections refused at the limit or by admission (labels `protocol`, `reason`).
pub const REFUSED: &str = "fleetlog_gateway_connections_refused_total";
/// Closed connections (labels `protocol`, `reason`).
pub const DISCONNECTS: &str = "fleetlog_gateway_disconnects_total";
/// Frames received (labels `protocol`, `status`).
pub const FRAMES: &str = "fleetlog_gateway_frames_total";
/// Bytes received (label `protocol`).
pub const BYTES: &str = "fleetlog_gateway_bytes_total";
/// Frame read → broker ack → device ACK written, in seconds (label `protocol`).
pub const ACK_LATENCY: &str = "fleetlog_gateway_ack_latency_seconds";
/// Appends the broker did not acknowledge (label `protocol`).
pub const APPEND_ERRORS: &str = "fleetlog_gateway_append_errors_total";
/// Downlink command outcomes (label `outcome`).
pub const DOWNLINK_OUTCOMES: &str = "fleetlog_gateway_downlink_outcomes_total";
/// Final downlink outcomes appended again by the sweep's relay: recorded, but not reported
/// within a few seconds (label `outcome`).
pub const DOWNLINK_OUTCOMES_RELAYED: &str = "fleetlog_gateway_downlink_outcomes_relayed_total";

/// Register descriptions with the recorder (call once per process).
pub fn describe() {
    metrics::describe_gauge!(CONNECTIONS, "Open device connections");
    metrics::describe_counter!(REFUSED, "Device connections refused");
    metrics::describe_counter!(DISCONNECTS, "Device connections closed, by reason");
    metrics::describe_counter!(FRAMES, "Device frames received, by status");
    metrics::describe_counter!(BYTES, "Bytes received from devices");
    metrics::describe_histogram!(
        ACK_LATENCY,
        metrics::Unit::Seconds,
        "Time from reading a frame to writing its ACK (after the broker acked the append)"
    );
    metrics::describe_counter!(
        APPEND_ERRORS,
        "Frame appends the broker did not acknowledge"
    );
    metrics::describe_counter!(DOWNLINK_OUTCOMES, "Downlink command outcomes");
    metrics::describe_counter!(
        DOWNLINK_OUTCOMES_RELAYED,
        "Final downlink outcomes recorded but not reported, appended again by the sweep"
    );
}

/// Handles of the per-frame metrics of one protocol, resolved once per process: a
/// labelled `counter!` looks its key up in the recorder's registry on every call.
pub(crate) struct FrameMetrics {
    /// [`BYTES`].
    pub(crate) bytes: metrics::Counter,
    /// [`FRAMES`], one per stored status.
    frames: [metrics::Counter; 4],
    /// [`ACK_LATENCY`].
    pub(crate) ack_latency: metrics::Histogram,
}

impl FrameMetrics {
    /// The handles for `protocol` (label value).
    pub(crate) fn new(protocol: &'static str) -> Self {
        let frames = |status: &'static str| metrics::counter!(FRAMES, "protocol" => protocol, "status" => status);
        Self {
            bytes: metrics::counter!(BYTES, "protocol" => protocol),
            frames: [
                frames("ok"),
                frames("bad_checksum"),
                frames("oversize"),
                frames("unknown_device"),
            ],
            ack_latency: metrics::histogram!(ACK_LATENCY, "protocol" => protocol),
        }
    }

    /// [`FRAMES`] for frames stored with `status`.
    pub(crate) fn frames(&self, status: FrameStatus) -> &metrics::Counter {
        let index = match status {
            FrameStatus::Ok => 0,
            FrameStatus::BadChecksum => 1,
            FrameStatus::Oversize => 2,
            FrameStatus::UnknownDevice => 3,
        };
        &self.frames[index]
    }
}
