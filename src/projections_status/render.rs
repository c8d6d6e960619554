//! The plain-text tables of `fleetlog projections status`: one line per projection
//! version, then one per partition with the process holding it.

use std::fmt::Write;

use super::ProjectionStatus;

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"))
}

/// Both tables, each line ending in a newline.
pub(crate) fn tables(statuses: &[ProjectionStatus]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>7}  {:<12} {:>12} {:>9} {:>6} {:>12} {:>14}",
        "PROJECTION",
        "VERSION",
        "STATE",
        "LAG_RECORDS",
        "LAG_S",
        "DLQ",
        "PARKED_KEYS",
        "PARKED_RECORDS"
    );
    for s in statuses {
        let _ = writeln!(
            out,
            "{:<16} {:>7}  {:<12} {:>12} {:>9} {:>6} {:>12} {:>14}",
            s.name,
            s.version
                .map_or_else(|| "-".to_owned(), |v| format!("v{v}")),
            s.state,
            opt(s.lag_records),
            seconds(s.lag_seconds),
            opt(s.dlq_records),
            s.parked_keys,
            s.parked_records,
        );
    }
    if statuses.iter().any(|s| !s.partitions.is_empty()) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:>7}  {:<40} {:>12} {:>12} {:>12} {:>9}  {:>5}  OWNER",
            "PROJECTION",
            "VERSION",
            "TOPIC/PARTITION",
            "NEXT_OFFSET",
            "HIGH",
            "LAG_RECORDS",
            "LAG_S",
            "EPOCH"
        );
        for s in statuses {
            for p in &s.partitions {
                let _ = writeln!(
                    out,
                    "{:<16} {:>7}  {:<40} {:>12} {:>12} {:>12} {:>9}  {:>5}  {}",
                    s.name,
                    s.version
                        .map_or_else(|| "-".to_owned(), |v| format!("v{v}")),
                    format!("{}/{}", p.topic, p.partition),
                    opt(p.next_offset),
                    opt(p.high_watermark),
                    opt(p.lag_records),
                    seconds(p.lag_seconds),
                    opt(p.owner_epoch),
                    p.owner.as_deref().unwrap_or("-"),
                );
            }
        }
    }
    out
}
