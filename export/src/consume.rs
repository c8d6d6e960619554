//! Reading the log for the export: which partitions a topic has, where `--from`/`--to`
//! fall in each, and the records of one partition range `[from, to)` in offset order.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::ExportError;
use crate::bounds::Bound;
use crate::extent::Extent;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the next record before looking at the watermarks again.
const IDLE: Duration = Duration::from_secs(5);
/// How long a range may make no progress at all.
const STALLED: Duration = Duration::from_secs(60);

fn kafka(what: String) -> impl FnOnce(rdkafka::error::KafkaError) -> ExportError {
    move |source| ExportError::Kafka { what, source }
}

/// The partitions of every topic in `topics`, sorted.
///
/// # Errors
/// [`ExportError::UnknownTopic`] for a topic the broker does not have; broker errors.
pub(crate) fn partitions(
    consumer: &StreamConsumer,
    topics: &[String],
) -> Result<Vec<(String, Vec<i32>)>, ExportError> {
    let metadata = consumer
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(kafka("reading the broker's metadata".into()))?;
    topics
        .iter()
        .map(|name| {
            let topic = metadata
                .topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
                .ok_or_else(|| ExportError::UnknownTopic(name.clone()))?;
            let mut ids: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
            ids.sort_unstable();
            Ok((name.clone(), ids))
        })
        .collect()
}

/// How long to wait for the one record whose timestamp [`extent`] reads.
const PROBE: Duration = Duration::from_secs(10);

/// What one partition holds: its watermarks and the broker timestamps of its first and
/// last record, read with `probe` (a consumer of its own, so that no record fetched for
/// the probe can be taken for one of the export).
///
/// # Errors
/// Broker errors.
pub(crate) async fn extent(
    probe: &StreamConsumer,
    topic: &str,
    partition: i32,
) -> Result<Extent, ExportError> {
    let (low, high) = probe
        .fetch_watermarks(topic, partition, METADATA_TIMEOUT)
        .map_err(kafka(format!("watermarks of {topic}/{partition}")))?;
    if low >= high {
        return Ok(Extent {
            low,
            high,
            first_ms: None,
            last_ms: None,
        });
    }
    let first_ms = timestamp_at(probe, topic, partition, low).await?;
    let last_ms = timestamp_at(probe, topic, partition, high - 1).await?;
    Ok(Extent {
        low,
        high,
        first_ms,
        last_ms,
    })
}

/// The broker timestamp of the first record at or after `offset`; `None` if none came
/// within [`PROBE`] (the offset is a transaction marker or was compacted away).
async fn timestamp_at(
    probe: &StreamConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Option<i64>, ExportError> {
    let mut tpl = TopicPartitionList::new();
    let what = format!("reading {topic}/{partition} at {offset}");
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .map_err(kafka(what.clone()))?;
    probe.assign(&tpl).map_err(kafka(what.clone()))?;
    let deadline = tokio::time::Instant::now() + PROBE;
    loop {
        let Ok(received) = tokio::time::timeout_at(deadline, probe.recv()).await else {
            return Ok(None);
        };
        let message = received.map_err(kafka(what.clone()))?;
        if message.topic() == topic
            && message.partition() == partition
            && message.offset() >= offset
        {
            return Ok(message.timestamp().to_millis());
        }
    }
}

/// `[from, to)` of one partition for the two bounds (see [`Extent::place`]).
///
/// # Errors
/// Broker errors.
pub(crate) fn resolve(
    consumer: &StreamConsumer,
    topic: &str,
    partition: i32,
    extent: &Extent,
    from: Bound,
    to: Bound,
) -> Result<(i64, i64), ExportError> {
    let lookup = |ms: i64| -> Result<Option<i64>, ExportError> {
        let what = || format!("offsets for {ms} ms in {topic}/{partition}");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(ms))
            .map_err(kafka(what()))?;
        let found = consumer
            .offsets_for_times(tpl, METADATA_TIMEOUT)
            .map_err(kafka(what()))?;
        Ok(
            match found.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            },
        )
    };
    let from = extent.place(from, lookup)?;
    let to = extent.place(to, lookup)?;
    Ok((from, to.max(from)))
}

/// The records of one partition range, in order.
pub(crate) struct RangeReader<'c> {
    consumer: &'c StreamConsumer,
    topic: String,
    partition: i32,
    next: i64,
    to: i64,
}

impl<'c> RangeReader<'c> {
    /// Assign `consumer` to the partition at `from`.
    ///
    /// # Errors
    /// Broker errors.
    pub(crate) fn start(
        consumer: &'c StreamConsumer,
        topic: &str,
        partition: i32,
        from: i64,
        to: i64,
    ) -> Result<Self, ExportError> {
        let mut tpl = TopicPartitionList::new();
        let what = format!("reading {topic}/{partition} from {from}");
        tpl.add_partition_offset(topic, partition, Offset::Offset(from))
            .map_err(kafka(what.clone()))?;
        consumer.assign(&tpl).map_err(kafka(what))?;
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            partition,
            next: from,
            to,
        })
    }

    /// The next record of the range, `None` once past its end.
    ///
    /// # Errors
    /// Broker errors, or [`ExportError::Stalled`] when records that exist do not arrive.
    pub(crate) async fn next(&mut self) -> Result<Option<OwnedMessage>, ExportError> {
        let mut waited = Duration::ZERO;
        while self.next < self.to {
            let Ok(received) = tokio::time::timeout(IDLE, self.consumer.recv()).await else {
                let (_, high) = self
                    .consumer
                    .fetch_watermarks(&self.topic, self.partition, METADATA_TIMEOUT)
                    .map_err(kafka(format!(
                        "watermarks of {}/{}",
                        self.topic, self.partition
                    )))?;
                if high <= self.next {
                    return Ok(None);
                }
                waited += IDLE;
                if waited >= STALLED {
                    return Err(ExportError::Stalled {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        offset: self.next,
                    });
                }
                continue;
            };
            let message = received.map_err(kafka(format!(
                "reading {}/{} at {}",
                self.topic, self.partition, self.next
            )))?;
            if message.topic() != self.topic
                || message.partition() != self.partition
                || message.offset() < self.next
            {
                continue;
            }
            if message.offset() >= self.to {
                self.next = self.to;
                return Ok(None);
            }
            self.next = message.offset() + 1;
            return Ok(Some(message.detach()));
        }
        Ok(None)
    }
}
