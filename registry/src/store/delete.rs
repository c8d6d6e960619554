//! Soft and permanent deletes of subjects and versions, Confluent's two-step way.
//!
//! A soft delete hides versions (the schema ids keep resolving); a permanent delete
//! removes version rows that were soft-deleted first. Schemas themselves are never
//! removed. When a subject loses its last live version its own compatibility level is
//! dropped, as Confluent does.

use sqlx::PgConnection;

use super::super::error::RegistryError;
use super::super::types::VersionId;
use super::{Store, VersionRow, history, lock_subject};

impl Store {
    /// Delete every version of `subject`; returns the version numbers deleted.
    ///
    /// # Errors
    /// 40401 unknown subject, 40404 soft delete of a soft-deleted subject, 40405
    /// permanent delete of live versions, or a store error.
    pub(crate) async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut *tx, subject).await?;
        let history = history(&mut *tx, subject).await?;
        if history.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_owned()));
        }
        let live: Vec<i32> = history
            .iter()
            .filter(|row| !row.deleted)
            .map(|row| row.version)
            .collect();
        let deleted = if permanent {
            if !live.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_owned()));
            }
            sqlx::query("DELETE FROM registry_versions WHERE subject = $1")
                .bind(subject)
                .execute(&mut *tx)
                .await?;
            history.iter().map(|row| row.version).collect()
        } else {
            if live.is_empty() {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_owned()));
            }
            sqlx::query("UPDATE registry_versions SET deleted = true WHERE subject = $1")
                .bind(subject)
                .execute(&mut *tx)
                .await?;
            drop_subject_level(&mut tx, subject).await?;
            live
        };
        tx.commit().await?;
        tracing::info!(subject, permanent, versions = ?deleted, "subject deleted");
        Ok(deleted)
    }

    /// Delete one version of `subject`; returns its number.
    ///
    /// # Errors
    /// 40401 unknown subject, 40402 unknown version, 40406 soft delete of a
    /// soft-deleted version, 40407 permanent delete of a live version, or a store error.
    pub(crate) async fn delete_version(
        &self,
        subject: &str,
        version: VersionId,
        permanent: bool,
    ) -> Result<i32, RegistryError> {
        let mut tx = self.pool.begin().await?;
        lock_subject(&mut *tx, subject).await?;
        let history = history(&mut *tx, subject).await?;
        let row = target(&history, subject, version)?;
        let number = row.version;
        match (row.deleted, permanent) {
            (true, false) => {
                return Err(RegistryError::VersionSoftDeleted(
                    subject.to_owned(),
                    number.to_string(),
                ));
            }
            (false, true) => {
                return Err(RegistryError::VersionNotSoftDeleted(
                    subject.to_owned(),
                    number.to_string(),
                ));
            }
            (true, true) => {
                sqlx::query("DELETE FROM registry_versions WHERE subject = $1 AND version = $2")
                    .bind(subject)
                    .bind(number)
                    .execute(&mut *tx)
                    .await?;
            }
            (false, false) => {
                sqlx::query(
                    "UPDATE registry_versions SET deleted = true \
                     WHERE subject = $1 AND version = $2",
                )
                .bind(subject)
                .bind(number)
                .execute(&mut *tx)
                .await?;
                if !history.iter().any(|r| !r.deleted && r.version != number) {
                    drop_subject_level(&mut tx, subject).await?;
                }
            }
        }
        tx.commit().await?;
        tracing::info!(subject, version = number, permanent, "version deleted");
        Ok(number)
    }
}

/// The version a delete addresses: `latest` is the highest live one.
fn target<'a>(
    history: &'a [VersionRow],
    subject: &str,
    version: VersionId,
) -> Result<&'a VersionRow, RegistryError> {
    let found = match version {
        VersionId::Latest => history.iter().rev().find(|row| !row.deleted),
        VersionId::Number(number) => history.iter().find(|row| row.version == number),
    };
    match found {
        Some(row) => Ok(row),
        None if history.is_empty() => Err(RegistryError::SubjectNotFound(subject.to_owned())),
        None => Err(RegistryError::VersionNotFound(version.reported())),
    }
}

async fn drop_subject_level(tx: &mut PgConnection, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM registry_config WHERE subject = $1")
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
