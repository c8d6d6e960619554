//! What a read model implements: the [`Projection`] trait, the raw [`SourceRecord`]s it
//! receives, and the [`ProjectionError`] that tells a poison record from a transient
//! failure.

use futures::future::BoxFuture;
use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Headers};

/// A read model the runtime keeps up to date from one or more topics.
///
/// The runtime calls [`migrate`](Projection::migrate) once on start, inside the schema
/// `proj_<name>_v<version>` it has just created, then [`apply`](Projection::apply) once
/// per batch, inside the transaction that also stores the consumed offsets.
///
/// Implementations must be idempotent and deterministic: dedupe on an event id or a
/// device-record identity (never on offsets), and apply a batch set-wise (one statement
/// per table, not one per record).
pub trait Projection: Send + Sync + 'static {
    /// Short name, `^[a-z][a-z0-9_]*$` (e.g. `fleet`).
    fn name(&self) -> &'static str;

    /// Version of the read model's shape; a new version is rebuilt into a new schema.
    fn version(&self) -> u32;

    /// Topics this projection reads.
    fn topics(&self) -> &'static [&'static str];

    /// Create the read model's tables inside `schema` (idempotent).
    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;

    /// Columns whose values are not a function of the log alone (a wall-clock time, a
    /// value that depends on where batches are cut), with why: `fleetlog projections
    /// verify` leaves them out of its comparison and says so. A pure projection has none.
    fn impure_columns(&self) -> &'static [ImpureColumn] {
        &[]
    }

    /// Prepare the read model of a fresh build for its bulk load (e.g. drop constraints and
    /// secondary indexes of its big tables). Idempotent; the default does nothing.
    fn begin_bulk<'a>(
        &'a self,
        _tx: &'a mut sqlx::PgConnection,
        _schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async { Ok(()) })
    }

    /// Apply `batch` during a bulk load (a rebuild from offset 0 up to the log's end when
    /// it started): the same result as [`apply`](Projection::apply) once
    /// [`finish_bulk`](Projection::finish_bulk) ran. The default is `apply`.
    fn apply_bulk<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        self.apply(tx, schema, batch)
    }

    /// End the bulk load: whatever [`begin_bulk`](Projection::begin_bulk) removed is built
    /// again, so that [`apply`](Projection::apply) can take over. The default does nothing.
    fn finish_bulk<'a>(
        &'a self,
        _tx: &'a mut sqlx::PgConnection,
        _schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async { Ok(()) })
    }

    /// Apply `batch` (in log order per partition) set-wise inside the runtime's
    /// transaction. A [`ProjectionError::Poison`] names the record that can never be
    /// applied, when it is known.
    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>>;
}

/// A column of a read model that a rebuild does not reproduce (see
/// [`Projection::impure_columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImpureColumn {
    /// Table name (in the projection's schema).
    pub table: &'static str,
    /// Column name.
    pub column: &'static str,
    /// Why it differs between builds.
    pub why: &'static str,
}

/// Where a record sits in the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordId {
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// One record as it was read from the log; decoding it is the projection's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Record key, if any.
    pub key: Option<Vec<u8>>,
    /// Record value, if any (a tombstone has none).
    pub payload: Option<Vec<u8>>,
    /// Headers in their order on the record; a header without value has an empty one.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Create or log-append time, in milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
}

impl SourceRecord {
    /// Where this record sits in the log.
    pub fn id(&self) -> RecordId {
        RecordId {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
        }
    }

    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    }

    pub(crate) fn from_message(msg: &BorrowedMessage<'_>) -> Self {
        let headers = msg
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: msg.topic().to_owned(),
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            payload: msg.payload().map(<[u8]>::to_vec),
            headers,
            timestamp_ms: msg.timestamp().to_millis(),
        }
    }
}

/// Why a projection could not apply a batch.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// A record that can never be applied (undecodable, violates an invariant). The
    /// runtime retries, isolates it, sends it to the dead-letter topic and parks its key.
    #[error("poison record{}: {reason}", record.as_ref().map(|r| format!(" {r}")).unwrap_or_default())]
    Poison {
        /// The record, when the projection knows which one it is; otherwise the runtime
        /// bisects the batch to find it.
        record: Option<RecordId>,
        /// What is wrong with it, for the `dlq_error` header.
        reason: String,
    },
    /// The batch may succeed later (database down, lock timeout): it is retried, never
    /// skipped.
    #[error("transient: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ProjectionError {
    /// `record` can never be applied, because of `reason`.
    pub fn poison(record: &SourceRecord, reason: impl Into<String>) -> Self {
        Self::Poison {
            record: Some(record.id()),
            reason: reason.into(),
        }
    }

    /// Some record of the batch can never be applied; the runtime finds which.
    pub fn poison_somewhere(reason: impl Into<String>) -> Self {
        Self::Poison {
            record: None,
            reason: reason.into(),
        }
    }

    /// A failure worth retrying later.
    pub fn transient(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Transient(err.into())
    }

    /// Whether this is a poison record (as opposed to a transient failure).
    pub fn is_poison(&self) -> bool {
        matches!(self, Self::Poison { .. })
    }
}

/// Database errors are transient unless the projection says otherwise: a batch is
/// retried, never skipped, because the database failed.
impl From<sqlx::Error> for ProjectionError {
    fn from(err: sqlx::Error) -> Self {
        Self::Transient(Box::new(err))
    }
}
