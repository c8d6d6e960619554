//! The processor processes `fleetlog bench scale` starts (`fleetlog projector fleet`,
//! `fleetlog decoder`, this executable) and what it reads of their progress: the
//! projection's stored offsets and claims in PostgreSQL, the decoder group's committed
//! offsets at the broker.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;

use crate::bench::stack::free_addr;

/// `session.timeout.ms` of the processes: the broker's minimum, so a killed instance's
/// partitions move within seconds.
pub(super) const SESSION_TIMEOUT_MS: u64 = 6_000;

/// A processor process; SIGKILLed when dropped unless stopped first.
pub(super) struct Instance {
    child: Child,
}

impl Instance {
    /// `fleetlog <args…>` over `database_url`, instance `instance` of client `client_id`.
    pub(super) fn spawn(
        settings: &Settings,
        database_url: &str,
        client_id: &str,
        instance: usize,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let child = Command::new(std::env::current_exe()?)
            .args(args)
            .env("KAFKA_BROKERS", &settings.kafka.brokers)
            .env("DATABASE_URL", database_url)
            .env("SCHEMA_REGISTRY_URL", &settings.schema_registry_url)
            .env("FLEETLOG_HTTP__API_ADDR", free_addr()?)
            .env("FLEETLOG_KAFKA__CLIENT_ID", client_id)
            .env("FLEETLOG_KAFKA__INSTANCE_ID", instance.to_string())
            .env(
                "FLEETLOG_KAFKA__SESSION_TIMEOUT_MS",
                SESSION_TIMEOUT_MS.to_string(),
            )
            .env("FLEETLOG_LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting fleetlog {}", args.join(" ")))?;
        Ok(Self { child })
    }

    /// The owner its claims name (`<client id>-<instance> pid <pid>`).
    pub(super) fn owner(&self, client_id: &str, instance: usize) -> String {
        format!("{client_id}-{instance} pid {}", self.child.id())
    }

    /// SIGTERM and wait (at most 30 s) for it to exit.
    pub(super) fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("an instance did not stop within 30 s of SIGTERM")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fleet projection's stored offsets, summed.
pub(super) async fn projected(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(next_offset), 0)::bigint FROM projection_offsets WHERE projection = $1",
    )
    .bind(fleetlog_projections::fleet::NAME)
    .fetch_one(pool)
    .await?)
}

/// The fleet projection's partitions (of every topic it reads) and who claimed them last.
pub(super) async fn owners(pool: &PgPool) -> anyhow::Result<Vec<(String, i32, String)>> {
    Ok(sqlx::query_as(
        "SELECT topic, partition, owner FROM projection_claims \
         WHERE projection = $1 ORDER BY topic, partition",
    )
    .bind(fleetlog_projections::fleet::NAME)
    .fetch_all(pool)
    .await?)
}

/// When the stored offset of telemetry partition `partition` last moved.
pub(super) async fn moved_at(
    pool: &PgPool,
    partition: i32,
) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT updated_at FROM projection_offsets \
         WHERE projection = $1 AND topic = $2 AND partition = $3",
    )
    .bind(fleetlog_projections::fleet::NAME)
    .bind(topics::TELEMETRY.name())
    .bind(partition)
    .fetch_optional(pool)
    .await?)
}

/// The frames the decoder group of `client_id` has committed, summed over partitions.
pub(super) fn decoded(settings: &Settings, client_id: &str) -> anyhow::Result<i64> {
    let group = format!("{client_id}-decoder");
    let probe: BaseConsumer = kafka::consumer_config(&settings.kafka, &group).create()?;
    let metadata = probe.fetch_metadata(Some(topics::FRAMES.name()), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for topic in metadata.topics() {
        for p in topic.partitions() {
            tpl.add_partition(topics::FRAMES.name(), p.id());
        }
    }
    let committed = probe.committed_offsets(tpl, Duration::from_secs(10))?;
    Ok(committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}
