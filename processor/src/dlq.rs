//! Dead-letter records: a poison record goes to `<topic>.dlq.v1` with its key, payload
//! and headers, plus the `dlq_*` headers of `fleetlog_schemas::dlq` (processor = the
//! projection name). The broker must acknowledge it (`acks=all`)
//! before the batch that skips the record commits its offsets.

use std::time::Duration;

use fleetlog_schemas::dlq::Origin;
use futures::future::join_all;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::error::RuntimeError;
use super::projection::SourceRecord;

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
        let sends = poison.iter().zip(&topics).map(|((record, error), topic)| {
            let mut fr = FutureRecord::<[u8], [u8]>::to(topic).headers(self.headers(record, error));
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

    fn headers(&self, record: &SourceRecord, error: &str) -> OwnedHeaders {
        let original = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()));
        let origin = Origin {
            topic: &record.topic,
            partition: record.partition,
            offset: record.offset,
        };
        fleetlog_schemas::dlq::headers(original, self.projection, error, origin)
    }
}

fn dlq_error(topics: &[String], reason: String) -> RuntimeError {
    RuntimeError::Dlq {
        topic: topics.first().cloned().unwrap_or_default(),
        reason,
    }
}
