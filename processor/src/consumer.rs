//! The Kafka side: a `BaseConsumer` in the build's consumer group (or assigned a fixed
//! set of partitions), whose partitions are claimed and positioned at the offsets stored
//! in PostgreSQL ([`super::rebalance`]), polled on a blocking thread that hands batches to
//! the async side over a channel of one.
//!
//! Measured choice: one blocking thread polling `BaseConsumer` fills the next batch while
//! the previous one is being written to PostgreSQL, without a wake-up per record.

use fleetlog_runtime::detached_drop::DetachedDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::claims::{self, Claims};
use super::config::RuntimeConfig;
use super::error::RuntimeError;
use super::offsets::{Advance, TopicPartition};
use super::projection::SourceRecord;
use super::rebalance::{ClaimingContext, ProcessorConsumer};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_POLL: Duration = Duration::from_millis(100);

/// A consumer with the partitions it holds.
pub(crate) struct Assigned {
    pub(crate) consumer: Arc<DetachedDrop<ProcessorConsumer>>,
    /// Filled by the rebalance callback (in a group) or on start (a fixed assignment).
    pub(crate) claims: Claims,
    /// The fixed assignment; `None` in a consumer group.
    pub(crate) fixed: Option<Vec<TopicPartition>>,
}

/// Build the consumer and check every topic exists. In a group
/// ([`RuntimeConfig::in_group`]) subscribe: partitions are claimed as they are assigned.
/// Otherwise claim the selected partitions now and assign them at their stored offsets
/// (the beginning where nothing is stored).
#[tracing::instrument(skip_all, fields(group = %group_id))]
pub(crate) async fn start(
    config: &RuntimeConfig,
    group_id: &str,
    topics: &[&'static str],
    context: ClaimingContext,
) -> Result<Assigned, RuntimeError> {
    let (pool, claims_handle) = (context.pool.clone(), context.claims.clone());
    let (projection, version) = (context.projection, context.version);
    let mut client = fleetlog_runtime::kafka::consumer_config(&config.kafka, group_id);
    if config.in_group() {
        // A fixed assignment stays with librdkafka's default (its `assign` is refused
        // under the cooperative protocol).
        client.set("partition.assignment.strategy", "cooperative-sticky");
    }
    let consumer: ProcessorConsumer = client.create_with_context(context)?;
    // Dropped on a thread of its own: its close can wait without end (see `DetachedDrop`).
    let consumer = Arc::new(DetachedDrop::new(consumer, "projection-consumer-close"));
    let mut partitions = Vec::new();
    for topic in topics {
        let count = partition_count(&consumer, topic).await?;
        for p in config.select_partitions(count) {
            partitions.push(((*topic).to_owned(), p));
        }
    }
    if config.in_group() {
        consumer.subscribe(topics)?;
        tracing::info!(%group_id, "subscribed; partitions are claimed as they are assigned");
        return Ok(Assigned {
            consumer,
            claims: claims_handle,
            fixed: None,
        });
    }
    let claimed = claims::claim(&pool, projection, version, &config.owner, &partitions).await?;
    let mut tpl = TopicPartitionList::new();
    for (topic, p) in &partitions {
        let offset = claimed
            .get(&(topic.clone(), *p))
            .and_then(|c| c.next_offset)
            .map_or(Offset::Beginning, Offset::Offset);
        tpl.add_partition_offset(topic, *p, offset)?;
    }
    claims_handle.granted(claimed);
    consumer.assign(&tpl)?;
    tracing::info!(partitions = ?partitions, "claimed and assigned at stored offsets");
    Ok(Assigned {
        consumer,
        claims: claims_handle,
        fixed: Some(partitions),
    })
}

async fn partition_count(
    consumer: &Arc<DetachedDrop<ProcessorConsumer>>,
    topic: &str,
) -> Result<i32, RuntimeError> {
    let consumer = Arc::clone(consumer);
    let name = topic.to_owned();
    let count = tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(Some(&name), METADATA_TIMEOUT)?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none())
            .map_or(0, |t| t.partitions().len());
        Ok::<_, RuntimeError>(count)
    })
    .await
    .map_err(|_| RuntimeError::ConsumerStopped)??;
    match i32::try_from(count) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(RuntimeError::MissingTopic(topic.to_owned())),
    }
}

/// Batch limits of the fetch thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub(crate) max_records: usize,
    pub(crate) max_wait: Duration,
}

/// What the fetch thread hands over, in log order.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The next batch of records.
    Records(Vec<SourceRecord>),
    /// Nothing more to read for now, and the consumer's position moved past records it
    /// never returns (transaction markers, records of aborted transactions): every
    /// partition's position, where every earlier record was handed over already.
    CaughtUp(Vec<(TopicPartition, i64)>),
}

/// Start the fetch thread. It stops when `stop` is cancelled or the receiver is dropped.
pub(crate) fn spawn_fetcher(
    consumer: Arc<DetachedDrop<ProcessorConsumer>>,
    limits: BatchLimits,
    stop: CancellationToken,
) -> (mpsc::Receiver<Fetched>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1);
    let handle = tokio::task::spawn_blocking(move || {
        let mut reported = Vec::new();
        while !stop.is_cancelled() {
            let batch = next_batch(&consumer, limits, &stop);
            let fetched = if batch.is_empty() {
                let positions = positions(&consumer);
                if positions == reported {
                    continue;
                }
                reported.clone_from(&positions);
                Fetched::CaughtUp(positions)
            } else {
                Fetched::Records(batch)
            };
            if tx.blocking_send(fetched).is_err() {
                return;
            }
        }
    });
    (rx, handle)
}

/// The consumer's position in every assigned partition that has one.
fn positions(consumer: &ProcessorConsumer) -> Vec<(TopicPartition, i64)> {
    let Ok(list) = consumer.position() else {
        return Vec::new();
    };
    let mut out: Vec<(TopicPartition, i64)> = list
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// Poll until `max_records` arrived or `max_wait` passed since the first one.
fn next_batch(
    consumer: &ProcessorConsumer,
    limits: BatchLimits,
    stop: &CancellationToken,
) -> Vec<SourceRecord> {
    let mut batch = Vec::new();
    let mut deadline: Option<Instant> = None;
    while batch.len() < limits.max_records && !stop.is_cancelled() {
        let timeout = match deadline {
            None => IDLE_POLL,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left,
                _ => break,
            },
        };
        match consumer.poll(timeout) {
            Some(Ok(msg)) => {
                batch.push(SourceRecord::from_message(&msg));
                deadline.get_or_insert_with(|| Instant::now() + limits.max_wait);
            }
            Some(Err(err)) => tracing::warn!(error = %err, "consumer error"),
            None => {}
        }
    }
    batch
}

/// Advisory Kafka commit of what PostgreSQL now holds, for lag tooling: asynchronous,
/// errors ignored.
pub(crate) fn commit_advisory(consumer: &ProcessorConsumer, advances: &[Advance]) {
    let mut tpl = TopicPartitionList::new();
    for a in advances {
        if tpl
            .add_partition_offset(&a.topic, a.partition, Offset::Offset(a.next_offset))
            .is_err()
        {
            return;
        }
    }
    if let Err(err) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %err, "advisory commit failed (ignored)");
    }
}
