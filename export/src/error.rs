//! What can stop an export. A record that does not decode is not an error: it is
//! written to the rejects file with the reason.

/// An export failed; files finished before the failure are in the manifest.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `--topics` named nothing.
    #[error("no topics to export (--topics a,b,…)")]
    NoTopics,
    /// The broker has no such topic.
    #[error("unknown topic {0:?}: the broker has no such topic (see `fleetlog topics create`)")]
    UnknownTopic(String),
    /// The schema registry could not be read.
    #[error("cannot read the schema registry at {url} (SCHEMA_REGISTRY_URL): {reason}")]
    Registry {
        /// Registry URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A broker request failed.
    #[error("broker (KAFKA_BROKERS): {what}: {source}")]
    Kafka {
        /// What was being done.
        what: String,
        /// What librdkafka reported.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Records that exist did not arrive.
    #[error("no records from {topic}/{partition} at offset {offset} for 60 s")]
    Stalled {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The offset waited for.
        offset: i64,
    },
    /// The manifest cannot be read, or was written with other settings.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// Path of the manifest.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Arrow or Parquet refused the data.
    #[error("writing {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// What the writer reported.
        reason: String,
    },
}
