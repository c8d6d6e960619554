//! The live streams' metrics, named in one place (`fleetlog_api_stream*`).

/// Streams open now (gauge).
pub const STREAMS_OPEN: &str = "fleetlog_api_streams_open";
/// Kafka consumers reading for streams now: the shared reader and any catch-up readers
/// (gauge).
pub const READERS: &str = "fleetlog_api_stream_readers";
/// Streams refused at a cap (label `cap`: `user` or `process`).
pub const REFUSED: &str = "fleetlog_api_streams_refused_total";

/// Register descriptions with the recorder (harmless more than once).
pub fn describe() {
    metrics::describe_gauge!(STREAMS_OPEN, "Open live streams (GET /v1/stream)");
    metrics::describe_gauge!(
        READERS,
        "Kafka consumers reading fleet events for live streams (the shared reader and catch-ups)"
    );
    metrics::describe_counter!(REFUSED, "Live streams refused at a cap, by cap");
}
