//! PostgreSQL: the connection pool, database creation and migrations.
//!
//! All read models, the registry and the deciders' state live in one database; the
//! SQL for its shape is in the repository's `migrations/` folder.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Migrations embedded from `migrations/` at the repository root.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL, the server or a statement failed.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pool that connects lazily, so a service starts (and reports not-ready) while the
/// database is down.
///
/// # Errors
/// When the URL cannot be parsed.
pub fn pool(database_url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(database_url)?;
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}

/// Create the database named in `database_url` if it does not exist yet.
///
/// # Errors
/// When the server is unreachable or refuses.
pub async fn ensure_database(database_url: &str) -> Result<bool, DbError> {
    let options = PgConnectOptions::from_str(database_url)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        // Identifiers cannot be bound; quote it as PostgreSQL does.
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let created = sqlx::query(&format!("CREATE DATABASE {quoted}"))
            .execute(&mut admin)
            .await;
        if let Err(err) = created {
            // Another process may have created it in between.
            let duplicate = err
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "42P04");
            if !duplicate {
                return Err(err.into());
            }
        }
    }
    admin.close().await?;
    Ok(!exists)
}

/// Apply every pending migration.
///
/// # Errors
/// When a migration fails or the applied history differs from the embedded one.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
