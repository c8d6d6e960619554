//! The errors of the projection runtime and its operator functions.

use rdkafka::error::KafkaError;

use super::projection::ProjectionError;

/// The projection runtime or an operator call (release, skip) failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A projection name that cannot make a schema name (`^[a-z][a-z0-9_]*$`).
    #[error("invalid projection name {0:?}: expected ^[a-z][a-z0-9_]*$")]
    InvalidName(String),
    /// A PostgreSQL statement of the runtime failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The broker failed or rejected a call.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// A topic of the projection does not exist (the runtime never creates topics); it
    /// waits for `fleetlog topics create`.
    #[error(
        "topic {0} does not exist or has no partitions (create it with `fleetlog topics create`)"
    )]
    MissingTopic(String),
    /// The projection's `migrate` or `apply` failed.
    #[error("projection {projection}: {source}")]
    Projection {
        /// Projection name.
        projection: String,
        /// What it reported.
        #[source]
        source: ProjectionError,
    },
    /// A record could not be sent to its dead-letter topic.
    #[error("dead-letter topic {topic}: {reason}")]
    Dlq {
        /// The dead-letter topic.
        topic: String,
        /// Why the produce failed.
        reason: String,
    },
    /// This version of the projection was retired; it must not write again.
    #[error("projection {projection} version {version} is retired")]
    Retired {
        /// Projection name.
        projection: String,
        /// Version.
        version: u32,
    },
    /// `release` or `skip` of a key that is not parked.
    #[error("key is not parked for projection {projection} on topic {topic}")]
    NotParked {
        /// Projection name.
        projection: String,
        /// Topic.
        topic: String,
    },
    /// The stored offsets moved under this process: another process consumes the same
    /// partitions. The projector stops; restarted, it resumes from the stored offsets.
    #[error(
        "stored offsets of projection {projection} moved under this process (a partition owned twice?)"
    )]
    OffsetConflict {
        /// Projection name.
        projection: String,
    },
    /// The fetch thread stopped unexpectedly.
    #[error("the consumer thread stopped")]
    ConsumerStopped,
}

impl RuntimeError {
    /// Whether waiting and trying again may help (database or broker unavailable, or the
    /// projection said so).
    pub fn is_transient(&self) -> bool {
        match self {
            // A missing topic is retried too: topics may be created after the projector
            // started (or the broker answers metadata before its storage is ready).
            Self::Database(_) | Self::Kafka(_) | Self::Dlq { .. } | Self::MissingTopic(_) => true,
            Self::Projection { source, .. } => !source.is_poison(),
            _ => false,
        }
    }

    pub(crate) fn projection(name: &str, source: ProjectionError) -> Self {
        Self::Projection {
            projection: name.to_owned(),
            source,
        }
    }
}
