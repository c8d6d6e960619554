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
    /// This version of the projection was retired (or dropped); it must not write again.
    #[error("projection {projection} version {version} is retired or dropped")]
    Retired {
        /// Projection name.
        projection: String,
        /// Version.
        version: u32,
    },
    /// The version's read model has another shape than this code writes
    /// (`Projection::version()`): build one of this shape with `fleetlog projections
    /// rebuild`.
    #[error(
        "projection {projection} version {version} has shape {shape}, this code writes shape {code}: run `fleetlog projections rebuild {projection}`"
    )]
    ShapeMismatch {
        /// Projection name.
        projection: String,
        /// The build version.
        version: u32,
        /// Its shape.
        shape: u32,
        /// The shape this code writes.
        code: u32,
    },
    /// No build is live and one is being built for serving (`fleetlog projections
    /// reset`): a projector following the live build waits for its switch.
    #[error("projection {0}: no live build yet, one is being rebuilt")]
    NoLiveBuild(String),
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
    /// Partitions of this process were claimed by another one since this process claimed
    /// them (a rebalance, or a session timeout while this process hung): its batch for
    /// them is rolled back. In a consumer group the process drops them and goes on; a
    /// process that assigned its partitions itself stops.
    #[error("projection {projection}: partitions {partitions:?} were claimed by another process")]
    Fenced {
        /// Projection name.
        projection: String,
        /// The partitions and the epochs this process held them at.
        partitions: Vec<((String, i32), i64)>,
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
            Self::Database(_)
            | Self::Kafka(_)
            | Self::Dlq { .. }
            | Self::MissingTopic(_)
            | Self::NoLiveBuild(_) => true,
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
