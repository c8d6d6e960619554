//! [`CommandLog`]: appends accepted commands to `app.commands.v1` and waits for the
//! broker's acknowledgement before the API answers `202`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetlog_runtime::settings::KafkaSettings;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::AppCommand;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// `ce_source` of commands.
pub const SOURCE: &str = "/fleetlog/api";
/// Longest the API waits for the broker to acknowledge a command.
pub const APPEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a command could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The broker refused it or the registry failed: it is not on the log.
    #[error("the command was not appended: {0}")]
    Refused(String),
    /// No acknowledgement in time: it may or may not be on the log.
    #[error("the broker did not acknowledge the command in time")]
    TimedOut,
}

/// The API's client of the log: appends commands, and hands its broker settings and codec
/// to readers such as the live stream. Cheap to clone.
#[derive(Clone)]
pub struct CommandLog {
    producer: FutureProducer,
    codec: Arc<WireCodec>,
    kafka: Arc<KafkaSettings>,
}

impl CommandLog {
    /// A log client for the broker of `kafka`, encoding through the registry at
    /// `registry_url`. Nothing connects until the first append.
    ///
    /// # Errors
    /// When librdkafka rejects the configuration.
    pub fn new(
        kafka: &KafkaSettings,
        registry_url: &str,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        Ok(Self {
            producer: fleetlog_runtime::kafka::producer(kafka, "api")?,
            codec: Arc::new(WireCodec::new(registry_url)),
            kafka: Arc::new(kafka.clone()),
        })
    }

    /// The broker settings, for consumers.
    pub fn kafka(&self) -> &KafkaSettings {
        &self.kafka
    }

    /// The registry codec.
    pub fn codec(&self) -> &WireCodec {
        &self.codec
    }

    /// The envelope of `command`: a root whose id and correlation id are the command id,
    /// so everything decided from it carries the command id as its correlation id.
    pub fn envelope(command: &AppCommand) -> Envelope {
        Envelope::from_parts(
            command.command_id,
            command.command_id,
            None,
            topics::APP_COMMANDS.event_type(),
            SOURCE,
            command.key().to_string(),
            Utc::now(),
        )
    }

    /// Append `command` (key = its vehicle or zone id) and wait for the acknowledgement.
    ///
    /// # Errors
    /// See [`AppendError`].
    pub async fn append(&self, command: &AppCommand) -> Result<(), AppendError> {
        let payload = self
            .codec
            .encode(topics::APP_COMMANDS, command)
            .await
            .map_err(|err| AppendError::Refused(err.to_string()))?;
        let key = command.key().to_string();
        let record = FutureRecord::to(topics::APP_COMMANDS.name())
            .key(&key)
            .payload(&payload)
            .headers(Self::envelope(command).to_headers());
        let delivery = self
            .producer
            .send_result(record)
            .map_err(|(err, _)| AppendError::Refused(err.to_string()))?;
        match tokio::time::timeout(APPEND_TIMEOUT, delivery).await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err((err, _)))) => Err(AppendError::Refused(err.to_string())),
            Ok(Err(_)) => Err(AppendError::Refused("the producer dropped it".into())),
            Err(_) => Err(AppendError::TimedOut),
        }
    }
}
