//! The read side: processors that derive PostgreSQL read models from the log.
//!
//! In the flow: `scooter.telemetry.v1 / fleet.events.v1 ──▶ projections ──▶ PostgreSQL`.
//! Each read model is a [`Projection`] of the processor runtime ([`fleetlog_processor`]),
//! which consumes its topics in a consumer group with offsets stored in the same
//! transaction as the read-model change, dead-letters poison records and parks their
//! keys, and writes each read-model version into its own schema `proj_<name>_v<N>`. The
//! read models:
//!
//! - [`fleet`] — the latest state of every device and vehicle and each device's record
//!   history (`proj_fleet_v1`), from telemetry, sessions and fleet events;
//! - [`rides`] — rides, reservations and the outcome of every app command
//!   (`proj_rides_v1`), from fleet events and device replies;
//! - [`lineage`] — every event on every topic by its envelope (`proj_lineage_v1`), and
//!   [`lineage::trace`] to walk the chain of one frame or command;
//! - [`spawn`] / [`spawn_all`] start them under a process's [`fleetlog_runtime::Shutdown`].

pub mod fleet;
pub mod lineage;
pub mod rides;

use fleetlog_processor::{Projection, ProjectionRuntime, RuntimeConfig, run};
use fleetlog_runtime::{Settings, Shutdown};

/// The projections `fleetlog projector <name>` runs.
pub const NAMES: [&str; 3] = [fleet::NAME, rides::NAME, lineage::NAME];

/// A projection name that is not one of [`NAMES`].
#[derive(Debug, thiserror::Error)]
#[error("unknown projection {0:?}: expected one of {names}", names = NAMES.join(", "))]
pub struct UnknownProjection(pub String);

/// Spawn projection `name` (one of [`NAMES`]) on `shutdown`, with the settings' batch
/// limits, its schema registry and all partitions of its topics.
///
/// # Errors
/// [`UnknownProjection`] for any other name (nothing is spawned).
pub fn spawn(
    shutdown: &mut Shutdown,
    settings: &Settings,
    pool: sqlx::PgPool,
    name: &str,
) -> Result<(), UnknownProjection> {
    let token = shutdown.token();
    let settings = settings.clone();
    match name {
        fleet::NAME => shutdown.spawn("projection-fleet", async move {
            let projection = fleet::FleetProjection::new(&settings.schema_registry_url);
            run(projection, &settings, pool, token).await
        }),
        rides::NAME => shutdown.spawn("projection-rides", async move {
            let projection = rides::RidesProjection::new(&settings.schema_registry_url);
            run(projection, &settings, pool, token).await
        }),
        lineage::NAME => shutdown.spawn("projection-lineage", async move {
            run(lineage::LineageProjection, &settings, pool, token).await
        }),
        other => return Err(UnknownProjection(other.to_owned())),
    }
    Ok(())
}

/// What the operator tools need to know of projection `name` without running it.
#[derive(Debug, Clone)]
pub struct Described {
    /// Its name.
    pub name: &'static str,
    /// The shape of read model this code writes ([`Projection::version`]).
    pub shape: u32,
    /// The topics it reads.
    pub topics: Vec<&'static str>,
    /// Columns a rebuild does not reproduce ([`Projection::impure_columns`]).
    pub impure_columns: &'static [fleetlog_processor::ImpureColumn],
}

fn described<P: Projection>(p: &P) -> Described {
    Described {
        name: p.name(),
        shape: p.version(),
        topics: p.topics().to_vec(),
        impure_columns: p.impure_columns(),
    }
}

/// Projection `name` (one of [`NAMES`]), described.
///
/// # Errors
/// [`UnknownProjection`] for any other name.
pub fn describe(settings: &Settings, name: &str) -> Result<Described, UnknownProjection> {
    match name {
        fleet::NAME => Ok(described(&fleet::FleetProjection::new(
            &settings.schema_registry_url,
        ))),
        rides::NAME => Ok(described(&rides::RidesProjection::new(
            &settings.schema_registry_url,
        ))),
        lineage::NAME => Ok(described(&lineage::LineageProjection)),
        other => Err(UnknownProjection(other.to_owned())),
    }
}

/// Run projection `name` (one of [`NAMES`]) with `config` until `shutdown` (or its end
/// offsets, or — writing a given build — its retirement).
///
/// # Errors
/// [`UnknownProjection`] for any other name; otherwise what [`ProjectionRuntime::run`]
/// returns.
pub async fn run_with_config(
    name: &str,
    settings: &Settings,
    pool: sqlx::PgPool,
    config: RuntimeConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let registry = &settings.schema_registry_url;
    match name {
        fleet::NAME => {
            let p = fleet::FleetProjection::new(registry);
            ProjectionRuntime::new(p, config, pool)
                .run(shutdown)
                .await?;
        }
        rides::NAME => {
            let p = rides::RidesProjection::new(registry);
            ProjectionRuntime::new(p, config, pool)
                .run(shutdown)
                .await?;
        }
        lineage::NAME => {
            let p = lineage::LineageProjection;
            ProjectionRuntime::new(p, config, pool)
                .run(shutdown)
                .await?;
        }
        other => return Err(UnknownProjection(other.to_owned()).into()),
    }
    Ok(())
}

/// Spawn every projection of [`NAMES`] on `shutdown` (for `fleetlog up`).
pub fn spawn_all(shutdown: &mut Shutdown, settings: &Settings, pool: sqlx::PgPool) {
    for name in NAMES {
        // Every name of NAMES is known to `spawn`.
        let _ = spawn(shutdown, settings, pool.clone(), name);
    }
}
