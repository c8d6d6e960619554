//! The registry's PostgreSQL tables (`migrations/0002_schema_registry.sql`): reads here,
//! writes in [`register`], [`delete`] and [`config`].
//!
//! * `registry_schemas`: one row per distinct schema (global id, text as first posted,
//!   the dedupe key and its SHA-256 under a unique constraint). Rows are never
//!   deleted, so an id on the log resolves forever.
//! * `registry_versions`: `(subject, version) → schema_id`, with the soft-delete flag.
//! * `registry_config`: compatibility levels; `subject IS NULL` is the global one.
//!
//! Every write to a subject runs in one transaction holding a per-subject advisory
//! lock, so version numbers and compatibility checks never race; the unique
//! constraint on the fingerprint makes concurrent first registrations of one schema
//! under different subjects converge on a single id.

pub(crate) mod config;
pub(crate) mod delete;
pub(crate) mod register;

use sqlx::{PgExecutor, PgPool};

use super::avro::ParsedSchema;
use super::types::VersionId;

/// `SELECT` of a [`VersionRow`], followed by a `WHERE …` tail.
macro_rules! select_versions {
    ($tail:literal) => {
        concat!(
            "SELECT v.subject, v.version, v.schema_id AS id, v.deleted, ",
            "s.schema_type, s.schema_text ",
            "FROM registry_versions v JOIN registry_schemas s ON s.id = v.schema_id ",
            $tail
        )
    };
}

/// The registry's tables, over a pool.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pool: PgPool,
}

/// One version of a subject with its schema.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct VersionRow {
    /// The subject.
    pub(crate) subject: String,
    /// The version within the subject.
    pub(crate) version: i32,
    /// The global schema id.
    pub(crate) id: i32,
    /// Soft-deleted.
    pub(crate) deleted: bool,
    /// `AVRO`.
    pub(crate) schema_type: String,
    /// The schema text as first registered.
    pub(crate) schema_text: String,
}

/// A schema by id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SchemaRow {
    /// `AVRO`.
    pub(crate) schema_type: String,
    /// The schema text as first registered.
    pub(crate) schema_text: String,
}

impl Store {
    /// A store over `pool` (already migrated).
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Subjects with a live version (or any version, with `include_deleted`), sorted.
    pub(crate) async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, sqlx::Error> {
        let mut subjects: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT subject FROM registry_versions WHERE $1 OR NOT deleted",
        )
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        subjects.sort();
        Ok(subjects)
    }

    /// Whether `subject` has a live version (or any version, with `include_deleted`).
    pub(crate) async fn subject_exists(
        &self,
        subject: &str,
        include_deleted: bool,
    ) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM registry_versions \
             WHERE subject = $1 AND ($2 OR NOT deleted))",
        )
        .bind(subject)
        .bind(include_deleted)
        .fetch_one(&self.pool)
        .await
    }

    /// Version numbers of `subject`, ascending.
    pub(crate) async fn versions(
        &self,
        subject: &str,
        include_deleted: bool,
    ) -> Result<Vec<i32>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT version FROM registry_versions \
             WHERE subject = $1 AND ($2 OR NOT deleted) ORDER BY version",
        )
        .bind(subject)
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await
    }

    /// One version; `latest` is the highest live version whatever `include_deleted`.
    pub(crate) async fn version(
        &self,
        subject: &str,
        version: VersionId,
        include_deleted: bool,
    ) -> Result<Option<VersionRow>, sqlx::Error> {
        let query = match version {
            VersionId::Latest => sqlx::query_as(select_versions!(
                "WHERE v.subject = $1 AND NOT v.deleted ORDER BY v.version DESC LIMIT 1"
            ))
            .bind(subject),
            VersionId::Number(number) => sqlx::query_as(select_versions!(
                "WHERE v.subject = $1 AND v.version = $2 AND ($3 OR NOT v.deleted)"
            ))
            .bind(subject)
            .bind(number)
            .bind(include_deleted),
        };
        query.fetch_optional(&self.pool).await
    }

    /// Live versions of `subject`, oldest first.
    pub(crate) async fn live_versions(
        &self,
        subject: &str,
    ) -> Result<Vec<VersionRow>, sqlx::Error> {
        Ok(history(&self.pool, subject)
            .await?
            .into_iter()
            .filter(|row| !row.deleted)
            .collect())
    }

    /// The schema with global id `id`.
    pub(crate) async fn schema(&self, id: i32) -> Result<Option<SchemaRow>, sqlx::Error> {
        sqlx::query_as("SELECT schema_type, schema_text FROM registry_schemas WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// `(subject, version)` pairs using schema `id`, by subject then version.
    pub(crate) async fn usages(
        &self,
        id: i32,
        include_deleted: bool,
    ) -> Result<Vec<(String, i32)>, sqlx::Error> {
        let mut usages: Vec<(String, i32)> = sqlx::query_as(
            "SELECT subject, version FROM registry_versions \
             WHERE schema_id = $1 AND ($2 OR NOT deleted)",
        )
        .bind(id)
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        usages.sort();
        Ok(usages)
    }

    /// The (highest) version of `subject` holding `schema`.
    pub(crate) async fn lookup(
        &self,
        subject: &str,
        schema: &ParsedSchema,
        include_deleted: bool,
    ) -> Result<Option<VersionRow>, sqlx::Error> {
        sqlx::query_as(select_versions!(
            "WHERE v.subject = $1 AND ($2 OR NOT v.deleted) AND s.schema_type = $3 \
             AND s.fingerprint = sha256(convert_to($4, 'UTF8')) AND s.canonical = $4 \
             ORDER BY v.version DESC LIMIT 1"
        ))
        .bind(subject)
        .bind(include_deleted)
        .bind(schema.schema_type)
        .bind(&schema.canonical)
        .fetch_optional(&self.pool)
        .await
    }
}

/// Every version of `subject` (deleted ones too), oldest first.
pub(crate) async fn history<'e>(
    executor: impl PgExecutor<'e>,
    subject: &str,
) -> Result<Vec<VersionRow>, sqlx::Error> {
    sqlx::query_as(select_versions!("WHERE v.subject = $1 ORDER BY v.version"))
        .bind(subject)
        .fetch_all(executor)
        .await
}

/// Namespace of the registry's advisory locks (ASCII "SREG"), so they cannot collide
/// with other users of `pg_advisory_xact_lock` in the same database.
const LOCK_NAMESPACE: i32 = 0x5352_4547;

/// Serialise writers of `subject` until the transaction ends.
pub(crate) async fn lock_subject<'e>(
    executor: impl PgExecutor<'e>,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_NAMESPACE)
        .bind(subject)
        .execute(executor)
        .await?;
    Ok(())
}
