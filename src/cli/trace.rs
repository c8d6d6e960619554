//! `fleetlog trace <id>`: the chain of one frame, command or event from the lineage read
//! model, as an indented tree with timings (or JSON with `--json`).

use std::process::ExitCode;

use anyhow::Context;
use fleetlog_runtime::{Settings, db};
use uuid::Uuid;

/// Print the trace of `id`; exit code 1 when the lineage knows no such event.
///
/// # Errors
/// `id` is not a UUID, PostgreSQL is unreachable, or the lineage projection never ran.
pub(crate) async fn run(settings: Settings, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let id = Uuid::parse_str(id.trim())
        .with_context(|| format!("{id:?} is not an event, frame or command id (a UUID)"))?;
    let pool = db::pool(&settings.database_url, 2)?;
    let trace = fleetlog_projections::lineage::trace(&pool, id)
        .await
        .context("reading the lineage (see DATABASE_URL)")?;
    let Some(trace) = trace else {
        eprintln!("no event with id {id} (the lineage projection may be behind)");
        return Ok(ExitCode::from(1));
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&trace)?);
    } else {
        print!("{trace}");
    }
    Ok(ExitCode::SUCCESS)
}
