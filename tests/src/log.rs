//! Putting records on the log and reading what landed there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fleetlog_runtime::Settings;
use fleetlog_schemas::envelope::Envelope;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// Append `payload` (already in wire format) to `topic` under `key` with `envelope`'s
/// headers, and wait until the broker acknowledged it.
///
/// # Panics
/// When the broker does not take it within 10 s.
pub async fn append(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
    envelope: &Envelope,
) {
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(payload)
        .headers(envelope.to_headers());
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .expect("record appended");
}

/// Read `topic` from the beginning (a fresh consumer group) until `done` says the records
/// seen so far (only those whose key is `key`) are enough, or `timeout` passes.
///
/// # Panics
/// When the consumer cannot be created.
pub async fn read_key_until(
    settings: &Settings,
    topic: &str,
    key: &str,
    timeout: Duration,
    done: impl Fn(&[OwnedMessage]) -> bool,
) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(&settings.kafka, &crate::unique_name("reader"))
            .create()
            .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) if message.key() == Some(key.as_bytes()) => {
                seen.push(message.detach());
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    seen
}

/// Every record of `topic` as a `read_committed` reader sees it, from the beginning to the
/// end of every partition (each partition's end is the broker's partition-EOF signal, so
/// transaction markers after the last record count as read).
///
/// # Panics
/// When the consumer cannot be created or the ends are not reached in `timeout`.
pub async fn read_to_end(settings: &Settings, topic: &str, timeout: Duration) -> Vec<OwnedMessage> {
    let kafka = settings.kafka.clone();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer =
            fleetlog_runtime::kafka::consumer_config(&kafka, &crate::unique_name("reader"))
                .set("enable.partition.eof", "true")
                .create()
                .expect("consumer");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("metadata");
        let mut assignment = TopicPartitionList::new();
        let mut open = BTreeSet::new();
        for partition in metadata.topics()[0].partitions() {
            assignment
                .add_partition_offset(&topic, partition.id(), Offset::Beginning)
                .expect("partition");
            open.insert(partition.id());
        }
        consumer.assign(&assignment).expect("assign");
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while !open.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{topic}: partitions {open:?} not read to the end"
            );
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(message)) => seen.push(message.detach()),
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    open.remove(&partition);
                }
                Some(Err(err)) => eprintln!("reader of {topic}: {err}"),
                None => {}
            }
        }
        seen
    })
    .await
    .expect("reader task")
}

/// Per partition of `messages`, the offset after its last record: where a consumer that
/// applied them all has its next offset.
pub fn next_offsets(messages: &[OwnedMessage]) -> BTreeMap<(String, i32), i64> {
    let mut next = BTreeMap::new();
    for message in messages {
        let entry = next
            .entry((message.topic().to_owned(), message.partition()))
            .or_insert(0);
        *entry = (*entry).max(message.offset() + 1);
    }
    next
}

/// Wait until consumer group `group` has committed exactly `end` for every partition in it
/// (for example the decoder, which commits its input offsets in its transactions), at most
/// `timeout`; `who` names the group in the failure.
///
/// # Panics
/// When the consumer cannot be created or the offsets are not reached in time.
pub async fn wait_until_committed(
    settings: &Settings,
    group: &str,
    end: &BTreeMap<(String, i32), i64>,
    timeout: Duration,
) {
    let kafka = settings.kafka.clone();
    let group = group.to_owned();
    let end = end.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = fleetlog_runtime::kafka::consumer_config(&kafka, &group)
            .create()
            .expect("consumer");
        let mut partitions = TopicPartitionList::new();
        for (topic, partition) in end.keys() {
            partitions.add_partition(topic, *partition);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let committed: BTreeMap<(String, i32), i64> = consumer
                .committed_offsets(partitions.clone(), Duration::from_secs(10))
                .map(|list| {
                    list.elements()
                        .iter()
                        .filter_map(|e| match e.offset() {
                            Offset::Offset(o) => Some(((e.topic().to_owned(), e.partition()), o)),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            if committed == end {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "group {group}: committed {committed:?}, the log ends at {end:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .expect("committed offsets task");
}
