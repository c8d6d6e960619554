//! The honest answer of a subcommand that does not exist yet.

use std::process::ExitCode;

/// Say that `what` is not built yet and which issue tracks it; exit code 3.
pub(crate) fn report(what: &str, issue: u32) -> ExitCode {
    eprintln!("fleetlog {what}: not built yet (tracked in issue #{issue}); nothing was done.");
    ExitCode::from(3)
}
