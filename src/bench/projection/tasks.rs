//! The tasks of this process that run through every phase, the decoder and the fleet
//! projection, each with the token that stops it.

use std::time::Duration;

use anyhow::Context;
use fleetlog_projections::fleet::FleetProjection;
use fleetlog_runtime::Settings;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A task of this process with the token that stops it.
pub(super) struct Task {
    token: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Task {
    /// Cancel and wait (at most 30 s) for a clean stop.
    pub(super) async fn stop(self, name: &str) -> anyhow::Result<()> {
        self.token.cancel();
        match tokio::time::timeout(Duration::from_secs(30), self.handle).await {
            Ok(joined) => joined.with_context(|| format!("{name} panicked"))?,
            Err(_) => anyhow::bail!("{name} did not stop within 30 s"),
        }
    }
}

pub(super) fn spawn_decoder(settings: &Settings) -> Task {
    let token = CancellationToken::new();
    let (settings, stop) = (settings.clone(), token.clone());
    let handle = tokio::spawn(async move { fleetlog_ingest::decoder::run(&settings, stop).await });
    Task { token, handle }
}

pub(super) fn spawn_projection(settings: &Settings, pool: &PgPool) -> Task {
    let token = CancellationToken::new();
    let projection = FleetProjection::new(&settings.schema_registry_url);
    let (settings, pool, stop) = (settings.clone(), pool.clone(), token.clone());
    let handle =
        tokio::spawn(
            async move { fleetlog_processor::run(projection, &settings, pool, stop).await },
        );
    Task { token, handle }
}
