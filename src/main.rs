//! `fleetlog`: the one command-line entry point of every fleetlog service and tool.
//!
//! `main` only parses arguments, sets up logs, loads settings and hands over to the
//! subcommand (see `src/cli/`); the services themselves live in the workspace crates.

mod bench;
mod cli;
mod demo;
mod projections_rebuild;
mod projections_status;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let mut settings = match fleetlog_runtime::Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("fleetlog: {err}");
            return ExitCode::from(2);
        }
    };
    if args.log_json {
        settings.log.json = true;
    }
    fleetlog_runtime::telemetry::init_logs(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fleetlog: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::dispatch(args.command, settings));
    // Blocking calls still waiting on the broker (metadata, watermarks) must not hold the
    // exit: the services have already stopped.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fleetlog: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
