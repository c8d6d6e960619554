//! Subcommands of `fleetlog` (architecture §6).

mod admin;
mod export;
mod migrate;
mod projector;
mod services;
mod topics;
mod trace;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fleetlog_runtime::Settings;

/// Event-sourced backend for shared e-scooter fleets on a Kafka-compatible log.
///
/// Configuration comes from the environment: `DATABASE_URL`, `KAFKA_BROKERS`,
/// `SCHEMA_REGISTRY_URL` and `FLEETLOG_*` (see README, "Configuration").
#[derive(Debug, Parser)]
#[command(name = "fleetlog", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log one JSON object per line (same as FLEETLOG_LOG__JSON=true).
    #[arg(long, global = true)]
    pub(crate) log_json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Everything in one process: registry, gateway, decoder, commands, projections, api.
    Up,
    /// The scooter gateway alone (TCP listeners for every device protocol).
    Gateway,
    /// The decoder alone: scooter.frames.v1 → scooter.telemetry.v1.
    Decoder,
    /// The commands processor alone: deciders, ride saga, outbox relay, deadlines.
    Commands,
    /// One projection alone (fleet, rides, lineage, …).
    Projector {
        /// Projection name.
        name: String,
    },
    /// The HTTP API alone (with /healthz, /readyz, /metrics).
    Api,
    /// The Confluent-compatible schema registry alone.
    Registry,
    /// Topic administration.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Apply pending database migrations (creating the database if needed).
    Migrate,
    /// Print the effective settings (defaults plus environment) as JSON.
    Config,
    /// A fleet of simulated scooters speaking the real device protocols.
    Simulate(fleetlog_ingest::simulator::SimulateArgs),
    /// A living demo beside `fleetlog up`: simulated scooters registered as vehicles,
    /// zones, a demo operator, riders riding through the API (what `make run` starts).
    Demo(crate::demo::DemoArgs),
    /// Projection operations: status, rebuild, reset, verify.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Replay topics into date-partitioned Parquet for a data lake.
    Export(export::ExportArgs),
    /// The chain of one external event (frame, command or event id), as a tree.
    Trace {
        /// A frame, command or event id.
        id: String,
        /// Print JSON instead of the tree.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks of the hot paths, each with a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Operator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Gateway throughput, ACK latency, CPU and RSS versus a bare rdkafka producer.
    Ingest(crate::bench::ingest::IngestBenchArgs),
    /// Fleet projection throughput and end-to-end latency versus a naive projector and COPY.
    Projection(crate::bench::projection::ProjectionBenchArgs),
    /// Rider command latency under a simulated fleet: POST → accepted → ride started/ended.
    Commands(crate::bench::commands::CommandsBenchArgs),
    /// Fleet rebuild rate from offset 0 (bulk and incremental) versus COPY and a naive replay.
    Rebuild(crate::bench::rebuild::RebuildBenchArgs),
    /// Export rate (records/s, MB/s) to Parquet and JSON lines versus a raw consume.
    Export(crate::bench::export::ExportBenchArgs),
    /// Query API under wrk while a fleet streams, versus `pgbench -S` in the same run.
    Api(crate::bench::api::ApiBenchArgs),
    /// Projector and decoder throughput on one and two instances, and the handover time
    /// after an instance's death.
    Scale(crate::bench::scale::ScaleBenchArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TopicsCommand {
    /// Create every topic of the catalogue (idempotent).
    Create,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectionsCommand {
    /// Every projection with its version, offsets, lag and state.
    Status(crate::projections_status::StatusArgs),
    /// Rebuild a projection from offset 0 beside the live version, then switch.
    Rebuild(crate::projections_rebuild::RebuildArgs),
    /// Drop and rebuild a projection in place (development only).
    Reset(crate::projections_rebuild::ResetArgs),
    /// Rebuild into a scratch version and compare with the live one.
    Verify(crate::projections_rebuild::VerifyArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Create an operator account.
    Create(admin::AdminCreateArgs),
}

/// Run one subcommand to completion.
pub(crate) async fn dispatch(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up => up::run(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Api => up::run_api(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Registry => up::run_registry(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Gateway => up::run_gateway(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Topics {
            command: TopicsCommand::Create,
        } => topics::create(&settings).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => migrate::run(&settings).await.map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Ingest(args),
        } => crate::bench::ingest::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Projection(args),
        } => crate::bench::projection::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Rebuild(args),
        } => crate::bench::rebuild::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Commands(args),
        } => crate::bench::commands::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Api(args),
        } => crate::bench::api::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Scale(args),
        } => crate::bench::scale::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&settings.redacted())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Decoder => up::run_decoder(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Commands => up::run_commands(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Projector { name } => projector::run(settings, &name)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Simulate(args) => up::run_simulator(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Projections {
            command: ProjectionsCommand::Status(args),
        } => crate::projections_status::run(settings, args).await,
        Command::Projections {
            command: ProjectionsCommand::Rebuild(args),
        } => crate::projections_rebuild::rebuild(settings, args).await,
        Command::Projections {
            command: ProjectionsCommand::Reset(args),
        } => crate::projections_rebuild::reset(settings, args).await,
        Command::Projections {
            command: ProjectionsCommand::Verify(args),
        } => crate::projections_rebuild::verify(settings, args).await,
        Command::Export(args) => export::run(settings, args).await,
        Command::Demo(args) => crate::demo::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command: BenchCommand::Export(args),
        } => crate::bench::export::run(settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Trace { id, json } => trace::run(settings, &id, json).await,
        Command::Admin {
            command: AdminCommand::Create(args),
        } => admin::create(&settings, args)
            .await
            .map(|()| ExitCode::SUCCESS),
    }
}
