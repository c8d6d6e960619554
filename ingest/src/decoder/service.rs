//! The decoder's consume → decode → produce → commit loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_schemas::dlq::{self, Origin};
use fleetlog_schemas::envelope::{Envelope, event_type};
use fleetlog_schemas::events::{FrameStatus, Protocol as StoredProtocol, RawFrame};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::{WireCodec, WireError};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::protocol::{Protocol, decode_records};

const BATCH_MAX: usize = 2000;
const BATCH_WAIT: Duration = Duration::from_millis(20);
const METRIC_FRAMES: &str = "fleetlog_decoder_frames_total";
const METRIC_RECORDS: &str = "fleetlog_decoder_records_total";

/// A batch could not be finished; it is retried as a whole.
#[derive(Debug, thiserror::Error)]
pub enum DecoderError {
    /// The registry could not resolve a schema (transient: retried).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The broker refused or did not acknowledge a record.
    #[error("broker: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// Decodes frames and appends telemetry.
pub struct Decoder {
    producer: FutureProducer,
    codec: Arc<WireCodec>,
    source: String,
}

impl Decoder {
    /// A decoder producing through `producer`, encoding with `codec`.
    pub fn new(producer: FutureProducer, codec: Arc<WireCodec>) -> Self {
        Self {
            producer,
            codec,
            source: "/fleetlog/decoder".into(),
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
        let frame = match self.codec.decode::<RawFrame>(payload).await {
            Ok((frame, _)) => frame,
            Err(err @ WireError::Decode { .. }) => return Err(err.into()),
            Err(err) => return self.dead_letter(message, &format!("value: {err}")).await,
        };
        if matches!(
            frame.status,
            FrameStatus::BadChecksum | FrameStatus::Oversize
        ) {
            metrics::counter!(METRIC_FRAMES, "outcome" => "skipped_bad").increment(1);
            return Ok(Vec::new());
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
            let id = Envelope::derived_id(envelope.id, format!("record-{index}").as_bytes());
            let child =
                Envelope::child_with_id(&envelope, id, event_type::TELEMETRY, &self.source, &key);
            let payload = self.codec.encode(topics::TELEMETRY, &event).await?;
            deliveries.push(
                self.send(topics::TELEMETRY, &key, &payload, child.to_headers())
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
        let dlq_topic = topics::dlq(topics::FRAMES);
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
        loop {
            let record = FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(headers.clone());
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    _,
                )) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err((err, _)) => return Err(err.into()),
            }
        }
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
/// `fleetlog-decoder`).
///
/// # Errors
/// When the clients cannot be created.
pub async fn run(settings: &Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let group = format!("{}-decoder", settings.kafka.client_id);
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(&settings.kafka, &group).create()?;
    consumer.subscribe(&[topics::FRAMES])?;
    let producer = fleetlog_runtime::kafka::producer(&settings.kafka, "decoder")?;
    let decoder = Decoder::new(
        producer,
        Arc::new(WireCodec::new(&settings.schema_registry_url)),
    );
    loop {
        let batch = next_batch(&consumer, &shutdown).await;
        if batch.is_empty() {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            continue;
        }
        // A failed batch is redone whole: ids are deterministic, consumers dedupe.
        while let Err(err) = process(&decoder, &batch).await {
            tracing::warn!(error = %err, frames = batch.len(), "decoder batch failed; retrying");
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        commit(&consumer, &batch);
    }
}

async fn process(decoder: &Decoder, batch: &[OwnedMessage]) -> Result<(), DecoderError> {
    let mut deliveries = Vec::new();
    for message in batch {
        deliveries.extend(decoder.handle(message).await?);
    }
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((err, _))) => return Err(err.into()),
            Err(_) => return Err(rdkafka::error::KafkaError::Canceled.into()),
        }
    }
    Ok(())
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

fn commit(consumer: &StreamConsumer, batch: &[OwnedMessage]) {
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    for message in batch {
        let entry = next
            .entry((message.topic().to_owned(), message.partition()))
            .or_default();
        *entry = (*entry).max(message.offset() + 1);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        let _ = list.add_partition_offset(&topic, partition, Offset::Offset(offset));
    }
    if let Err(err) = consumer.commit(&list, CommitMode::Async) {
        tracing::warn!(error = %err, "decoder offset commit failed (the batch may be decoded again)");
    }
}
