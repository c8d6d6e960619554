//! rdkafka client presets and topic administration.
//!
//! - Producer: `acks=all`, idempotence on, batching with `linger.ms`; callers never await
//!   one record at a time on a hot path. Services send through
//!   [`crate::producer::Producer`] (queue-full retry, delivery wait, flush).
//! - Transactional producer: the same plus a `transactional.id`, for consume → produce
//!   loops whose output and input offsets commit together (the decoder).
//! - Consumer: auto-commit and automatic offset store off — offsets live where the work
//!   lands (PostgreSQL for projections, the producer's transaction for the decoder);
//!   `read_committed`, so aborted transactions are never seen; a fetch returns as soon as a
//!   record is there (`fetch.wait.max.ms` is only a ceiling).
//! - Admin: idempotent topic creation for `fleetlog topics create`.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;

use crate::settings::KafkaSettings;

pub use fleetlog_schemas::topics::TopicSpec;

/// What `create_topics` did for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    /// The topic did not exist and was created.
    Created,
    /// The topic already existed; left as it was.
    AlreadyExists,
}

/// A Kafka client could not be built or an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaAdminError {
    /// librdkafka rejected the configuration or the call.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The broker refused to create a topic.
    #[error("could not create topic {topic}: {code}")]
    Create {
        /// Topic name.
        topic: String,
        /// Broker error code.
        code: RDKafkaErrorCode,
    },
}

fn base_config(settings: &KafkaSettings, role: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("client.id", format!("{}-{role}", settings.client_id))
        // Reconnect quickly when the broker comes back (readiness, ingest resume).
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "2000")
        .set("log_level", "4");
    config
}

/// Producer preset: `acks=all`, idempotent, batched by `linger.ms`.
pub fn producer_config(settings: &KafkaSettings, role: &str) -> ClientConfig {
    let mut config = base_config(settings, role);
    config
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", settings.linger_ms.to_string())
        .set(
            "message.timeout.ms",
            settings.message_timeout_ms.to_string(),
        )
        .set("compression.type", "none");
    config
}

/// Transactional producer preset: [`producer_config`] with `transactional.id` (stable per
/// instance: a restarted instance fences its earlier self and aborts what it left open).
pub fn transactional_producer_config(
    settings: &KafkaSettings,
    role: &str,
    transactional_id: &str,
) -> ClientConfig {
    let mut config = producer_config(settings, role);
    let timeout_ms = settings.transaction_timeout_ms.to_string();
    // librdkafka refuses a record timeout longer than the transaction's.
    config
        .set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", &timeout_ms)
        .set("message.timeout.ms", &timeout_ms);
    config
}

/// Build a producer from the preset.
///
/// # Errors
/// When librdkafka rejects the configuration.
pub fn producer(settings: &KafkaSettings, role: &str) -> Result<FutureProducer, KafkaError> {
    producer_config(settings, role).create()
}

/// Consumer preset for `group_id`: auto-commit and auto offset store off, start from the
/// earliest offset when nothing is stored.
pub fn consumer_config(settings: &KafkaSettings, group_id: &str) -> ClientConfig {
    let mut config = base_config(settings, group_id);
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set(
            "session.timeout.ms",
            settings.session_timeout_ms.to_string(),
        )
        // A member hears of a rebalance (another one left or joined) at its next
        // heartbeat: a tenth of the session timeout, so partitions move within a second.
        .set(
            "heartbeat.interval.ms",
            (settings.session_timeout_ms / 10).max(100).to_string(),
        )
        .set("isolation.level", "read_committed")
        .set("fetch.min.bytes", "1")
        .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string());
    config
}

/// Admin client for topic management.
///
/// # Errors
/// When librdkafka rejects the configuration.
pub fn admin(settings: &KafkaSettings) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    base_config(settings, "admin").create()
}

/// Create every topic in `specs` that does not exist yet; existing topics are left alone.
///
/// # Errors
/// When the broker is unreachable or refuses a topic for another reason than existing.
pub async fn create_topics(
    admin: &AdminClient<DefaultClientContext>,
    specs: &[TopicSpec],
    replication_factor: i32,
) -> Result<Vec<(String, TopicOutcome)>, KafkaAdminError> {
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|s| {
            NewTopic::new(
                &s.name,
                s.partitions,
                TopicReplication::Fixed(replication_factor),
            )
            .set("retention.ms", "-1")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(new_topics.iter(), &options).await?;
    results
        .into_iter()
        .map(|result| match result {
            Ok(topic) => Ok((topic, TopicOutcome::Created)),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                Ok((topic, TopicOutcome::AlreadyExists))
            }
            Err((topic, code)) => Err(KafkaAdminError::Create { topic, code }),
        })
        .collect()
}

/// Answers whether the broker is reachable, by asking it for cluster metadata.
pub struct BrokerProbe {
    client: BaseConsumer,
}

impl BrokerProbe {
    /// A probe with its own long-lived client (librdkafka reconnects on its own).
    ///
    /// # Errors
    /// When librdkafka rejects the configuration.
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        Ok(Self {
            client: base_config(settings, "probe").create()?,
        })
    }

    /// `Ok(broker count)` when the broker answered a metadata request within `timeout`.
    ///
    /// Blocking; call it from `spawn_blocking`.
    ///
    /// # Errors
    /// When the broker did not answer in time.
    pub fn check_blocking(&self, timeout: Duration) -> Result<usize, KafkaError> {
        let metadata = self.client.fetch_metadata(None, timeout)?;
        Ok(metadata.brokers().len())
    }
}
