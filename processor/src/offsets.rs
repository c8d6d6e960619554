//! The offsets that count: `projection_offsets`, read on start to seek, moved forward in
//! the same transaction as the read-model change.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};

use super::error::RuntimeError;
use super::projection::SourceRecord;
use super::schema::version_i32;

/// A topic partition.
pub(crate) type TopicPartition = (String, i32);

/// The next offset per partition, as stored (absent: nothing consumed yet).
pub(crate) type StoredOffsets = HashMap<TopicPartition, i64>;

/// How far one batch moves one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Advance {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// Last offset of the batch in this partition, plus one.
    pub(crate) next_offset: i64,
    /// Newest record timestamp of the batch in this partition.
    pub(crate) last_timestamp_ms: Option<i64>,
}

/// The stored next offsets of `projection` version `version`.
#[tracing::instrument(skip(pool))]
pub(crate) async fn load(
    pool: &PgPool,
    projection: &str,
    version: u32,
) -> Result<StoredOffsets, RuntimeError> {
    let rows: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT topic, partition, next_offset FROM projection_offsets \
         WHERE projection = $1 AND version = $2",
    )
    .bind(projection)
    .bind(version_i32(version))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(t, p, o)| ((t, p), o)).collect())
}

/// Per partition of `batch`: the offset after its last record and its newest timestamp.
pub(crate) fn advances(batch: &[SourceRecord]) -> Vec<Advance> {
    let mut by_partition: HashMap<(&str, i32), Advance> = HashMap::new();
    for record in batch {
        let entry = by_partition
            .entry((record.topic.as_str(), record.partition))
            .or_insert_with(|| Advance {
                topic: record.topic.clone(),
                partition: record.partition,
                next_offset: 0,
                last_timestamp_ms: None,
            });
        entry.next_offset = entry.next_offset.max(record.offset + 1);
        entry.last_timestamp_ms = entry.last_timestamp_ms.max(record.timestamp_ms);
    }
    let mut list: Vec<Advance> = by_partition.into_values().collect();
    list.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    list
}

/// Store `advances` inside the batch transaction, moving each partition only from the
/// offset in `stored` (what this process read or wrote last).
///
/// # Errors
/// [`RuntimeError::OffsetConflict`] when another process moved a partition meanwhile.
pub(crate) async fn save(
    tx: &mut PgConnection,
    projection: &str,
    version: u32,
    advances: &[Advance],
    stored: &StoredOffsets,
) -> Result<(), RuntimeError> {
    let topics: Vec<&str> = advances.iter().map(|a| a.topic.as_str()).collect();
    let partitions: Vec<i32> = advances.iter().map(|a| a.partition).collect();
    let next: Vec<i64> = advances.iter().map(|a| a.next_offset).collect();
    let timestamps: Vec<Option<i64>> = advances.iter().map(|a| a.last_timestamp_ms).collect();
    let expected: Vec<Option<i64>> = advances
        .iter()
        .map(|a| stored.get(&(a.topic.clone(), a.partition)).copied())
        .collect();
    let moved: i64 = sqlx::query_scalar(include_str!("../sql/save_offsets.sql"))
        .bind(projection)
        .bind(version_i32(version))
        .bind(&topics)
        .bind(&partitions)
        .bind(&next)
        .bind(&timestamps)
        .bind(&expected)
        .fetch_one(tx)
        .await?;
    if usize::try_from(moved).ok() != Some(advances.len()) {
        return Err(RuntimeError::OffsetConflict {
            projection: projection.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64, ts: Option<i64>) -> SourceRecord {
        SourceRecord {
            topic: "t".into(),
            partition,
            offset,
            key: None,
            payload: None,
            headers: vec![],
            timestamp_ms: ts,
        }
    }

    #[test]
    fn a_batch_advances_each_partition_past_its_last_record() {
        let batch = [
            record(1, 7, Some(10)),
            record(0, 3, None),
            record(1, 8, Some(5)),
            record(0, 4, Some(2)),
        ];
        let got = advances(&batch);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (
                got[0].partition,
                got[0].next_offset,
                got[0].last_timestamp_ms
            ),
            (0, 5, Some(2))
        );
        assert_eq!(
            (
                got[1].partition,
                got[1].next_offset,
                got[1].last_timestamp_ms
            ),
            (1, 9, Some(10))
        );
    }
}
