//! The decoder's blocking librdkafka transaction calls (`init_transactions`,
//! `send_offsets_to_transaction` + `commit_transaction`, `abort_transaction`), each run on
//! a thread of its own and waited for at most [`CALL_LIMIT`].
//!
//! librdkafka can wait without end for a transaction coordinator that is gone (seen:
//! `send_offsets_to_transaction` after every broker was stopped; and a commit in flight
//! when the coordinator's broker was killed left a decoder silent for minutes in the
//! scale-out test while its partitions, still assigned to it, went undecoded). A call that
//! does not answer within its bound is treated like a fenced producer: the caller replaces
//! the producer with a new one under the same `transactional.id`, which fences the stuck
//! one and aborts what it left open, and reads the batch again.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, Producer as _};
use tokio_util::sync::CancellationToken;

use super::service::DecoderError;

/// How long a transaction call may block before the batch is retried.
pub(super) const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a transaction call is waited for before its producer is given up: past
/// librdkafka's own timeout ([`TXN_TIMEOUT`]), which it does not always keep.
const CALL_LIMIT: Duration = Duration::from_secs(45);

/// Why a batch's transaction did not commit.
#[derive(Debug)]
pub(super) enum TxnFailure {
    /// Abort, rewind and read the batch again.
    Retry(String),
    /// The producer cannot go on (fenced, a fatal error, or a call that never answered):
    /// replace it.
    Fatal(String),
}

impl From<DecoderError> for TxnFailure {
    fn from(err: DecoderError) -> Self {
        match err.kafka() {
            Some(kafka) if is_fatal(kafka) => Self::Fatal(err.to_string()),
            _ => Self::Retry(err.to_string()),
        }
    }
}

fn is_fatal(err: &rdkafka::error::KafkaError) -> bool {
    matches!(err, rdkafka::error::KafkaError::Transaction(e) if e.is_fatal())
}

/// What a call run off the runtime came to.
pub(super) enum Offloaded<T> {
    /// It answered.
    Done(T),
    /// `shutdown` came first.
    Stopped,
    /// No answer within [`CALL_LIMIT`] (or its thread could not run it).
    Hung,
}

/// Run a blocking librdkafka transaction call on a thread of its own and wait for it, for
/// `shutdown`, or for [`CALL_LIMIT`]. A detached thread, unlike the runtime's blocking
/// pool, never holds up the runtime's shutdown; a transaction it leaves open is aborted by
/// the next producer under the same `transactional.id`.
pub(super) async fn off_runtime<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
    shutdown: &CancellationToken,
) -> Offloaded<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("decoder-txn".into())
        .spawn(move || {
            let _ = tx.send(call());
        });
    if spawned.is_err() {
        return Offloaded::Hung;
    }
    tokio::select! {
        result = tokio::time::timeout(CALL_LIMIT, rx) => match result {
            Ok(Ok(answer)) => Offloaded::Done(answer),
            Ok(Err(_)) | Err(_) => Offloaded::Hung,
        },
        () = shutdown.cancelled() => Offloaded::Stopped,
    }
}

/// Register the `transactional.id` with the broker (fencing an earlier instance and
/// aborting what it left open), retried while the broker is unreachable or the call does
/// not answer; false when `shutdown` came first.
///
/// # Errors
/// When librdkafka calls the error fatal.
pub(super) async fn init_transactions(
    producer: &FutureProducer,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    loop {
        let p = producer.clone();
        match off_runtime(move || p.init_transactions(TXN_TIMEOUT), shutdown).await {
            Offloaded::Stopped => return Ok(false),
            Offloaded::Done(Ok(())) => return Ok(true),
            Offloaded::Done(Err(err)) if is_fatal(&err) => {
                return Err(anyhow::anyhow!(err).context("decoder init_transactions"));
            }
            Offloaded::Done(Err(err)) => {
                tracing::warn!(error = %err, "decoder cannot start its transactions yet");
            }
            Offloaded::Hung => tracing::warn!(
                limit = ?CALL_LIMIT,
                "decoder init_transactions did not answer: trying again"
            ),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(false),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Abort the open transaction, if any: `Err` (why) when the producer cannot go on (a
/// fatal error, or no answer) and must be replaced.
pub(super) async fn abort(
    producer: &FutureProducer,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let p = producer.clone();
    match off_runtime(move || p.abort_transaction(TXN_TIMEOUT), shutdown).await {
        Offloaded::Done(Err(err)) if is_fatal(&err) => Err(format!("abort: {err}")),
        Offloaded::Done(Err(err)) => {
            tracing::debug!(error = %err, "decoder abort (nothing open?)");
            Ok(())
        }
        Offloaded::Hung => Err(format!("abort did not answer within {CALL_LIMIT:?}")),
        Offloaded::Done(Ok(())) | Offloaded::Stopped => Ok(()),
    }
}
