//! Appending to the log: raw frames, session events and downlink outcomes.
//!
//! Every record is Avro in the Confluent wire format with CloudEvents headers, sent through
//! the shared [`fleetlog_runtime::producer::Producer`] (its queue-full retry, delivery wait
//! and flush). Frame appends return the broker's delivery future so the connection can ACK
//! the device only once the append is durable (`acks=all`); a frame the queue takes at once
//! costs no await and no allocation beyond its payload.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fleetlog_runtime::producer::{ProduceError, Producer};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DeviceReply, RawFrame, RawFrameRef, SessionEvent};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::{HEADER_LEN, WireCodec, WireError};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureRecord};
use tokio_util::sync::CancellationToken;

/// An append could not be started, or (session events, outcomes) was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The value could not be encoded (registry unreachable, schema missing).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The producer refused the record, its queue stayed full, or the broker did not
    /// acknowledge it.
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

/// Shared by every connection of one gateway process.
#[derive(Clone)]
pub struct Publisher {
    producer: Producer,
    codec: Arc<WireCodec>,
    source: String,
    /// The wire-format prefix of `scooter.frames.v1` values once the direct encoder was
    /// checked against the codec (`None` inside: it disagreed, use the codec).
    frame_prefix: Arc<OnceLock<Option<[u8; HEADER_LEN]>>>,
}

impl Publisher {
    /// A publisher for gateway `gateway_id`.
    pub fn new(producer: Producer, codec: Arc<WireCodec>, gateway_id: &str) -> Self {
        Self {
            producer,
            codec,
            source: source_of(gateway_id),
            frame_prefix: Arc::new(OnceLock::new()),
        }
    }

    /// The `ce_source` of this gateway's events.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Start appending `frame` (key = `device_id`); its id becomes the root of a new chain.
    /// Await the returned future before ACKing the device. While the producer's queue is
    /// full this waits (backpressure), until `stop` is cancelled.
    ///
    /// The value is written straight in the Confluent wire format
    /// ([`RawFrameRef::write_avro`] after the schema id's 5-byte prefix). The first frame
    /// goes through the registry codec instead, and the prefix is kept only if the codec's
    /// body equals ours for that frame; otherwise every frame keeps using the codec.
    ///
    /// # Errors
    /// When the frame cannot be encoded, the producer refuses it, its queue stays full too
    /// long, or `stop` is cancelled while it is full ([`ProduceError::Cancelled`]).
    pub async fn append_frame(
        &self,
        mut frame: RawFrameRef<'_>,
        device_id: &str,
        stop: &CancellationToken,
    ) -> Result<DeliveryFuture, PublishError> {
        let (id, headers) = Envelope::root_headers(topics::FRAMES, &self.source, device_id);
        frame.frame_id = id;
        let payload = match self.frame_prefix.get() {
            Some(Some(prefix)) => {
                let mut payload =
                    Vec::with_capacity(64 + frame.raw.len() + frame.remote_addr.len());
                payload.extend_from_slice(prefix);
                frame.write_avro(&mut payload);
                payload
            }
            _ => Box::pin(self.encode_with_codec(frame)).await?,
        };
        let record = FutureRecord::to(topics::FRAMES.name())
            .key(device_id)
            .payload(&payload)
            .headers(headers);
        Ok(self.producer.send(record, Some(stop)).await?)
    }

    /// Encode with the registry codec; the first time, learn whether the direct encoder
    /// agrees with it (and the schema id's prefix).
    async fn encode_with_codec(&self, frame: RawFrameRef<'_>) -> Result<Vec<u8>, PublishError> {
        let owned = RawFrame {
            frame_id: frame.frame_id,
            gateway_id: frame.gateway_id.to_owned(),
            protocol: frame.protocol,
            remote_addr: frame.remote_addr.to_owned(),
            received_at_ms: frame.received_at_ms,
            raw: frame.raw.to_vec(),
            status: frame.status,
            device_id: frame.device_id.map(str::to_owned),
        };
        let payload = self.codec.encode(topics::FRAMES, &owned).await?;
        if self.frame_prefix.get().is_none() {
            let mut body = Vec::new();
            frame.write_avro(&mut body);
            let agrees =
                payload.len() == HEADER_LEN + body.len() && payload[HEADER_LEN..] == body[..];
            let prefix = payload
                .get(..HEADER_LEN)
                .and_then(|p| <[u8; HEADER_LEN]>::try_from(p).ok());
            if !agrees {
                tracing::warn!(
                    "the direct RawFrame encoder disagrees with the registry schema; using the codec for every frame"
                );
            }
            let _ = self.frame_prefix.set(prefix.filter(|_| agrees));
        }
        Ok(payload)
    }

    /// Append a session event (root of its own chain); waits for the broker. Not given up
    /// at shutdown: the disconnects of a stopping gateway are sent too.
    ///
    /// # Errors
    /// When encoding or the append fails.
    pub async fn session(&self, event: &SessionEvent) -> Result<(), PublishError> {
        let envelope = Envelope::new_root(topics::SESSIONS, &self.source, &event.device_id);
        let payload = self.codec.encode(topics::SESSIONS, event).await?;
        self.send_and_wait(
            topics::SESSIONS.name(),
            &event.device_id,
            &payload,
            envelope.to_headers(),
        )
        .await
    }

    /// Append a downlink outcome with `envelope` (a child of the command's, built by the
    /// caller: a final outcome's is the one recorded with it, so appending it again is the
    /// same event); waits for the broker. Not given up at shutdown either.
    ///
    /// # Errors
    /// When encoding or the append fails.
    pub async fn reply(
        &self,
        envelope: &Envelope,
        reply: &DeviceReply,
    ) -> Result<(), PublishError> {
        let payload = self.codec.encode(topics::REPLIES, reply).await?;
        self.send_and_wait(
            topics::REPLIES.name(),
            &reply.device_id,
            &payload,
            envelope.to_headers(),
        )
        .await
    }

    async fn send_and_wait(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), PublishError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        self.producer.send_and_wait(record, None).await?;
        Ok(())
    }

    /// Wait, at most `timeout`, until every append started is delivered (or failed): what
    /// is still queued when the producer is dropped is lost.
    ///
    /// # Errors
    /// When appends are still in flight after `timeout`.
    pub async fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        Ok(self.producer.flush(timeout).await?)
    }
}

/// The `ce_source` of gateway `gateway_id`'s events.
pub(crate) fn source_of(gateway_id: &str) -> String {
    format!("/fleetlog/gateway/{gateway_id}")
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
