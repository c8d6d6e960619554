//! Dead-letter records: a poison record goes to `<topic>.dlq.v1` with its key, payload
//! and headers, plus `dlq_error`, `dlq_projection` (and `dlq_processor`), `dlq_topic`,
//! `dlq_partition`, `dlq_offset` and `dlq_at` (RFC 3339). The broker must acknowledge it (`acks=all`)
//! before the batch that skips the record commits its offsets.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::error::RuntimeError;
use super::projection::SourceRecord;

/// Header names added to a dead-letter record.
pub mod headers {
    /// Why the record could not be applied.
    pub const ERROR: &str = "dlq_error";
    /// The projection that gave up on it.
    pub const PROJECTION: &str = "dlq_projection";
    /// The processor that gave up on it: the projection name again, under the name every
    /// fleetlog processor uses (the decoder too).
    pub const PROCESSOR: &str = "dlq_processor";
    /// Its original topic.
    pub const TOPIC: &str = "dlq_topic";
    /// Its original partition (decimal).
    pub const PARTITION: &str = "dlq_partition";
    /// Its original offset (decimal).
    pub const OFFSET: &str = "dlq_offset";
    /// When it was dead-lettered (RFC 3339, UTC).
    pub const AT: &str = "dlq_at";
}

/// Sends poison records to their dead-letter topics.
pub(crate) struct DlqSender {
    producer: FutureProducer,
    projection: &'static str,
    timeout: Duration,
}

impl DlqSender {
    pub(crate) fn new(
        producer: FutureProducer,
        projection: &'static str,
        timeout: Duration,
    ) -> Self {
        Self {
            producer,
            projection,
            timeout,
        }
    }

    /// Send every `(record, error)` and wait for all acknowledgements.
    ///
    /// # Errors
    /// [`RuntimeError::Dlq`] when one is not acknowledged within the timeout.
    #[tracing::instrument(skip_all, fields(projection = self.projection, records = poison.len()))]
    pub(crate) async fn send_all(
        &self,
        poison: &[(&SourceRecord, &str)],
    ) -> Result<(), RuntimeError> {
        let topics: Vec<String> = poison
            .iter()
            .map(|(r, _)| fleetlog_schemas::topics::dlq(&r.topic))
            .collect();
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let sends = poison.iter().zip(&topics).map(|((record, error), topic)| {
            let mut fr =
                FutureRecord::<[u8], [u8]>::to(topic).headers(self.headers(record, error, &at));
            if let Some(key) = &record.key {
                fr = fr.key(key.as_slice());
            }
            if let Some(payload) = &record.payload {
                fr = fr.payload(payload.as_slice());
            }
            self.producer.send(fr, self.timeout)
        });
        let results = tokio::time::timeout(self.timeout, join_all(sends))
            .await
            .map_err(|_| dlq_error(&topics, "not acknowledged in time".into()))?;
        for result in results {
            result.map_err(|(err, _)| dlq_error(&topics, err.to_string()))?;
        }
        tracing::warn!(
            records = poison.len(),
            "poison records sent to the dead-letter topic"
        );
        Ok(())
    }

    fn headers(&self, record: &SourceRecord, error: &str, at: &str) -> OwnedHeaders {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 7);
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_slice()),
            });
        }
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        for (key, value) in [
            (headers::ERROR, error),
            (headers::PROJECTION, self.projection),
            (headers::PROCESSOR, self.projection),
            (headers::TOPIC, record.topic.as_str()),
            (headers::PARTITION, partition.as_str()),
            (headers::OFFSET, offset.as_str()),
            (headers::AT, at),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        headers
    }
}

fn dlq_error(topics: &[String], reason: String) -> RuntimeError {
    RuntimeError::Dlq {
        topic: topics.first().cloned().unwrap_or_default(),
        reason,
    }
}
