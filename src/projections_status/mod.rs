//! `fleetlog projections status`: every projection version with its offsets, lag in
//! records and seconds, dead-lettered and parked records, and its state — `live`,
//! `rebuilding`, `retired`, or `stalled` (behind, and its offsets have not moved for
//! `--stall-after` seconds), or `not started` for a known projection that never ran.
//!
//! Offsets, versions and parked keys come from PostgreSQL; high watermarks and
//! dead-letter counts from the broker, asked now (when it does not answer, the last lag
//! refresh of a running projector stands in and the DLQ count is unknown).

mod broker;
mod query;
mod render;

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use fleetlog_runtime::{Settings, db};
use serde::Serialize;

/// Options of `fleetlog projections status`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StatusArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// A version that is behind and whose offsets have not moved for this many seconds is
    /// `stalled`.
    #[arg(long, default_value_t = 60)]
    stall_after: u64,
}

/// One partition of a projection version.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PartitionStatus {
    topic: String,
    partition: i32,
    next_offset: Option<i64>,
    high_watermark: Option<i64>,
    lag_records: Option<i64>,
    lag_seconds: Option<f64>,
    last_record_at: Option<DateTime<Utc>>,
    /// The process that claimed the partition last (`<client id>-<instance id> pid <pid>`).
    owner: Option<String>,
    /// Its owner epoch: one more with each claim.
    owner_epoch: Option<i64>,
}

/// One projection version.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProjectionStatus {
    name: String,
    version: Option<i32>,
    state: String,
    lag_records: Option<i64>,
    lag_seconds: Option<f64>,
    dlq_records: Option<u64>,
    parked_keys: i64,
    parked_records: i64,
    last_progress_at: Option<DateTime<Utc>>,
    partitions: Vec<PartitionStatus>,
}

/// Print the status; exit code 0.
///
/// # Errors
/// PostgreSQL unreachable or not migrated.
pub(crate) async fn run(settings: Settings, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let pool = db::pool(&settings.database_url, 2)?;
    let stored = query::load(&pool)
        .await
        .context("reading the projection tables (DATABASE_URL; run `fleetlog migrate`?)")?;
    let wanted: BTreeSet<(String, i32)> = stored
        .iter()
        .flat_map(|v| v.partitions.iter().map(|p| (p.topic.clone(), p.partition)))
        .collect();
    let broker_settings = settings.clone();
    let view = tokio::task::spawn_blocking(move || broker::read(&broker_settings, &wanted))
        .await
        .context("the broker task")?;
    let view = view.unwrap_or_else(|err| {
        eprintln!(
            "note: the broker did not answer ({err:#}); lag is from the last refresh, DLQ counts unknown"
        );
        broker::BrokerView::default()
    });
    let now = Utc::now();
    let mut statuses: Vec<ProjectionStatus> = stored
        .iter()
        .map(|v| status(v, &view, now, args.stall_after))
        .collect();
    for name in fleetlog_projections::NAMES {
        if !statuses.iter().any(|s| s.name == name) {
            statuses.push(ProjectionStatus {
                name: name.to_owned(),
                version: None,
                state: "not started".into(),
                lag_records: None,
                lag_seconds: None,
                dlq_records: None,
                parked_keys: 0,
                parked_records: 0,
                last_progress_at: None,
                partitions: Vec::new(),
            });
        }
    }
    statuses.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
    if args.json {
        let body = serde_json::json!({ "projections": statuses });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", render::tables(&statuses));
    }
    Ok(ExitCode::SUCCESS)
}

fn status(
    v: &query::StoredVersion,
    view: &broker::BrokerView,
    now: DateTime<Utc>,
    stall_after: u64,
) -> ProjectionStatus {
    let partitions: Vec<PartitionStatus> = v
        .partitions
        .iter()
        .map(|p| {
            let high = view
                .high
                .get(&(p.topic.clone(), p.partition))
                .copied()
                .or(p.refreshed_high);
            let lag = match (high, p.next_offset) {
                (Some(h), Some(n)) => Some((h - n).max(0)),
                (Some(h), None) => Some(h),
                _ => None,
            };
            let lag_seconds = match lag {
                Some(0) => Some(0.0),
                Some(_) => p
                    .last_record_at
                    .map(|t| ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0)),
                None => None,
            };
            PartitionStatus {
                topic: p.topic.clone(),
                partition: p.partition,
                next_offset: p.next_offset,
                high_watermark: high,
                lag_records: lag,
                lag_seconds,
                last_record_at: p.last_record_at,
                owner: p.owner.as_ref().map(|o| o.0.clone()),
                owner_epoch: p.owner.as_ref().map(|o| o.1),
            }
        })
        .collect();
    let lag_records = partitions
        .iter()
        .map(|p| p.lag_records)
        .sum::<Option<i64>>();
    let lag_seconds = partitions
        .iter()
        .filter_map(|p| p.lag_seconds)
        .reduce(f64::max);
    let last_progress_at = v
        .partitions
        .iter()
        .filter_map(|p| p.updated_at)
        .max()
        .or(Some(v.created_at));
    let idle = last_progress_at.map_or(0, |t| (now - t).num_seconds().max(0) as u64);
    let behind = lag_records.is_some_and(|l| l > 0);
    let state = if v.state != "retired" && behind && idle >= stall_after {
        "stalled".to_owned()
    } else {
        v.state.clone()
    };
    let topics: BTreeSet<&String> = v
        .partitions
        .iter()
        .map(|p| &p.topic)
        .filter(|t| !t.ends_with(".dlq.v1"))
        .collect();
    let dlq_records = topics
        .iter()
        .all(|t| view.dlq_read.contains(*t))
        .then(|| view.dlq.get(&v.name).copied().unwrap_or(0));
    ProjectionStatus {
        name: v.name.clone(),
        version: Some(v.version),
        state,
        lag_records,
        lag_seconds,
        dlq_records,
        parked_keys: v.parked_keys,
        parked_records: v.parked_records,
        last_progress_at,
        partitions,
    }
}
