//! `fleetlog migrate`: create the database if needed and apply migrations.

use anyhow::Context;
use fleetlog_runtime::{Settings, db};

/// Create the database named by `DATABASE_URL` if missing, then migrate it.
pub(crate) async fn run(settings: &Settings) -> anyhow::Result<()> {
    let created = db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it running? see DATABASE_URL)")?;
    if created {
        println!("created database");
    }
    let pool = db::pool(&settings.database_url, 2)?;
    db::migrate(&pool).await.context("applying migrations")?;
    println!("migrations applied ({} known)", db::MIGRATOR.iter().count());
    Ok(())
}
