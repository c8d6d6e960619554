//! `fleetlog topics create`.

use anyhow::Context;
use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka::{self, TopicOutcome};

/// Create every topic of the catalogue; existing ones are left alone.
pub(crate) async fn create(settings: &Settings) -> anyhow::Result<()> {
    let admin = kafka::admin(&settings.kafka).context("building the admin client")?;
    let specs =
        fleetlog_schemas::topics::all(settings.kafka.partitions, settings.kafka.dlq_partitions);
    let outcomes = kafka::create_topics(&admin, &specs, settings.kafka.replication_factor)
        .await
        .with_context(|| format!("creating topics on {}", settings.kafka.brokers))?;
    for (topic, outcome) in outcomes {
        let what = match outcome {
            TopicOutcome::Created => "created",
            TopicOutcome::AlreadyExists => "exists",
        };
        println!("{what:>8}  {topic}");
    }
    Ok(())
}
