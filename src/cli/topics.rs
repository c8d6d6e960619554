//! `fleetlog topics create`.

use anyhow::Context;
use fleetlog_runtime::Settings;
use fleetlog_runtime::kafka::{self, TopicOutcome};

/// Create every topic of the catalogue (existing ones are left alone), then register every
/// topic's schema if the registry answers (the registry also does it when it starts).
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
    // Registering is a registry write: it needs the admin credential, from the URL's user
    // info or FLEETLOG_REGISTRY__ADMIN_PASSWORD.
    let url = super::services::registry_write_url(settings);
    match fleetlog_schemas::registration::register_all(&url).await {
        Ok(subjects) => {
            for (subject, id) in subjects {
                println!("  schema  {subject} (id {id})");
            }
        }
        Err(err) => eprintln!(
            "note: schemas not registered now ({err}); the registry registers them when it starts"
        ),
    }
    Ok(())
}
