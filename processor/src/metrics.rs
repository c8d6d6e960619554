//! The projection runtime's metrics, named in one place (`fleetlog_projection_*`).
//! Labels are low cardinality: `projection`, and `topic` + `partition` for lag.

/// Records between the stored next offset and the high watermark (gauge; labels
/// `projection`, `topic`, `partition`).
pub const LAG_RECORDS: &str = "fleetlog_projection_lag_records";
/// Now minus the timestamp of the last applied record, 0 when caught up (gauge; labels
/// `projection`, `topic`, `partition`).
pub const LAG_SECONDS: &str = "fleetlog_projection_lag_seconds";
/// Records applied to a read model (counter; label `projection`).
pub const RECORDS_APPLIED: &str = "fleetlog_projection_records_applied_total";
/// Time to process and commit one batch (histogram, seconds; label `projection`).
pub const BATCH_SECONDS: &str = "fleetlog_projection_batch_seconds";
/// Poison records sent to a dead-letter topic (counter; label `projection`).
pub const DLQ: &str = "fleetlog_projection_dlq_total";
/// Keys currently parked behind a poison record (gauge; label `projection`).
pub const PARKED_KEYS: &str = "fleetlog_projection_parked_keys";

/// Register descriptions with the recorder (idempotent; called when a runtime starts).
pub fn describe() {
    metrics::describe_gauge!(LAG_RECORDS, "Records not yet applied, per partition");
    metrics::describe_gauge!(
        LAG_SECONDS,
        metrics::Unit::Seconds,
        "Age of the last applied record while behind, per partition"
    );
    metrics::describe_counter!(RECORDS_APPLIED, "Records applied to read models");
    metrics::describe_histogram!(
        BATCH_SECONDS,
        metrics::Unit::Seconds,
        "Time to apply and commit one batch"
    );
    metrics::describe_counter!(DLQ, "Poison records sent to dead-letter topics");
    metrics::describe_gauge!(PARKED_KEYS, "Keys parked behind a poison record");
}
