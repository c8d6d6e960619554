//! Building and spawning each service; `up` composes them, the per-service subcommands
//! spawn one each (plus the operational endpoints).

use fleetlog_registry::access::WriteAccess;
use fleetlog_runtime::redact::redact_url;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fleetlog_api::ops::OpsState;
use fleetlog_runtime::health::Readiness;
use fleetlog_runtime::kafka::BrokerProbe;
use fleetlog_runtime::producer::Producer;
use fleetlog_runtime::{Settings, Shutdown, db, telemetry};
use fleetlog_schemas::wire::WireCodec;
use tokio::net::TcpListener;

/// A migrated pool, creating the database first if needed.
pub(crate) async fn database(settings: &Settings) -> anyhow::Result<sqlx::PgPool> {
    db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it up? see DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 16)?;
    db::migrate(&pool).await.context("migrating the database")?;
    Ok(pool)
}

/// The HTTP API with `/healthz`, `/readyz`, `/metrics` on `http.api_addr`.
pub(crate) async fn spawn_api(
    shutdown: &mut Shutdown,
    settings: &Settings,
    pool: sqlx::PgPool,
) -> anyhow::Result<()> {
    // Its own pool: requests never queue behind projection transactions (the readiness
    // probe keeps the shared one, which the rest of the process depends on).
    let api_pool = db::pool(
        &settings.database_url,
        settings.http.api_db_connections.max(1),
    )?;
    let probe = BrokerProbe::new(&settings.kafka).context("building the broker probe")?;
    let ops = OpsState {
        readiness: Readiness::new(pool.clone(), probe, Duration::from_secs(2)),
        metrics: telemetry::metrics_handle(),
    };
    let commands =
        fleetlog_api::commands::CommandLog::new(&settings.kafka, &settings.schema_registry_url)
            .context("building the command producer")?;
    let gbfs = fleetlog_api::gbfs::GbfsConfig::new(&settings.gbfs, &settings.commands)
        .context("setting up GBFS (see FLEETLOG_GBFS__*)")?;
    let mds = fleetlog_api::mds::MdsConfig::new(&settings.mds, settings.gbfs.max_speed_kmh)
        .context("setting up MDS (see FLEETLOG_MDS__*)")?;
    let console = fleetlog_api::console::ConsoleConfig::new(&settings.console)
        .context("setting up the console (see FLEETLOG_CONSOLE__*)")?;
    let state = fleetlog_api::ApiState::new(api_pool, ops, settings.auth.clone(), commands)
        .context("setting up authentication (see FLEETLOG_AUTH__*)")?
        .with_gbfs(gbfs)
        .with_mds(mds)
        .with_console(console)
        .with_streams(&settings.api, &shutdown.token());
    let listener = bind(&settings.http.api_addr, "API").await?;
    shutdown.spawn(
        "api",
        fleetlog_api::server::run(listener, fleetlog_api::router(state), shutdown.token()),
    );
    Ok(())
}

/// The schema registry on `http.registry_addr`; once it answers, every topic's schema is
/// registered through `SCHEMA_REGISTRY_URL` (idempotent), so a fresh stack has every subject.
pub(crate) async fn spawn_registry(
    shutdown: &mut Shutdown,
    settings: &Settings,
    pool: sqlx::PgPool,
) -> anyhow::Result<()> {
    let listener = bind(&settings.http.registry_addr, "schema registry").await?;
    tracing::info!(addr = %settings.http.registry_addr, "schema registry listening");
    let access = WriteAccess::from_settings(&settings.registry);
    shutdown.spawn(
        "registry",
        fleetlog_registry::serve(listener, pool, access.clone(), shutdown.token()),
    );
    register_schemas(&access.authorise_url(&settings.schema_registry_url)).await
}

/// `SCHEMA_REGISTRY_URL` carrying the configured registry admin credential (registering is
/// a write), unless the URL has user info of its own or no password is configured.
pub(crate) fn registry_write_url(settings: &Settings) -> String {
    match &settings.registry.admin_password {
        Some(_) => WriteAccess::from_settings(&settings.registry)
            .authorise_url(&settings.schema_registry_url),
        None => settings.schema_registry_url.clone(),
    }
}

/// Register every topic's value schema, retrying for a few seconds while the registry
/// starts.
pub(crate) async fn register_schemas(registry_url: &str) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match fleetlog_schemas::registration::register_all(registry_url).await {
            Ok(subjects) => {
                tracing::info!(
                    subjects = subjects.len(),
                    registry = %redact_url(registry_url),
                    "schemas registered"
                );
                return Ok(());
            }
            Err(err) if attempt < 20 => {
                attempt += 1;
                tracing::debug!(error = %err, attempt, "registry not ready yet");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("registering schemas at {}", redact_url(registry_url))
                });
            }
        }
    }
}

/// The scooter gateway: device listeners and downlink delivery.
pub(crate) async fn spawn_gateway(
    shutdown: &mut Shutdown,
    settings: &Settings,
) -> anyhow::Result<()> {
    let listeners = fleetlog_ingest::gateway::Listeners::bind(&settings.gateway).await?;
    let producer =
        Producer::from_settings(&settings.kafka, "gateway").context("building the producer")?;
    let codec = Arc::new(WireCodec::new(&settings.schema_registry_url));
    let settings = settings.clone();
    let token = shutdown.token();
    shutdown.spawn("gateway", async move {
        fleetlog_ingest::gateway::run(&settings, listeners, producer, codec, token).await
    });
    Ok(())
}

/// The decoder: `scooter.frames.v1` → `scooter.telemetry.v1`.
pub(crate) fn spawn_decoder(shutdown: &mut Shutdown, settings: &Settings) {
    let settings = settings.clone();
    let token = shutdown.token();
    shutdown.spawn("decoder", async move {
        fleetlog_ingest::decoder::run(&settings, token).await
    });
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} to {addr}"))
}
