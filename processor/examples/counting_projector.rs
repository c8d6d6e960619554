//! Runs the projection runtime with the counting test projection — the process the
//! kill -9 test starts, kills and restarts.
//!
//! Usage: `counting_projector <topic> [<partition>,<partition>…]`; settings come from the
//! environment (`DATABASE_URL`, `KAFKA_BROKERS`, `FLEETLOG_PROJECTIONS__*`).

use std::time::Duration;

use anyhow::Context as _;
use fleetlog_processor::testing::CountingProjection;
use fleetlog_processor::{ProjectionRuntime, RuntimeConfig};
use fleetlog_runtime::{Settings, Shutdown, db, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    telemetry::init_logs(&settings.log);
    let mut args = std::env::args().skip(1);
    let topic = args
        .next()
        .context("usage: counting_projector <topic> [<partition>,…]")?;
    let mut config = RuntimeConfig::from_settings(&settings);
    if let Some(list) = args.next() {
        let partitions = list
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<i32>, _>>()
            .context("partitions: a comma-separated list of numbers")?;
        config = config.with_partitions(partitions);
    }
    let pool = db::pool(&settings.database_url, 4)?;
    db::migrate(&pool).await.context("migrations")?;
    let mut shutdown = Shutdown::new(Duration::from_millis(settings.shutdown_grace_ms));
    let token = shutdown.token();
    let runtime = ProjectionRuntime::new(CountingProjection::new(&topic), config, pool);
    shutdown.spawn("projector", async move { Ok(runtime.run(token).await?) });
    shutdown.run().await
}
