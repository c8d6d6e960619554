//! The two ends of a bulk load (see `RuntimeConfig::bulk`), each in its own transaction:
//! `begin_bulk` on every start of the load (idempotent), and `finish_bulk` with the
//! build's `bulk_done_at` once the end offsets are reached — so a load killed at any
//! point resumes, and is finished exactly once.

use sqlx::PgPool;

use super::error::RuntimeError;
use super::projection::Projection;
use super::schema::version_i32;

/// Run the projection's `begin_bulk` on `schema`.
pub(crate) async fn begin<P: Projection>(
    pool: &PgPool,
    projection: &P,
    schema: &str,
) -> Result<(), RuntimeError> {
    let mut tx = pool.begin().await?;
    projection
        .begin_bulk(&mut tx, schema)
        .await
        .map_err(|e| RuntimeError::projection(projection.name(), e))?;
    tx.commit().await?;
    Ok(())
}

/// Run the projection's `finish_bulk` on `schema` and mark the build's bulk load done.
pub(crate) async fn finish<P: Projection>(
    pool: &PgPool,
    projection: &P,
    version: u32,
    schema: &str,
) -> Result<(), RuntimeError> {
    let mut tx = pool.begin().await?;
    projection
        .finish_bulk(&mut tx, schema)
        .await
        .map_err(|e| RuntimeError::projection(projection.name(), e))?;
    sqlx::query(
        "UPDATE projection_versions SET bulk_done_at = now() \
         WHERE projection = $1 AND version = $2",
    )
    .bind(projection.name())
    .bind(version_i32(version))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%schema, "bulk load finished");
    Ok(())
}
