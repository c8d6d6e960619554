//! Compatibility levels: per subject, and the global one (`subject IS NULL`).
//!
//! Without a global row the level is [`DEFAULT_LEVEL`]; a subject's level may be set
//! before the subject has any version, as in Confluent.

use sqlx::PgExecutor;

use super::super::compat::{DEFAULT_LEVEL, Level};
use super::Store;

impl Store {
    /// The global level.
    pub(crate) async fn global_level(&self) -> Result<Level, sqlx::Error> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT compatibility FROM registry_config WHERE subject IS NULL")
                .fetch_optional(&self.pool)
                .await?;
        Ok(stored.as_deref().map_or(DEFAULT_LEVEL, stored_level))
    }

    /// `subject`'s own level, if it has one.
    pub(crate) async fn subject_level(&self, subject: &str) -> Result<Option<Level>, sqlx::Error> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT compatibility FROM registry_config WHERE subject = $1")
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        Ok(stored.as_deref().map(stored_level))
    }

    /// The level that applies to `subject`: its own, else the global one.
    pub(crate) async fn level_for(&self, subject: &str) -> Result<Level, sqlx::Error> {
        effective_level(&self.pool, subject).await
    }

    /// Set the global level.
    pub(crate) async fn set_global_level(&self, level: Level) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO registry_config (subject, compatibility) VALUES (NULL, $1) \
             ON CONFLICT ((subject IS NULL)) WHERE subject IS NULL \
             DO UPDATE SET compatibility = EXCLUDED.compatibility, updated_at = now()",
        )
        .bind(level.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Set `subject`'s own level.
    pub(crate) async fn set_subject_level(
        &self,
        subject: &str,
        level: Level,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO registry_config (subject, compatibility) VALUES ($1, $2) \
             ON CONFLICT (subject) \
             DO UPDATE SET compatibility = EXCLUDED.compatibility, updated_at = now()",
        )
        .bind(subject)
        .bind(level.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Remove `subject`'s own level; returns it, if there was one.
    pub(crate) async fn delete_subject_level(
        &self,
        subject: &str,
    ) -> Result<Option<Level>, sqlx::Error> {
        let removed: Option<String> = sqlx::query_scalar(
            "DELETE FROM registry_config WHERE subject = $1 RETURNING compatibility",
        )
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(removed.as_deref().map(stored_level))
    }

    /// Reset the global level to the default; returns the level it had.
    pub(crate) async fn delete_global_level(&self) -> Result<Level, sqlx::Error> {
        let removed: Option<String> = sqlx::query_scalar(
            "DELETE FROM registry_config WHERE subject IS NULL RETURNING compatibility",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(removed.as_deref().map_or(DEFAULT_LEVEL, stored_level))
    }
}

/// The level that applies to `subject`: its own, else the global one, else the default.
pub(crate) async fn effective_level<'e>(
    executor: impl PgExecutor<'e>,
    subject: &str,
) -> Result<Level, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT compatibility FROM registry_config WHERE subject = $1 OR subject IS NULL \
         ORDER BY subject IS NULL LIMIT 1",
    )
    .bind(subject)
    .fetch_optional(executor)
    .await?;
    Ok(stored.as_deref().map_or(DEFAULT_LEVEL, stored_level))
}

/// A level read back from the table (its CHECK constraint admits only valid names).
fn stored_level(name: &str) -> Level {
    Level::parse(name).unwrap_or_else(|| {
        tracing::warn!(name, "unknown compatibility level in registry_config");
        DEFAULT_LEVEL
    })
}
