//! `fleetlog up` (every service in one process) and `fleetlog api`.

use std::time::Duration;

use anyhow::Context;
use fleetlog_api::ops::{self, OpsState};
use fleetlog_runtime::health::Readiness;
use fleetlog_runtime::kafka::BrokerProbe;
use fleetlog_runtime::{Settings, Shutdown, db, telemetry};
use tokio::net::TcpListener;

/// Everything in one process. Services join here as they are built.
pub(crate) async fn run(settings: Settings) -> anyhow::Result<()> {
    db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it up? see DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 16)?;
    db::migrate(&pool).await.context("migrating the database")?;
    let mut shutdown = Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms));
    spawn_api(&mut shutdown, &settings, pool).await?;
    tracing::info!(api = %settings.http.api_addr, brokers = %settings.kafka.brokers, "fleetlog up");
    shutdown.run().await
}

/// Only the HTTP API.
pub(crate) async fn run_api_only(settings: Settings) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database_url, 16)?;
    let mut shutdown = Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms));
    spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

async fn spawn_api(
    shutdown: &mut Shutdown,
    settings: &Settings,
    pool: sqlx::PgPool,
) -> anyhow::Result<()> {
    let probe = BrokerProbe::new(&settings.kafka).context("building the broker probe")?;
    let state = OpsState {
        readiness: Readiness::new(pool, probe, Duration::from_secs(2)),
        metrics: telemetry::metrics_handle(),
    };
    let listener = TcpListener::bind(&settings.http.api_addr)
        .await
        .with_context(|| format!("binding the API to {}", settings.http.api_addr))?;
    let router = ops::router(state);
    shutdown.spawn(
        "api",
        fleetlog_api::server::run(listener, router, shutdown.token()),
    );
    Ok(())
}
