//! `fleetlog projections rebuild|reset|verify` (see `docs/projections.md`).
//!
//! - **rebuild** prints a plan, then builds version N+1 from offset 0 in
//!   `proj_<name>_v<N+1>` beside the live version N (which keeps serving and consuming)
//!   with a progress bar, stops it between batches once it is fewer than `--switch-lag`
//!   records behind, and switches it live in one transaction; N is retired and dropped
//!   after `--keep-secs`. Killed at any point, it finds its build again and resumes from
//!   the build's stored offsets. A rebuild has no side effects.
//! - **reset** drops every build and rebuilds the projection from offset 0 (development).
//! - **verify** rebuilds into a scratch build and compares it with the live one.
//!
//! Builds are written in this process with the projection runtime on the incremental
//! path; who keeps the new live build current afterwards is the long-running projector
//! (`fleetlog up` / `fleetlog projector <name>`), which follows the switch.

pub(crate) mod build;
mod compare;
mod plan;
mod verify;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use fleetlog_processor::builds::{self, Purpose};
use fleetlog_runtime::{Settings, db};
use sqlx::PgPool;

pub(crate) use plan::watermarks;
pub(crate) use verify::{VerifyArgs, verify};

/// Options of `fleetlog projections rebuild`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RebuildArgs {
    /// Projection name.
    name: String,
    /// Print the plan only; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Switch once the new build is at most this many records behind the log's end.
    #[arg(long, default_value_t = 100)]
    switch_lag: u64,
    /// Keep the retired build this many seconds after the switch before it is dropped.
    #[arg(long, default_value_t = 3600)]
    keep_secs: u64,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// Options of `fleetlog projections reset`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ResetArgs {
    /// Projection name.
    name: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// A pool on the migrated database and the described projection.
async fn open(
    settings: &Settings,
    name: &str,
) -> anyhow::Result<(PgPool, fleetlog_projections::Described)> {
    let described = fleetlog_projections::describe(settings, name)?;
    db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it up? see DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 8)?;
    db::migrate(&pool).await.context("migrating the database")?;
    let dropped = builds::drop_expired(&pool, name).await?;
    for version in dropped {
        eprintln!("dropped proj_{name}_v{version} (retired, keep time passed)");
    }
    Ok((pool, described))
}

/// `fleetlog projections rebuild <name>`.
///
/// # Errors
/// An unknown projection, the database or broker unreachable, the build failing.
pub(crate) async fn rebuild(settings: Settings, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.as_str();
    let (pool, described) = open(&settings, name).await?;
    let marks = plan::watermarks(&settings, &described.topics).await?;
    let live = builds::live_version(&pool, name).await?;
    let all = builds::builds(&pool, name).await?;
    let in_progress = all
        .iter()
        .find(|(_, state, purpose)| state == "rebuilding" && purpose == "serve")
        .map(|(v, _, _)| *v);
    let next = all.iter().map(|(v, _, _)| *v).max().unwrap_or(0) + 1;
    let build = in_progress.map_or((next, false), |v| (v, true));
    let stored = match in_progress {
        Some(v) => builds::stored_offsets(&pool, name, v).await?,
        None => Default::default(),
    };
    let keep = Duration::from_secs(args.keep_secs);
    let plan = plan::Plan {
        name,
        shape: described.shape,
        live,
        build,
        marks: &marks,
        stored: &stored,
        switch_lag: args.switch_lag,
        keep,
    };
    print!("{}", plan.render());
    if args.dry_run {
        println!("dry run: nothing changed");
        return Ok(ExitCode::SUCCESS);
    }
    let build = builds::begin_build(&pool, name, Purpose::Serve, described.shape).await?;
    let (records, took) = build::catch_up(build::Target {
        settings: &settings,
        pool: &pool,
        name,
        version: build.version,
        switch_lag: args.switch_lag,
        end: None,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
    })
    .await?;
    let retired = builds::switch(&pool, name, build.version, keep).await?;
    println!(
        "built proj_{name}_v{} ({records} records in {:.1} s, {:.0} records/s)",
        build.version,
        took.as_secs_f64(),
        rate(records, took)
    );
    match retired {
        Some(old) => println!(
            "switched: proj_{name}_v{} is live; proj_{name}_v{old} retired, dropped after {} s",
            build.version, args.keep_secs
        ),
        None => println!("switched: proj_{name}_v{} is live", build.version),
    }
    Ok(ExitCode::SUCCESS)
}

/// `fleetlog projections reset <name>`: every build dropped, then rebuilt from offset 0
/// and made live (no version is live meanwhile; projectors following it wait).
///
/// # Errors
/// As [`rebuild`]; also when stdin cannot be read.
pub(crate) async fn reset(settings: Settings, args: ResetArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.as_str();
    let (pool, described) = open(&settings, name).await?;
    let all = builds::builds(&pool, name).await?;
    if !args.yes && !confirm(name, &all)? {
        eprintln!("reset of {name} aborted: nothing changed");
        return Ok(ExitCode::from(1));
    }
    for (version, _, _) in &all {
        builds::drop_build(&pool, name, *version).await?;
        println!("dropped proj_{name}_v{version}");
    }
    let build = builds::begin_build(&pool, name, Purpose::Serve, described.shape).await?;
    let (records, took) = build::catch_up(build::Target {
        settings: &settings,
        pool: &pool,
        name,
        version: build.version,
        switch_lag: 0,
        end: None,
        progress: !args.no_progress && std::io::stderr().is_terminal(),
    })
    .await?;
    builds::switch(&pool, name, build.version, Duration::ZERO).await?;
    println!(
        "reset: proj_{name}_v{} rebuilt from offset 0 ({records} records in {:.1} s) and live",
        build.version,
        took.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Ask on stderr; the answer must be the projection's name.
fn confirm(name: &str, all: &[(u32, String, String)]) -> anyhow::Result<bool> {
    let schemas: Vec<String> = all
        .iter()
        .map(|(v, state, _)| format!("proj_{name}_v{v} ({state})"))
        .collect();
    eprint!(
        "reset drops every build of {name} [{}] and rebuilds it from offset 0; readers see \
         no {name} read model meanwhile. Type the projection name to go on: ",
        schemas.join(", ")
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == name)
}

/// Records per second.
pub(crate) fn rate(records: u64, took: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "a rate")]
    let records = records as f64;
    records / took.as_secs_f64().max(1e-9)
}
