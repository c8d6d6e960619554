//! The Kafka side of the streams: the **shared reader** — one consumer per API process,
//! started at the head of `fleet.events.v1`, that decodes each record once and broadcasts
//! it with its position — and a stream's own short-lived **catch-up reader**, which reads
//! the stretches between the stream's position and the shared reader's (a resume with
//! `Last-Event-ID`, or a stream that fell behind the broadcast buffer) and then stops.
//!
//! Both are assigned partitions (no group membership, never committing). Every consumer
//! is counted ([`Counters`], and the `fleetlog_api_stream_readers` gauge).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fleetlog_schemas::topics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::cursor::Behind;
use super::item::{Item, decode};
use super::metrics;
use super::position::Position;
use crate::commands::CommandLog;

/// Records the shared reader holds for streams that are slower than it; a stream further
/// behind catches up from its own position.
const LIVE_BUFFER: usize = 1024;
/// Records a catch-up reader decodes ahead of its stream.
const FILL_BUFFER: usize = 64;
/// Metadata and watermark calls.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a reader could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReaderError {
    /// The broker refused or did not answer.
    #[error("opening a stream reader: {0}")]
    Kafka(#[from] KafkaError),
    /// The blocking set-up task failed.
    #[error("opening a stream reader: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The stream readers of one API process.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Consumers ever opened (shared and catch-up).
    pub(crate) created: AtomicU64,
    /// Consumers open now.
    pub(crate) open: AtomicU64,
}

/// One open consumer, counted until dropped.
struct Counted(Arc<Counters>);

impl Counted {
    fn new(counters: &Arc<Counters>) -> Self {
        counters.created.fetch_add(1, Ordering::Relaxed);
        counters.open.fetch_add(1, Ordering::Relaxed);
        ::metrics::gauge!(metrics::READERS).increment(1.0);
        Self(Arc::clone(counters))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        ::metrics::gauge!(metrics::READERS).decrement(1.0);
    }
}

/// A consumer of the stream readers (a blocking call), counted while it lives.
fn consumer(
    log: &CommandLog,
    counters: &Arc<Counters>,
    eof: bool,
) -> Result<(StreamConsumer, Counted), KafkaError> {
    let kafka = log.kafka();
    let group = format!("{}-stream-{}", kafka.client_id, Uuid::now_v7());
    let mut config = fleetlog_runtime::kafka::consumer_config(kafka, &group);
    config.set("enable.partition.eof", if eof { "true" } else { "false" });
    let consumer: StreamConsumer = config.create()?;
    Ok((consumer, Counted::new(counters)))
}

/// Assign `consumer` `start` on each partition of `fleet.events.v1`.
fn assign(consumer: &StreamConsumer, start: &BTreeMap<i32, i64>) -> Result<(), KafkaError> {
    let mut tpl = TopicPartitionList::new();
    for (&partition, &offset) in start {
        tpl.add_partition_offset(
            topics::FLEET_EVENTS.name(),
            partition,
            Offset::Offset(offset),
        )?;
    }
    consumer.assign(&tpl)
}

/// Every partition of `fleet.events.v1` at its end (blocking calls), asked again a few
/// times while the broker cannot say yet (a topic just created has no leader for a
/// moment).
fn heads(consumer: &StreamConsumer) -> Result<BTreeMap<i32, i64>, KafkaError> {
    let mut attempt = 0;
    loop {
        match heads_once(consumer) {
            Ok(heads) => return Ok(heads),
            Err(err) if attempt < 10 => {
                attempt += 1;
                tracing::debug!(error = %err, attempt, "the log's end is not known yet");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(err) => return Err(err),
        }
    }
}

fn heads_once(consumer: &StreamConsumer) -> Result<BTreeMap<i32, i64>, KafkaError> {
    let name = topics::FLEET_EVENTS.name();
    let metadata = consumer.fetch_metadata(Some(name), TIMEOUT)?;
    let mut heads = BTreeMap::new();
    for topic in metadata.topics() {
        for p in topic.partitions() {
            let (_, high) = consumer.fetch_watermarks(name, p.id(), TIMEOUT)?;
            heads.insert(p.id(), high);
        }
    }
    if heads.is_empty() {
        return Err(KafkaError::MetadataFetch(
            rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
        ));
    }
    Ok(heads)
}

/// The shared reader's position and its broadcast, changed together so a stream that
/// subscribes learns exactly which records its receiver will get (those after it).
#[derive(Debug)]
pub(crate) struct Live {
    inner: Mutex<(Position, broadcast::Sender<Arc<Item>>)>,
}

impl Live {
    /// Open the shared reader at the head and run it until `stop`.
    pub(crate) async fn start(
        log: CommandLog,
        counters: Arc<Counters>,
        stop: CancellationToken,
    ) -> Result<Arc<Self>, ReaderError> {
        let setup = log.clone();
        let (consumer, counted, start) = tokio::task::spawn_blocking(move || {
            let (consumer, counted) = consumer(&setup, &counters, false)?;
            let start = heads(&consumer)?;
            assign(&consumer, &start)?;
            Ok::<_, KafkaError>((consumer, counted, start))
        })
        .await??;
        let mut position = Position::default();
        for (partition, next) in start {
            position.advance(partition, next);
        }
        let (tx, _) = broadcast::channel(LIVE_BUFFER);
        let live = Arc::new(Self {
            inner: Mutex::new((position, tx)),
        });
        tracing::info!("the shared stream reader started");
        tokio::spawn(Arc::clone(&live).run(log, consumer, counted, stop));
        Ok(live)
    }

    /// The shared reader's position now and a receiver of every record after it.
    pub(crate) fn subscribe(&self) -> (Position, broadcast::Receiver<Arc<Item>>) {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        (inner.0.clone(), inner.1.subscribe())
    }

    fn publish(&self, partition: i32, offset: i64, event: Option<super::item::Decoded>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let prev_next = inner.0.next_offset(partition).unwrap_or(offset);
        inner.0.advance(partition, offset + 1);
        let item = Item {
            partition,
            offset,
            prev_next,
            event,
        };
        // No receiver: no stream is open; the position moved all the same.
        let _ = inner.1.send(Arc::new(item));
    }

    async fn run(
        self: Arc<Self>,
        log: CommandLog,
        consumer: StreamConsumer,
        _counted: Counted,
        stop: CancellationToken,
    ) {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => break,
                m = consumer.recv() => m,
            };
            match message {
                Ok(message) => {
                    let event = decode(&message, log.codec()).await;
                    self.publish(message.partition(), message.offset(), event);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the shared stream reader could not read");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    }
                }
            }
        }
        tracing::info!("the shared stream reader stopped");
    }
}

/// What a catch-up reader hands its stream.
#[derive(Debug)]
pub(crate) enum Fill {
    /// A record of a stretch.
    Item(Item),
    /// The end of `partition` was reached: nothing but control records lie before `next`.
    Reached { partition: i32, next: i64 },
    /// Every stretch was read.
    Done,
}

/// Read `behind` on a consumer of the stream's own; the receiver closes without
/// [`Fill::Done`] when the reader failed (the stream then ends, and its client resumes).
pub(crate) fn catch_up(
    log: CommandLog,
    counters: Arc<Counters>,
    behind: Vec<Behind>,
    stop: CancellationToken,
) -> mpsc::Receiver<Fill> {
    let (tx, rx) = mpsc::channel(FILL_BUFFER);
    tokio::spawn(async move {
        let start: BTreeMap<i32, i64> = behind.iter().map(|b| (b.partition, b.from)).collect();
        let setup = log.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let (consumer, counted) = consumer(&setup, &counters, true)?;
            assign(&consumer, &start)?;
            Ok::<_, KafkaError>((consumer, counted))
        })
        .await;
        let (consumer, _counted) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(err)) => return tracing::warn!(error = %err, "no catch-up reader"),
            Err(err) => return tracing::warn!(error = %err, "no catch-up reader"),
        };
        // Per partition still to read: the next offset and where the stretch ends.
        let mut todo: BTreeMap<i32, (i64, i64)> = behind
            .iter()
            .map(|b| (b.partition, (b.from, b.to)))
            .collect();
        while !todo.is_empty() {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                () = tx.closed() => return,
                m = consumer.recv() => m,
            };
            let fill = match message {
                Ok(message) => {
                    let partition = message.partition();
                    let Some((next, to)) = todo.get_mut(&partition) else {
                        continue; // a stretch already read: the shared reader has the rest
                    };
                    let item = Item {
                        partition,
                        offset: message.offset(),
                        prev_next: *next,
                        event: decode(&message, log.codec()).await,
                    };
                    *next = message.offset() + 1;
                    if *next >= *to {
                        todo.remove(&partition);
                    }
                    Fill::Item(item)
                }
                Err(KafkaError::PartitionEOF(partition)) => match todo.remove(&partition) {
                    Some((_, to)) => Fill::Reached {
                        partition,
                        next: to,
                    },
                    None => continue,
                },
                Err(err) => {
                    tracing::warn!(error = %err, "a catch-up stream reader could not read");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if tx.send(fill).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Fill::Done).await;
    });
    rx
}
