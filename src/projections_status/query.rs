//! What PostgreSQL knows about each projection: its versions (`projection_versions`), the
//! stored offsets (`projection_offsets`), the process holding each partition
//! (`projection_claims`), the last lag refresh of a running projector (`projection_lag`)
//! and the parked keys and records (`projection_parked*`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One stored partition of a projection version.
#[derive(Debug, Clone)]
pub(crate) struct StoredPartition {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// Next offset to read: the stored one, or where the lag refresh says it starts.
    pub(crate) next_offset: Option<i64>,
    /// High watermark at the last lag refresh.
    pub(crate) refreshed_high: Option<i64>,
    /// Broker timestamp of the last applied record.
    pub(crate) last_record_at: Option<DateTime<Utc>>,
    /// When the offset last moved.
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// The process that claimed the partition last, and its owner epoch.
    pub(crate) owner: Option<(String, i64)>,
}

/// One version of a projection as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredVersion {
    pub(crate) name: String,
    pub(crate) version: i32,
    pub(crate) state: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) partitions: Vec<StoredPartition>,
    pub(crate) parked_keys: i64,
    pub(crate) parked_records: i64,
}

type VersionRow = (String, i32, String, DateTime<Utc>);
type PartitionRow = (
    String,
    i32,
    String,
    i32,
    Option<i64>,
    Option<i64>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<i64>,
);

/// Every projection version with its partitions and parked counts, by name and version.
///
/// # Errors
/// When the database cannot be read (or is not migrated).
pub(crate) async fn load(pool: &PgPool) -> Result<Vec<StoredVersion>, sqlx::Error> {
    let versions: Vec<VersionRow> = sqlx::query_as(
        "SELECT projection, version, state, created_at FROM projection_versions \
         ORDER BY projection, version",
    )
    .fetch_all(pool)
    .await?;
    let partitions: Vec<PartitionRow> = sqlx::query_as(
        "SELECT projection, version, topic, partition, \
                COALESCE(o.next_offset, l.next_offset), l.high_watermark, \
                COALESCE(o.last_record_at, l.last_record_at), o.updated_at, c.owner, c.epoch \
         FROM projection_offsets o \
         FULL JOIN projection_lag l USING (projection, version, topic, partition) \
         FULL JOIN projection_claims c USING (projection, version, topic, partition) \
         ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(pool)
    .await?;
    let parked: Vec<(String, i32, i64)> =
        sqlx::query_as("SELECT projection, version, count(*) FROM projection_parked GROUP BY 1, 2")
            .fetch_all(pool)
            .await?;
    let parked_records: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT projection, version, count(*) FROM projection_parked_records GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await?;

    let mut by_key: BTreeMap<(String, i32), StoredVersion> = versions
        .into_iter()
        .map(|(name, version, state, created_at)| {
            let stored = StoredVersion {
                name: name.clone(),
                version,
                state,
                created_at,
                partitions: Vec::new(),
                parked_keys: 0,
                parked_records: 0,
            };
            ((name, version), stored)
        })
        .collect();
    for (name, version, topic, partition, next, high, last, updated, owner, epoch) in partitions {
        if let Some(v) = by_key.get_mut(&(name, version)) {
            v.partitions.push(StoredPartition {
                topic,
                partition,
                next_offset: next,
                refreshed_high: high,
                last_record_at: last,
                updated_at: updated,
                owner: owner.zip(epoch),
            });
        }
    }
    for (name, version, count) in parked {
        if let Some(v) = by_key.get_mut(&(name, version)) {
            v.parked_keys = count;
        }
    }
    for (name, version, count) in parked_records {
        if let Some(v) = by_key.get_mut(&(name, version)) {
            v.parked_records = count;
        }
    }
    Ok(by_key.into_values().collect())
}
