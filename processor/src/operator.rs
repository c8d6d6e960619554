//! What an operator does with a parked key: list, [`release`] (re-apply the parked
//! records in log order, after the projection was fixed) or [`skip`] (drop them). Both
//! lock the parked key, so they are safe while the projector runs: a batch that holds the
//! key waits, or is waited for.

use sqlx::{PgConnection, PgPool};

use super::error::RuntimeError;
use super::projection::{Projection, SourceRecord};
use super::schema::{schema_name, version_i32};

/// Which parked records [`release`] re-applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseMode {
    /// The poison record too, first (the projection was fixed to handle it).
    RetryPoison,
    /// Only the records queued behind it; the poison record is dropped (it stays in the
    /// dead-letter topic).
    DropPoison,
}

/// What [`release`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Records re-applied.
    pub applied: usize,
    /// Records dropped (the poison record in [`ReleaseMode::DropPoison`]).
    pub dropped: usize,
}

/// A parked key, for status output.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParkedKey {
    /// Topic.
    pub topic: String,
    /// Record key.
    pub key: Vec<u8>,
    /// Partition of the poison record.
    pub poison_partition: i32,
    /// Offset of the poison record.
    pub poison_offset: i64,
    /// Why the poison record failed.
    pub error: String,
    /// Records waiting (the poison one included).
    pub waiting: i64,
}

/// The parked keys of projection `name` version `version`.
///
/// # Errors
/// When the database fails.
#[tracing::instrument(skip(pool))]
pub async fn parked(
    pool: &PgPool,
    name: &str,
    version: u32,
) -> Result<Vec<ParkedKey>, RuntimeError> {
    Ok(sqlx::query_as(
        "SELECT p.topic, p.key, p.poison_partition, p.poison_offset, p.error, \
         (SELECT count(*) FROM projection_parked_records r WHERE r.projection = p.projection \
          AND r.version = p.version AND r.topic = p.topic AND r.key = p.key) AS waiting \
         FROM projection_parked p WHERE p.projection = $1 AND p.version = $2 \
         ORDER BY p.parked_at",
    )
    .bind(name)
    .bind(version_i32(version))
    .fetch_all(pool)
    .await?)
}

/// Re-apply the records parked behind `key` on `topic` with `projection` (in log order,
/// in one transaction) into its live build, then unpark the key: its next records flow
/// again.
///
/// # Errors
/// [`RuntimeError::NotParked`]; [`RuntimeError::Projection`] when `apply` still fails (the
/// key stays parked, nothing changes); database errors.
#[tracing::instrument(skip(pool, projection, key), fields(projection = projection.name()))]
pub async fn release<P: Projection>(
    pool: &PgPool,
    projection: &P,
    topic: &str,
    key: &[u8],
    mode: ReleaseMode,
) -> Result<Released, RuntimeError> {
    let name = projection.name();
    let version = super::builds::live_version(pool, name)
        .await?
        .unwrap_or_else(|| projection.version());
    let schema = schema_name(name, version)?;
    let mut tx = pool.begin().await?;
    lock_key(&mut tx, name, version, topic, key).await?;
    let records = parked_records(&mut tx, name, version, topic, key).await?;
    let total = records.len();
    let to_apply: Vec<SourceRecord> = records
        .into_iter()
        .filter(|(_, poison)| mode == ReleaseMode::RetryPoison || !poison)
        .map(|(record, _)| record)
        .collect();
    if !to_apply.is_empty() {
        projection
            .apply(&mut tx, &schema, &to_apply)
            .await
            .map_err(|e| RuntimeError::projection(name, e))?;
    }
    unpark(&mut tx, name, version, topic, key).await?;
    tx.commit().await?;
    tracing::info!(applied = to_apply.len(), "parked key released");
    Ok(Released {
        applied: to_apply.len(),
        dropped: total - to_apply.len(),
    })
}

/// Drop every record parked behind `key` on `topic` and unpark the key. Returns how many
/// records were dropped (they stay in the log; the poison one in the dead-letter topic).
///
/// # Errors
/// [`RuntimeError::NotParked`]; database errors.
#[tracing::instrument(skip(pool, key))]
pub async fn skip(
    pool: &PgPool,
    name: &str,
    version: u32,
    topic: &str,
    key: &[u8],
) -> Result<u64, RuntimeError> {
    let mut tx = pool.begin().await?;
    lock_key(&mut tx, name, version, topic, key).await?;
    let dropped = unpark(&mut tx, name, version, topic, key).await?;
    tx.commit().await?;
    tracing::info!(dropped, "parked key skipped");
    Ok(dropped)
}

async fn lock_key(
    tx: &mut PgConnection,
    name: &str,
    version: u32,
    topic: &str,
    key: &[u8],
) -> Result<(), RuntimeError> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM projection_parked \
         WHERE projection = $1 AND version = $2 AND topic = $3 AND key = $4 FOR UPDATE",
    )
    .bind(name)
    .bind(version_i32(version))
    .bind(topic)
    .bind(key)
    .fetch_optional(tx)
    .await?;
    found.map(|_| ()).ok_or_else(|| RuntimeError::NotParked {
        projection: name.to_owned(),
        topic: topic.to_owned(),
    })
}

type ParkedRow = (i32, i64, Option<Vec<u8>>, String, Option<i64>, bool);

async fn parked_records(
    tx: &mut PgConnection,
    name: &str,
    version: u32,
    topic: &str,
    key: &[u8],
) -> Result<Vec<(SourceRecord, bool)>, RuntimeError> {
    let rows: Vec<ParkedRow> = sqlx::query_as(include_str!("../sql/parked_records.sql"))
        .bind(name)
        .bind(version_i32(version))
        .bind(topic)
        .bind(key)
        .fetch_all(tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(partition, offset, payload, headers, timestamp_ms, poison)| {
                let record = SourceRecord {
                    topic: topic.to_owned(),
                    partition,
                    offset,
                    key: Some(key.to_vec()),
                    payload,
                    headers: super::parking::headers_from_json(&headers),
                    timestamp_ms,
                };
                (record, poison)
            },
        )
        .collect())
}

/// Delete the parked records and the parked key; returns the number of records.
async fn unpark(
    tx: &mut PgConnection,
    name: &str,
    version: u32,
    topic: &str,
    key: &[u8],
) -> Result<u64, RuntimeError> {
    let records = sqlx::query(
        "DELETE FROM projection_parked_records \
         WHERE projection = $1 AND version = $2 AND topic = $3 AND key = $4",
    )
    .bind(name)
    .bind(version_i32(version))
    .bind(topic)
    .bind(key)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM projection_parked \
         WHERE projection = $1 AND version = $2 AND topic = $3 AND key = $4",
    )
    .bind(name)
    .bind(version_i32(version))
    .bind(topic)
    .bind(key)
    .execute(tx)
    .await?;
    Ok(records)
}
