//! `fleetlog projections verify <name>`: rebuild into a scratch build from offset 0 and
//! compare it with the live build at the same offsets.
//!
//! The scratch build first catches up while the live build keeps consuming; then the live
//! build's row is locked (its projector waits before its next batch; readers keep
//! answering), its stored offsets are read, the scratch build runs to exactly those
//! offsets, both are compared inside the same transaction, and the lock is released. The
//! scratch build is dropped afterwards; a verify killed before that resumes it next time.

use std::io::IsTerminal;
use std::process::ExitCode;

use fleetlog_processor::builds::{self, Purpose};
use fleetlog_processor::schema_name;
use fleetlog_runtime::Settings;

use super::build;
use super::compare::{self, TableResult};

/// Options of `fleetlog projections verify`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Projection name.
    name: String,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// Records the scratch build may be behind before the live build is held still.
const HOLD_LAG: u64 = 1000;

/// `fleetlog projections verify <name>`: exit status 0 when the rebuilt read model equals
/// the live one, 1 when a table differs.
///
/// # Errors
/// An unknown projection, no live build, the database or broker unreachable.
pub(crate) async fn verify(settings: Settings, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.as_str();
    let (pool, described) = super::open(&settings, name).await?;
    let Some(live) = builds::live_version(&pool, name).await? else {
        anyhow::bail!("projection {name} has no live build: nothing to verify");
    };
    let scratch = builds::begin_build(&pool, name, Purpose::Verify, described.shape).await?;
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let target = |end| build::Target {
        settings: &settings,
        pool: &pool,
        name,
        version: scratch.version,
        switch_lag: HOLD_LAG,
        end,
        progress,
    };
    build::catch_up(target(None)).await?;

    let mut hold = pool.begin().await?;
    builds::hold_build(&mut hold, name, live).await?;
    let end = builds::stored_offsets(&pool, name, live).await?;
    let records: i64 = end.values().sum();
    build::catch_up(target(Some(end))).await?;
    let (live_schema, scratch_schema) = (
        schema_name(name, live)?,
        schema_name(name, scratch.version)?,
    );
    let results = compare::compare(
        &mut hold,
        &live_schema,
        &scratch_schema,
        described.impure_columns,
    )
    .await?;
    hold.rollback().await?;
    builds::drop_build(&pool, name, scratch.version).await?;

    println!(
        "verify {name}: live {live_schema} against {scratch_schema} rebuilt from offset 0 to \
         the live build's offsets ({records} records)"
    );
    if !described.impure_columns.is_empty() {
        println!("not compared (not a function of the log alone):");
        for c in described.impure_columns {
            println!("  {}.{}: {}", c.table, c.column, c.why);
        }
    }
    print!("{}", render(&results));
    let differing = results.iter().filter(|r| !r.same()).count();
    if differing == 0 {
        println!("{name}: the rebuilt read model equals the live one");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{name}: {differing} table(s) differ");
        Ok(ExitCode::from(1))
    }
}

fn side(value: Option<&(i64, Option<String>)>) -> (String, String) {
    match value {
        None => ("missing".into(), "-".into()),
        Some((rows, md5)) => (rows.to_string(), md5.clone().unwrap_or_else(|| "-".into())),
    }
}

/// One line per table, then the differing rows.
fn render(results: &[TableResult]) -> String {
    let mut out = format!(
        "{:<24} {:>10} {:>12} {:<32} {:<32} RESULT\n",
        "TABLE", "LIVE_ROWS", "REBUILT_ROWS", "LIVE_MD5", "REBUILT_MD5"
    );
    for r in results {
        let (live_rows, live_md5) = side(r.live.as_ref());
        let (new_rows, new_md5) = side(r.rebuilt.as_ref());
        let verdict = if r.same() { "same" } else { "DIFFERENT" };
        out += &format!(
            "{:<24} {live_rows:>10} {new_rows:>12} {live_md5:<32} {new_md5:<32} {verdict}\n",
            r.table
        );
    }
    for r in results.iter().filter(|r| !r.same()) {
        for row in &r.only_live {
            out += &format!("  {} only live:    {row}\n", r.table);
        }
        for row in &r.only_rebuilt {
            out += &format!("  {} only rebuilt: {row}\n", r.table);
        }
    }
    out
}
