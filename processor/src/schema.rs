//! Versioned read models: each projection version writes into its own PostgreSQL schema
//! `proj_<name>_v<N>`, registered in `projection_versions`; readers find the live one
//! with [`live_schema`] (or the SQL function `projection_live_schema(name)`). Version
//! numbers are builds; the shape a build has is the code's `Projection::version()`.

use sqlx::PgPool;

use super::error::RuntimeError;
use super::projection::Projection;

/// `proj_<name>_v<version>`, after checking that `name` is `^[a-z][a-z0-9_]*$`, so the
/// result can be written into SQL as an identifier.
///
/// # Errors
/// [`RuntimeError::InvalidName`] for any other name.
pub fn schema_name(name: &str, version: u32) -> Result<String, RuntimeError> {
    if !is_identifier(name) {
        return Err(RuntimeError::InvalidName(name.to_owned()));
    }
    Ok(format!("proj_{name}_v{version}"))
}

/// `^[a-z][a-z0-9_]*$`, and short enough for a PostgreSQL identifier with the
/// `proj_` prefix and a version suffix.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    first_ok
        && name.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Run the (multi-statement) `sql` with `{schema}` replaced by `schema` — a projection's
/// `migrate` in one call.
///
/// # Errors
/// A transient [`super::ProjectionError`] when the name is invalid or the SQL fails.
pub async fn execute_in_schema(
    tx: &mut sqlx::PgConnection,
    sql: &str,
    schema: &str,
) -> Result<(), super::ProjectionError> {
    let sql = qualify(sql, schema).map_err(super::ProjectionError::transient)?;
    sqlx::Executor::execute(tx, sqlx::raw_sql(&sql)).await?;
    Ok(())
}

/// `sql` with every `{schema}` replaced by `schema`, after checking `schema` is a plain
/// identifier.
///
/// # Errors
/// [`RuntimeError::InvalidName`] when `schema` is not a plain identifier.
pub fn qualify(sql: &str, schema: &str) -> Result<String, RuntimeError> {
    if !is_identifier(schema) {
        return Err(RuntimeError::InvalidName(schema.to_owned()));
    }
    Ok(sql.replace("{schema}", schema))
}

/// The schema readers of projection `name` should read from, if a version is live.
///
/// # Errors
/// When the database fails or `name` is not a valid projection name.
#[tracing::instrument(skip(pool))]
pub async fn live_schema(pool: &PgPool, name: &str) -> Result<Option<String>, RuntimeError> {
    let version: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM projection_versions WHERE projection = $1 AND state = 'live'",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    version
        .map(|v| schema_name(name, u32::try_from(v).unwrap_or_default()))
        .transpose()
}

/// Resolve the build version to write (`requested`, or the live one — registering the
/// code's shape as live when none is), check it is not retired and has the code's shape,
/// create its schema and run the projection's `migrate`, all in one transaction
/// serialised per projection by an advisory lock. Returns the schema and the version.
#[tracing::instrument(skip_all, fields(projection = projection.name(), shape = projection.version()))]
pub(crate) async fn prepare<P: Projection>(
    pool: &PgPool,
    projection: &P,
    requested: Option<u32>,
) -> Result<(String, u32), RuntimeError> {
    let name = projection.name();
    let code = projection.version();
    let mut tx = pool.begin().await?;
    lock_projection(&mut tx, name).await?;
    let (version, shape) = match requested {
        None => {
            let row: Option<(i32, i32)> =
                sqlx::query_as(include_str!("../sql/serving_version.sql"))
                    .bind(name)
                    .bind(version_i32(code))
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((v, s)) = row else {
                return Err(RuntimeError::NoLiveBuild(name.to_owned()));
            };
            (version_u32(v), version_u32(s))
        }
        Some(version) => {
            let row: Option<(String, i32)> = sqlx::query_as(
                "SELECT state, COALESCE(shape, version) FROM projection_versions \
                 WHERE projection = $1 AND version = $2",
            )
            .bind(name)
            .bind(version_i32(version))
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some((state, shape)) if state != "retired" => (version, version_u32(shape)),
                _ => {
                    return Err(RuntimeError::Retired {
                        projection: name.to_owned(),
                        version,
                    });
                }
            }
        }
    };
    if shape != code {
        return Err(RuntimeError::ShapeMismatch {
            projection: name.to_owned(),
            version,
            shape,
            code,
        });
    }
    let schema = schema_name(name, version)?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut *tx)
        .await?;
    projection
        .migrate(&mut tx, &schema)
        .await
        .map_err(|e| RuntimeError::projection(name, e))?;
    tx.commit().await?;
    tracing::info!(%schema, version, "projection schema ready");
    Ok((schema, version))
}

/// Serialise version changes of projection `name` (creation, switch, drop) until the end
/// of the transaction.
pub(crate) async fn lock_projection(
    tx: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('fleetlog-projection:' || $1))")
        .bind(name)
        .execute(tx)
        .await?;
    Ok(())
}

/// A stored version number (always positive) as `u32`.
pub(crate) fn version_u32(version: i32) -> u32 {
    u32::try_from(version).unwrap_or_default()
}

/// Versions are stored as `integer`; anything above `i32::MAX` is clamped.
pub(crate) fn version_i32(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

/// This deployment's id (`fleetlog_meta.deployment_id`, migration `0012`): the first 8
/// hex digits of a random UUID, carried by the consumer groups so that deployments sharing
/// one Kafka cluster never share a group.
///
/// # Errors
/// When the database cannot be read or is not migrated.
pub async fn deployment_id(pool: &PgPool) -> Result<String, RuntimeError> {
    let id: String =
        sqlx::query_scalar("SELECT value FROM fleetlog_meta WHERE key = 'deployment_id'")
            .fetch_one(pool)
            .await?;
    Ok(id.chars().filter(char::is_ascii_hexdigit).take(8).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_name_makes_a_versioned_schema_name() {
        assert_eq!(schema_name("fleet", 3).unwrap(), "proj_fleet_v3");
        assert_eq!(schema_name("rides_2", 1).unwrap(), "proj_rides_2_v1");
    }

    #[test]
    fn names_that_are_not_plain_identifiers_are_refused() {
        for bad in ["", "Fleet", "1fleet", "fleet-x", "fleet; drop table x", "ä"] {
            assert!(schema_name(bad, 1).is_err(), "{bad:?}");
        }
        assert!(qualify("SELECT 1 FROM {schema}.t", "x\"y").is_err());
        assert_eq!(qualify("{schema}.t", "proj_a_v1").unwrap(), "proj_a_v1.t");
    }
}
