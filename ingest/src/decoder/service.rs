//! The decoder's consume → decode → produce → commit loop.
//!
//! Its records go through the shared [`Producer`] (a transactional client): a full queue
//! is waited out until shutdown, and any record that fails aborts the batch's transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_runtime::detached_drop::DetachedDrop;
use fleetlog_runtime::producer::{ProduceError, Producer};
use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::dlq::{self, Origin};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{FrameStatus, Protocol as StoredProtocol, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::{WireCodec, WireError};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer as _};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::txn::{Offloaded, TXN_TIMEOUT, TxnFailure, abort, init_transactions, off_runtime};
use crate::protocol::{Protocol, decode_records};

const BATCH_MAX: usize = 2000;
const BATCH_WAIT: Duration = Duration::from_millis(20);
const METRIC_FRAMES: &str = "fleetlog_decoder_frames_total";
const METRIC_RECORDS: &str = "fleetlog_decoder_records_total";
const METRIC_FUTURE: &str = "fleetlog_decoder_future_device_times_total";

/// A batch could not be finished; its transaction is aborted and it is read again.
#[derive(Debug, thiserror::Error)]
pub enum DecoderError {
    /// The registry did not answer, or a value could not be encoded (transient: retried).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The broker refused or did not acknowledge a record, or a transaction call failed.
    #[error("broker: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A record was not enqueued (refused, the queue full too long, or shutdown).
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

impl DecoderError {
    pub(super) fn kafka(&self) -> Option<&rdkafka::error::KafkaError> {
        match self {
            Self::Kafka(err) => Some(err),
            Self::Produce(err) => err.kafka(),
            Self::Wire(_) => None,
        }
    }
}

/// Decodes frames and appends telemetry.
pub struct Decoder {
    producer: Producer,
    codec: Arc<WireCodec>,
    source: String,
    /// A send waiting on a full queue gives up when this is cancelled (the batch is then
    /// aborted and read again by the next instance).
    shutdown: CancellationToken,
}

impl Decoder {
    /// A decoder producing through `producer` (transactional), encoding with `codec`,
    /// until `shutdown`.
    pub fn new(producer: Producer, codec: Arc<WireCodec>, shutdown: CancellationToken) -> Self {
        Self {
            producer,
            codec,
            source: "/fleetlog/decoder".into(),
            shutdown,
        }
    }

    /// Handle one frame record: the deliveries to await before its offset may be committed.
    ///
    /// # Errors
    /// Transient failures only (registry or broker); poison frames go to the DLQ instead.
    pub async fn handle(
        &self,
        message: &OwnedMessage,
    ) -> Result<Vec<DeliveryFuture>, DecoderError> {
        let envelope = match message.headers().map(Envelope::from_headers) {
            Some(Ok(envelope)) => envelope,
            Some(Err(err)) => return self.dead_letter(message, &format!("envelope: {err}")).await,
            None => return self.dead_letter(message, "envelope: no headers").await,
        };
        let payload = message.payload().unwrap_or_default();
        let frame = match self.codec.decode(topics::FRAMES, payload).await {
            Ok((frame, _)) => frame,
            Err(err) if err.is_permanent() => {
                return self.dead_letter(message, &format!("value: {err}")).await;
            }
            Err(err) => return Err(err.into()),
        };
        match frame.status {
            FrameStatus::BadChecksum | FrameStatus::Oversize => {
                metrics::counter!(METRIC_FRAMES, "outcome" => "skipped_bad").increment(1);
                return Ok(Vec::new());
            }
            // Quarantined: kept in the log, never turned into telemetry (fleet state).
            FrameStatus::UnknownDevice => {
                metrics::counter!(METRIC_FRAMES, "outcome" => "skipped_unknown_device")
                    .increment(1);
                return Ok(Vec::new());
            }
            FrameStatus::Ok => {}
        }
        let records = match decode_records(protocol(frame.protocol), &frame.raw) {
            Ok(records) => records,
            Err(err) => return self.dead_letter(message, &err.to_string()).await,
        };
        metrics::counter!(METRIC_FRAMES, "outcome" => "decoded").increment(1);
        metrics::counter!(METRIC_RECORDS).increment(records.len() as u64);
        let key = key_of(message, &frame);
        let mut deliveries = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            let event = super::telemetry(&frame, &key, index, record);
            if record
                .device_time_ms
                .is_some_and(|t| t != event.device_time_ms)
            {
                metrics::counter!(METRIC_FUTURE).increment(1);
                tracing::warn!(device = %key, device_time_ms = ?record.device_time_ms,
                    received_at_ms = frame.received_at_ms,
                    "device time in the future; dated at its receive time");
            }
            let id = Envelope::derived_id(envelope.id, Derived::Record(index));
            let child =
                Envelope::child_with_id(&envelope, id, topics::TELEMETRY, &self.source, &key);
            let payload = self.codec.encode(topics::TELEMETRY, &event).await?;
            deliveries.push(
                self.send(topics::TELEMETRY.name(), &key, &payload, child.to_headers())
                    .await?,
            );
        }
        Ok(deliveries)
    }

    async fn dead_letter(
        &self,
        message: &OwnedMessage,
        reason: &str,
    ) -> Result<Vec<DeliveryFuture>, DecoderError> {
        metrics::counter!(METRIC_FRAMES, "outcome" => "dead_lettered").increment(1);
        tracing::warn!(
            partition = message.partition(),
            offset = message.offset(),
            reason,
            "frame to DLQ"
        );
        let origin = Origin {
            topic: message.topic(),
            partition: message.partition(),
            offset: message.offset(),
        };
        let original = message.headers().into_iter().flat_map(|h| {
            h.iter()
                .map(|h| (h.key, h.value.unwrap_or_default()))
                .collect::<Vec<_>>()
        });
        let headers = dlq::headers(original, "decoder", reason, origin);
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        let dlq_topic = topics::FRAMES.dlq();
        let payload = message.payload().unwrap_or_default();
        Ok(vec![self.send(&dlq_topic, &key, payload, headers).await?])
    }

    async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: rdkafka::message::OwnedHeaders,
    ) -> Result<DeliveryFuture, DecoderError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        Ok(self.producer.send(record, Some(&self.shutdown)).await?)
    }
}

fn key_of(message: &OwnedMessage, frame: &RawFrame) -> String {
    frame
        .device_id
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned())
}

fn protocol(stored: StoredProtocol) -> Protocol {
    match stored {
        StoredProtocol::Teltonika => Protocol::Teltonika,
        StoredProtocol::Omni => Protocol::Omni,
        StoredProtocol::Gt06 => Protocol::Gt06,
    }
}

/// Run the decoder until `shutdown` (consumer group `<client id>-decoder`, by default
/// `fleetlog-decoder`; `transactional.id` and static group member id
/// `<client id>-decoder-<instance id>`).
///
/// Each batch is one Kafka transaction: its telemetry and dead letters, and the batch's
/// input offsets (sent to the transaction with the consumer's group metadata), commit
/// together or not at all. A batch that fails is aborted, its partitions are rewound to
/// the batch's first offsets and it is read again.
///
/// A producer that fails for good (fenced, or its transaction expired while a broker was
/// down) is replaced by a new one under the same `transactional.id`, and its batch is read
/// again.
///
/// # Errors
/// When the clients cannot be created, or a new producer cannot register its
/// `transactional.id`.
pub async fn run(settings: &Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let group = format!("{}-decoder", settings.kafka.client_id);
    let transactional_id = format!("{group}-{}", settings.kafka.instance_id);
    // Static membership under the same id: a restarted instance takes its partitions back
    // at once, without a rebalance of the group.
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(&settings.kafka, &group)
            .set("group.instance.id", &transactional_id)
            .create()?;
    consumer.subscribe(&[topics::FRAMES.name()])?;
    let producer = transactional_producer(settings, &transactional_id)?;
    if !init_transactions(producer.client(), &shutdown).await? {
        return Ok(());
    }
    let mut decoder = Decoder::new(
        producer,
        Arc::new(WireCodec::new(&settings.schema_registry_url)),
        shutdown.clone(),
    );
    loop {
        let batch = next_batch(&consumer, &shutdown).await;
        if batch.is_empty() {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            continue;
        }
        let failed = match transact(&decoder, &consumer, &batch, &shutdown).await {
            Ok(()) => continue,
            Err(TxnFailure::Fatal(err)) => err,
            Err(TxnFailure::Retry(err)) => {
                tracing::warn!(error = %err, frames = batch.len(), "decoder batch aborted; reading it again");
                let aborted = abort(decoder.producer.client(), &shutdown).await;
                rewind(&consumer, &batch);
                match aborted {
                    Ok(()) => {
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                        continue;
                    }
                    Err(err) => err,
                }
            }
        };
        // Fenced, expired (a transaction the coordinator aborted while a broker was down
        // bumps the producer epoch) or stuck (a call that never answered): this producer
        // cannot go on, but the instance can. A new one registers the same
        // `transactional.id` (fencing the old one) and the batch is read again; nothing of
        // the aborted transaction is visible to `read_committed` readers.
        tracing::warn!(error = %failed, frames = batch.len(),
            "decoder producer failed for good: a new producer takes over and the batch is read again");
        rewind(&consumer, &batch);
        let old = std::mem::replace(
            &mut decoder.producer,
            transactional_producer(settings, &transactional_id)?,
        );
        drop(DetachedDrop::new(old, "failed decoder producer"));
        if !init_transactions(decoder.producer.client(), &shutdown).await? {
            return Ok(());
        }
    }
}

/// The decoder's transactional producer (`transactional.id` = `transactional_id`); its
/// records time out with the transaction (`message.timeout.ms` = `transaction.timeout.ms`),
/// and so does its wait on a full queue.
fn transactional_producer(settings: &Settings, transactional_id: &str) -> anyhow::Result<Producer> {
    let client = fleetlog_runtime::kafka::transactional_producer_config(
        &settings.kafka,
        "decoder",
        transactional_id,
    )
    .create()?;
    let timeout = Duration::from_millis(u64::from(settings.kafka.transaction_timeout_ms));
    Ok(Producer::new(client, timeout))
}

/// One batch in one transaction: begin, produce every output, send the input offsets,
/// commit (which waits for every record's delivery).
async fn transact(
    decoder: &Decoder,
    consumer: &StreamConsumer,
    batch: &[OwnedMessage],
    shutdown: &CancellationToken,
) -> Result<(), TxnFailure> {
    decoder
        .producer
        .client()
        .begin_transaction()
        .map_err(DecoderError::from)?;
    for message in batch {
        // Deliveries are awaited by the commit, which fails if any record failed.
        drop(decoder.handle(message).await?);
    }
    let offsets = next_offsets(batch);
    let group = consumer
        .group_metadata()
        .ok_or_else(|| TxnFailure::Retry("no consumer group metadata yet".into()))?;
    let producer = decoder.producer.client().clone();
    let committed = off_runtime(
        move || {
            producer.send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT)?;
            producer.commit_transaction(TXN_TIMEOUT)
        },
        shutdown,
    )
    .await;
    match committed {
        Offloaded::Done(result) => Ok(result.map_err(DecoderError::from)?),
        Offloaded::Stopped => Err(TxnFailure::Retry(
            "shutdown before the commit answered".into(),
        )),
        Offloaded::Hung => Err(TxnFailure::Fatal(
            "the commit did not answer (a transaction coordinator gone?)".into(),
        )),
    }
}

async fn next_batch(consumer: &StreamConsumer, shutdown: &CancellationToken) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    let first = tokio::select! {
        () = shutdown.cancelled() => return batch,
        first = consumer.recv() => first,
    };
    match first {
        Ok(message) => batch.push(message.detach()),
        Err(err) => {
            tracing::warn!(error = %err, "decoder consumer error");
            return batch;
        }
    }
    let deadline = tokio::time::Instant::now() + BATCH_WAIT;
    while batch.len() < BATCH_MAX {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message.detach()),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    batch
}

/// Per partition of the batch, its lowest (`first`) or next (past the highest) offset.
fn batch_offsets(batch: &[OwnedMessage], first: bool) -> HashMap<(String, i32), i64> {
    let mut offsets: HashMap<(String, i32), i64> = HashMap::new();
    for message in batch {
        let key = (message.topic().to_owned(), message.partition());
        let offset = if first {
            message.offset()
        } else {
            message.offset() + 1
        };
        offsets
            .entry(key)
            .and_modify(|o| {
                *o = if first {
                    (*o).min(offset)
                } else {
                    (*o).max(offset)
                }
            })
            .or_insert(offset);
    }
    offsets
}

fn next_offsets(batch: &[OwnedMessage]) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in batch_offsets(batch, false) {
        let _ = list.add_partition_offset(&topic, partition, Offset::Offset(offset));
    }
    list
}

/// Set every partition of an aborted batch back to its first offset, so it is read again
/// (a partition no longer assigned here is left to its new owner, which starts from the
/// committed offset).
fn rewind(consumer: &StreamConsumer, batch: &[OwnedMessage]) {
    for ((topic, partition), offset) in batch_offsets(batch, true) {
        if let Err(err) = consumer.seek(
            &topic,
            partition,
            Offset::Offset(offset),
            Duration::from_secs(5),
        ) {
            tracing::debug!(error = %err, topic, partition, "decoder rewind skipped");
        }
    }
}
