//! One producer for every service that appends to the log: the queue-full retry, the wait
//! for the broker's acknowledgement, and the flush on shutdown.
//!
//! [`Producer`] wraps an rdkafka [`FutureProducer`] (plain or transactional, from the
//! [`crate::kafka`] presets) and is what the gateway, the decoder and the commands' outbox
//! relay send through:
//!
//! - [`Producer::try_send`] enqueues a record without awaiting, handing it back when
//!   librdkafka's queue is full; [`Producer::send`] does the same, then waits the full
//!   queue out ([`retry::RetryPolicy`]: a bounded, growing backoff, given up at a limit or
//!   a cancellation). A record the queue takes costs no await, timer or allocation beyond
//!   librdkafka's own, so the gateway appends its frames through it; batching is
//!   librdkafka's (`linger.ms`), across every caller of one producer.
//! - [`Producer::delivered`] waits for one record's delivery report, with a timeout past
//!   librdkafka's own `message.timeout.ms`.
//! - [`Producer::flush`] waits, bounded, until what was enqueued is delivered (dropping an
//!   rdkafka producer purges whatever is still queued).
//!
//! Where callers differ on purpose, they say so per call: the gateway's frames and the
//! decoder's records give up when shutdown is cancelled (an un-ACKed frame is sent again by
//! its device; an aborted transaction is read again), while session events, downlink
//! outcomes and the relay's last round after a shutdown signal are still sent. A
//! transactional producer's calls (`begin_transaction`, …) go to [`Producer::client`].

pub mod retry;

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::ToBytes;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};
use tokio_util::sync::CancellationToken;

use crate::settings::KafkaSettings;
use retry::{GaveUp, Refusal, RetryPolicy};

/// How much longer than `message.timeout.ms` a delivery report may take before
/// [`Producer::delivered`] stops waiting for it.
const DELIVERY_MARGIN: Duration = Duration::from_secs(5);

/// A record was not appended.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The producer refused the record, or the broker did not take it.
    #[error("producer: {0}")]
    Kafka(#[from] KafkaError),
    /// librdkafka's queue stayed full this long.
    #[error("the producer's queue stayed full for {0:?}")]
    QueueFull(Duration),
    /// Cancelled while librdkafka's queue was full.
    #[error("cancelled while the producer's queue was full")]
    Cancelled,
    /// No delivery report came within this long.
    #[error("no delivery report within {0:?}")]
    DeliveryTimeout(Duration),
    /// The producer dropped the record without a delivery report.
    #[error("the producer dropped the record")]
    Dropped,
    /// The thread that flushed panicked or was cancelled.
    #[error("the flush was interrupted")]
    FlushInterrupted,
}

impl ProduceError {
    /// The rdkafka error, if that is what it was.
    pub fn kafka(&self) -> Option<&KafkaError> {
        match self {
            Self::Kafka(err) => Some(err),
            _ => None,
        }
    }
}

/// Why [`Producer::try_send`] did not enqueue a record.
pub enum TrySendError<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized> {
    /// librdkafka's queue is full: the record comes back, to be sent again later.
    QueueFull(FutureRecord<'a, K, P>),
    /// Refused for another reason.
    Failed(KafkaError),
}

/// Where a delivered record landed (partition, offset, timestamp).
pub use rdkafka::producer::future_producer::Delivery;

/// An rdkafka producer with the queue-full retry, the delivery wait and the flush.
/// Clones share one client.
#[derive(Clone)]
pub struct Producer {
    client: FutureProducer,
    retry: RetryPolicy,
    delivery_timeout: Duration,
}

impl Producer {
    /// Wrap `client`, whose `message.timeout.ms` is `message_timeout`: the queue-full
    /// retry gives up after that long (a record could not wait longer for the broker
    /// anyway), and a delivery report is waited for a little longer.
    pub fn new(client: FutureProducer, message_timeout: Duration) -> Self {
        Self::with_policy(
            client,
            RetryPolicy::new(message_timeout),
            message_timeout.saturating_add(DELIVERY_MARGIN),
        )
    }

    /// Wrap `client` with an explicit retry policy and delivery timeout.
    pub fn with_policy(
        client: FutureProducer,
        retry: RetryPolicy,
        delivery_timeout: Duration,
    ) -> Self {
        Self {
            client,
            retry,
            delivery_timeout,
        }
    }

    /// A producer from the [`crate::kafka::producer_config`] preset.
    ///
    /// # Errors
    /// When librdkafka rejects the configuration.
    pub fn from_settings(settings: &KafkaSettings, role: &str) -> Result<Self, KafkaError> {
        Ok(Self::new(
            crate::kafka::producer(settings, role)?,
            Duration::from_millis(u64::from(settings.message_timeout_ms)),
        ))
    }

    /// The rdkafka client, for what this wrapper does not cover (transactions).
    pub fn client(&self) -> &FutureProducer {
        &self.client
    }

    /// Enqueue `record` without waiting; the delivery future resolves once the broker
    /// acknowledged it (or it failed).
    ///
    /// # Errors
    /// [`TrySendError::QueueFull`] with the record when librdkafka's queue is full;
    /// [`TrySendError::Failed`] when the record is refused for another reason.
    pub fn try_send<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
    ) -> Result<DeliveryFuture, TrySendError<'a, K, P>>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        self.client
            .send_result(record)
            .map_err(|(err, back)| match err {
                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => {
                    TrySendError::QueueFull(back)
                }
                err => TrySendError::Failed(err),
            })
    }

    /// Enqueue `record`; while librdkafka's queue is full, wait (a bounded backoff) and
    /// try again, until the retry policy's limit or until `cancel` is cancelled. Await
    /// the returned future (or [`Producer::delivered`]) for the broker's acknowledgement.
    ///
    /// # Errors
    /// The record refused, the queue full for too long, or `cancel` cancelled first.
    pub async fn send<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
        cancel: Option<&CancellationToken>,
    ) -> Result<DeliveryFuture, ProduceError>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        match self.try_send(record) {
            Ok(delivery) => Ok(delivery),
            Err(TrySendError::Failed(err)) => Err(err.into()),
            // The slow path is boxed: a send's future stays small for its many callers.
            Err(TrySendError::QueueFull(record)) => Box::pin(self.retry_full(record, cancel)).await,
        }
    }

    async fn retry_full<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
        cancel: Option<&CancellationToken>,
    ) -> Result<DeliveryFuture, ProduceError>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let attempt = |record| {
            self.try_send(record).map_err(|refused| match refused {
                TrySendError::QueueFull(back) => Refusal::QueueFull(back),
                TrySendError::Failed(err) => Refusal::Failed(err),
            })
        };
        match retry::retry_while_full(&self.retry, cancel, record, attempt).await {
            Ok(delivery) => Ok(delivery),
            Err(GaveUp::Failed(err)) => Err(err.into()),
            Err(GaveUp::StillFull(waited)) => Err(ProduceError::QueueFull(waited)),
            Err(GaveUp::Cancelled) => Err(ProduceError::Cancelled),
        }
    }

    /// Wait for `delivery`'s report, at most the delivery timeout.
    ///
    /// # Errors
    /// The broker did not take the record, the report did not come in time, or the
    /// producer dropped the record.
    pub async fn delivered(&self, delivery: DeliveryFuture) -> Result<Delivery, ProduceError> {
        match tokio::time::timeout(self.delivery_timeout, delivery).await {
            Ok(Ok(Ok(delivery))) => Ok(delivery),
            Ok(Ok(Err((err, _)))) => Err(err.into()),
            Ok(Err(_cancelled)) => Err(ProduceError::Dropped),
            Err(_elapsed) => Err(ProduceError::DeliveryTimeout(self.delivery_timeout)),
        }
    }

    /// [`Producer::send`], then [`Producer::delivered`].
    ///
    /// # Errors
    /// As those two.
    pub async fn send_and_wait<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
        cancel: Option<&CancellationToken>,
    ) -> Result<Delivery, ProduceError>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let delivery = self.send(record, cancel).await?;
        self.delivered(delivery).await
    }

    /// Records enqueued and not yet delivered (or failed).
    pub fn in_flight(&self) -> i32 {
        self.client.in_flight_count()
    }

    /// Wait until every enqueued record was delivered or failed, at most `timeout`; on a
    /// thread of the blocking pool (librdkafka's flush blocks), returning by `timeout`.
    ///
    /// # Errors
    /// When records are still in flight after `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), ProduceError> {
        if self.in_flight() == 0 {
            return Ok(());
        }
        let client = self.client.clone();
        match tokio::task::spawn_blocking(move || client.flush(timeout)).await {
            Ok(result) => Ok(result?),
            Err(_interrupted) => Err(ProduceError::FlushInterrupted),
        }
    }
}

#[cfg(test)]
mod tests;
