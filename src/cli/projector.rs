//! `fleetlog projector <name>`: one projection alone (`fleet`, `rides` or `lineage`), for
//! scale-out.

use std::time::Duration;

use anyhow::Context;
use fleetlog_runtime::{Settings, Shutdown, db};

/// Run projection `name` until SIGINT/SIGTERM, after creating and migrating the database.
///
/// # Errors
/// An unknown name (before anything is started), PostgreSQL unreachable at start, or the
/// projection failing for good (see `fleetlog_processor::run`).
pub(crate) async fn run(settings: Settings, name: &str) -> anyhow::Result<()> {
    if !fleetlog_projections::NAMES.contains(&name) {
        return Err(fleetlog_projections::UnknownProjection(name.to_owned()).into());
    }
    // Signals are caught from here on: a SIGTERM during the migrations is a graceful stop.
    let mut shutdown = Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms));
    db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it up? see DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 4)?;
    db::migrate(&pool).await.context("migrating the database")?;
    fleetlog_projections::spawn(&mut shutdown, &settings, pool, name)?;
    tracing::info!(projection = name, brokers = %settings.kafka.brokers, "projector running");
    shutdown.run().await
}
