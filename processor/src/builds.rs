//! Builds of a projection for `fleetlog projections rebuild|reset|verify`: find or
//! register the build in progress, switch a finished build live in one transaction, and
//! drop builds (schema and bookkeeping) whose keep time has passed.
//!
//! Every change here runs under the projection's advisory lock, like a projector's
//! start-up, so builds are never created, switched or dropped concurrently.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::PgPool;

use super::error::RuntimeError;
use super::schema::{lock_projection, schema_name, version_i32, version_u32};

/// What a build is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A rebuild meant to be switched live.
    Serve,
    /// A scratch build compared with the live one, then dropped; never live.
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Serve => "serve",
            Self::Verify => "verify",
        }
    }
}

/// A build found or registered by [`begin_build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build {
    /// Its version (schema `proj_<name>_v<version>`).
    pub version: u32,
    /// Whether it was already in progress (a rebuild that was stopped or killed).
    pub resumed: bool,
}

/// The build of `purpose` in progress for projection `name`, or a new one (state
/// `rebuilding`, numbered one past every existing build, with shape `shape`).
///
/// # Errors
/// When the database fails or `name` is invalid.
pub async fn begin_build(
    pool: &PgPool,
    name: &str,
    purpose: Purpose,
    shape: u32,
) -> Result<Build, RuntimeError> {
    schema_name(name, 1)?;
    let mut tx = pool.begin().await?;
    lock_projection(&mut tx, name).await?;
    let (version, resumed): (i32, bool) = sqlx::query_as(include_str!("../sql/begin_build.sql"))
        .bind(name)
        .bind(purpose.as_str())
        .bind(version_i32(shape))
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Build {
        version: version_u32(version),
        resumed,
    })
}

/// Make build `version` (a `rebuilding` build for serving) live and retire the live one,
/// to be dropped after `keep`, in one transaction. Returns the retired version, if one was
/// live. A projector writing the retired version stops at its next batch and follows.
///
/// # Errors
/// [`RuntimeError::Retired`] when `version` is not a build in progress for serving.
pub async fn switch(
    pool: &PgPool,
    name: &str,
    version: u32,
    keep: Duration,
) -> Result<Option<u32>, RuntimeError> {
    let mut tx = pool.begin().await?;
    lock_projection(&mut tx, name).await?;
    let target: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM projection_versions WHERE projection = $1 AND version = $2 \
         AND state = 'rebuilding' AND purpose = 'serve' FOR UPDATE",
    )
    .bind(name)
    .bind(version_i32(version))
    .fetch_optional(&mut *tx)
    .await?;
    if target.is_none() {
        return Err(RuntimeError::Retired {
            projection: name.to_owned(),
            version,
        });
    }
    let retired: Option<i32> = sqlx::query_scalar(
        "UPDATE projection_versions SET state = 'retired', retired_at = now(), \
         drop_after = now() + make_interval(secs => $2) \
         WHERE projection = $1 AND state = 'live' RETURNING version",
    )
    .bind(name)
    .bind(keep.as_secs_f64())
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE projection_versions SET state = 'live', switched_at = now() \
         WHERE projection = $1 AND version = $2",
    )
    .bind(name)
    .bind(version_i32(version))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(retired.map(version_u32))
}

/// Drop build `version` of `name`: its schema and its offsets, lag and parked rows.
///
/// # Errors
/// When the database fails or `name` is invalid.
pub async fn drop_build(pool: &PgPool, name: &str, version: u32) -> Result<(), RuntimeError> {
    let schema = schema_name(name, version)?;
    let mut tx = pool.begin().await?;
    lock_projection(&mut tx, name).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(include_str!("../sql/drop_version.sql"))
        .bind(name)
        .bind(version_i32(version))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%schema, "build dropped");
    Ok(())
}

/// Drop every retired build of `name` whose keep time has passed; returns their versions.
///
/// # Errors
/// When the database fails or `name` is invalid.
pub async fn drop_expired(pool: &PgPool, name: &str) -> Result<Vec<u32>, RuntimeError> {
    let due: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM projection_versions WHERE projection = $1 \
         AND state = 'retired' AND drop_after IS NOT NULL AND drop_after <= now() \
         ORDER BY version",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    let due: Vec<u32> = due.into_iter().map(version_u32).collect();
    for &version in &due {
        drop_build(pool, name, version).await?;
    }
    Ok(due)
}

/// Every build of `name`, whatever its state, as `(version, state, purpose)`.
///
/// # Errors
/// When the database fails.
pub async fn builds(pool: &PgPool, name: &str) -> Result<Vec<(u32, String, String)>, RuntimeError> {
    let rows: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT version, state, purpose FROM projection_versions WHERE projection = $1 \
         ORDER BY version",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(v, s, p)| (version_u32(v), s, p))
        .collect())
}

/// The live build of `name`, if any.
///
/// # Errors
/// When the database fails.
pub async fn live_version(pool: &PgPool, name: &str) -> Result<Option<u32>, RuntimeError> {
    let version: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM projection_versions WHERE projection = $1 AND state = 'live'",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(version.map(version_u32))
}

/// The stored next offset of every partition build `version` of `name` has consumed.
///
/// # Errors
/// When the database fails.
pub async fn stored_offsets(
    pool: &PgPool,
    name: &str,
    version: u32,
) -> Result<HashMap<(String, i32), i64>, RuntimeError> {
    super::offsets::load(pool, name, version).await
}

/// Where the bulk load of build `version` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkState {
    /// No bulk load (a build from before bulk loads, or one that started incrementally).
    None,
    /// Loading up to these offsets.
    Loading(HashMap<(String, i32), i64>),
    /// Finished: the incremental path goes on.
    Done,
}

/// The bulk load of build `version` of `name`.
///
/// # Errors
/// When the database fails.
pub async fn bulk_state(
    pool: &PgPool,
    name: &str,
    version: u32,
) -> Result<BulkState, RuntimeError> {
    let row: Option<(Option<String>, bool)> = sqlx::query_as(
        "SELECT bulk_end::text, bulk_done_at IS NOT NULL FROM projection_versions \
         WHERE projection = $1 AND version = $2",
    )
    .bind(name)
    .bind(version_i32(version))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((_, true)) => BulkState::Done,
        Some((Some(end), false)) => {
            let list: Vec<(String, i32, i64)> = serde_json::from_str(&end).unwrap_or_default();
            BulkState::Loading(list.into_iter().map(|(t, p, o)| ((t, p), o)).collect())
        }
        _ => BulkState::None,
    })
}

/// Start the bulk load of build `version` of `name` up to `end`, unless it has one.
/// Returns the bulk load's state afterwards.
///
/// # Errors
/// When the database fails.
pub async fn start_bulk(
    pool: &PgPool,
    name: &str,
    version: u32,
    end: &HashMap<(String, i32), i64>,
) -> Result<BulkState, RuntimeError> {
    let mut list: Vec<(&str, i32, i64)> =
        end.iter().map(|((t, p), o)| (t.as_str(), *p, *o)).collect();
    list.sort_unstable();
    let json = serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned());
    sqlx::query(
        "UPDATE projection_versions SET bulk_end = $3::jsonb \
         WHERE projection = $1 AND version = $2 AND bulk_end IS NULL",
    )
    .bind(name)
    .bind(version_i32(version))
    .bind(json)
    .execute(pool)
    .await?;
    bulk_state(pool, name, version).await
}

/// Lock the row of build `version` of `name` in `tx` until it ends: the projector
/// writing that build waits before its next batch (its reads keep answering), so its
/// offsets and read model hold still — what `verify` compares against.
///
/// # Errors
/// [`RuntimeError::Retired`] when the build does not exist.
pub async fn hold_build(
    tx: &mut sqlx::PgConnection,
    name: &str,
    version: u32,
) -> Result<(), RuntimeError> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM projection_versions WHERE projection = $1 AND version = $2 \
         FOR UPDATE",
    )
    .bind(name)
    .bind(version_i32(version))
    .fetch_optional(tx)
    .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(RuntimeError::Retired {
            projection: name.to_owned(),
            version,
        }),
    }
}
