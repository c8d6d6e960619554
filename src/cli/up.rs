//! `fleetlog up` (every service in one process) and the single-service subcommands.

use std::time::Duration;

use fleetlog_runtime::{Settings, Shutdown};

use super::services;

fn supervisor(settings: &Settings) -> Shutdown {
    Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms))
}

/// Everything in one process. Services join here as they are built.
pub(crate) async fn run(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = services::database(&settings).await?;
    services::spawn_registry(&mut shutdown, &settings, pool.clone()).await?;
    services::spawn_gateway(&mut shutdown, &settings).await?;
    services::spawn_decoder(&mut shutdown, &settings);
    fleetlog_commands::processor::spawn(&mut shutdown, &settings, pool.clone())?;
    fleetlog_projections::spawn_all(&mut shutdown, &settings, pool.clone());
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    tracing::info!(api = %settings.http.api_addr, brokers = %settings.kafka.brokers, "fleetlog up");
    shutdown.run().await
}

/// Only the HTTP API.
pub(crate) async fn run_api(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = services::database(&settings).await?;
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

/// Only the schema registry (plus `/healthz`, `/readyz`, `/metrics` on the API address).
pub(crate) async fn run_registry(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = services::database(&settings).await?;
    services::spawn_registry(&mut shutdown, &settings, pool.clone()).await?;
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

/// Only the gateway (plus `/healthz`, `/readyz`, `/metrics` on the API address).
pub(crate) async fn run_gateway(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = fleetlog_runtime::db::pool(&settings.database_url, 2)?;
    services::register_schemas(&services::registry_write_url(&settings)).await?;
    services::spawn_gateway(&mut shutdown, &settings).await?;
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

/// Only the decoder (plus `/healthz`, `/readyz`, `/metrics` on the API address).
pub(crate) async fn run_decoder(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = fleetlog_runtime::db::pool(&settings.database_url, 2)?;
    services::register_schemas(&services::registry_write_url(&settings)).await?;
    services::spawn_decoder(&mut shutdown, &settings);
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

/// Only the commands processor (plus `/healthz`, `/readyz`, `/metrics` on the API
/// address).
pub(crate) async fn run_commands(settings: Settings) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let pool = services::database(&settings).await?;
    services::register_schemas(&services::registry_write_url(&settings)).await?;
    fleetlog_commands::processor::spawn(&mut shutdown, &settings, pool.clone())?;
    services::spawn_api(&mut shutdown, &settings, pool).await?;
    shutdown.run().await
}

/// A simulated fleet until Ctrl-C or `--duration`; prints its statistics at the end.
pub(crate) async fn run_simulator(
    settings: Settings,
    args: fleetlog_ingest::simulator::SimulateArgs,
) -> anyhow::Result<()> {
    let mut shutdown = supervisor(&settings);
    let token = shutdown.token();
    shutdown.spawn("simulator", async move {
        let stats = fleetlog_ingest::simulator::run(args, token).await?;
        println!("{stats}");
        Ok(())
    });
    shutdown.run().await
}
