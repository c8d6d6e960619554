//! Registering a schema under a subject: one transaction under the subject's lock.

use sqlx::{PgConnection, PgExecutor};

use super::super::avro::ParsedSchema;
use super::super::compat::Level;
use super::super::error::RegistryError;
use super::{Store, VersionRow, config, history, lock_subject};

impl Store {
    /// Register `schema` under `subject` and return its global id.
    ///
    /// An identical schema keeps its id across subjects; if it is already a live
    /// version of `subject` nothing changes. Otherwise `check` sees the effective level
    /// and the live versions (oldest first) and may refuse; then a new version (one
    /// above the highest ever used) is added, and older soft-deleted versions holding
    /// the same id are dropped, as Confluent does.
    ///
    /// # Errors
    /// Whatever `check` returns, or [`RegistryError::Store`].
    pub(crate) async fn register<F>(
        &self,
        subject: &str,
        schema: &ParsedSchema,
        check: F,
    ) -> Result<i32, RegistryError>
    where
        F: FnOnce(Level, &[VersionRow]) -> Result<(), RegistryError>,
    {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut *tx, subject).await?;
        let known_id = schema_id(&mut *tx, schema).await?;
        let history = history(&mut *tx, subject).await?;
        if let Some(id) = known_id
            && history.iter().any(|row| row.id == id && !row.deleted)
        {
            return Ok(id);
        }
        let live: Vec<VersionRow> = history.iter().filter(|row| !row.deleted).cloned().collect();
        let level = config::effective_level(&mut *tx, subject).await?;
        check(level, &live)?;
        let id = match known_id {
            Some(id) => id,
            None => insert_schema(&mut tx, schema).await?,
        };
        let version = history
            .iter()
            .map(|row| row.version)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        insert_version(&mut tx, subject, version, id).await?;
        tx.commit().await?;
        tracing::info!(subject, id, version, "schema registered");
        Ok(id)
    }
}

/// The id of an already stored identical schema.
async fn schema_id<'e>(
    executor: impl PgExecutor<'e>,
    schema: &ParsedSchema,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM registry_schemas WHERE schema_type = $1 \
         AND fingerprint = sha256(convert_to($2, 'UTF8')) AND canonical = $2",
    )
    .bind(schema.schema_type)
    .bind(&schema.canonical)
    .fetch_optional(executor)
    .await
}

/// Store a new schema; if a concurrent transaction stored it first, use its id.
async fn insert_schema(tx: &mut PgConnection, schema: &ParsedSchema) -> Result<i32, sqlx::Error> {
    let inserted: Option<i32> = sqlx::query_scalar(
        "INSERT INTO registry_schemas (schema_type, canonical, fingerprint, schema_text) \
         VALUES ($1, $2, sha256(convert_to($2, 'UTF8')), $3) \
         ON CONFLICT (schema_type, fingerprint) DO NOTHING RETURNING id",
    )
    .bind(schema.schema_type)
    .bind(&schema.canonical)
    .bind(&schema.text)
    .fetch_optional(&mut *tx)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        // The conflicting row is committed by now (ON CONFLICT waited for it), and
        // this new statement's snapshot sees it.
        None => schema_id(&mut *tx, schema)
            .await?
            .ok_or(sqlx::Error::RowNotFound),
    }
}

/// Add `subject`/`version` → `id` and drop older soft-deleted versions of that id.
async fn insert_version(
    tx: &mut PgConnection,
    subject: &str,
    version: i32,
    id: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO registry_versions (subject, version, schema_id) VALUES ($1, $2, $3)")
        .bind(subject)
        .bind(version)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM registry_versions \
         WHERE subject = $1 AND schema_id = $2 AND deleted AND version < $3",
    )
    .bind(subject)
    .bind(id)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
