//! What the broker says, for `fleetlog projections status`: the high watermark of every
//! partition a projection reads, and how many records each projection dead-lettered
//! (records of `<topic>.dlq.v1` whose `dlq_processor` header names it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use fleetlog_runtime::{Settings, kafka};
use fleetlog_schemas::dlq::header;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the dead-letter topics are read for.
const DLQ_SCAN: Duration = Duration::from_secs(20);

/// High watermarks and dead-letter counts.
#[derive(Debug, Default)]
pub(crate) struct BrokerView {
    /// `(topic, partition)` → high watermark.
    pub(crate) high: HashMap<(String, i32), i64>,
    /// `projection` → dead-lettered records; absent when the DLQ could not be read.
    pub(crate) dlq: HashMap<String, u64>,
    /// Topics whose DLQ was read completely.
    pub(crate) dlq_read: BTreeSet<String>,
}

/// Ask the broker about `partitions` and the DLQs of their topics (blocking calls).
///
/// # Errors
/// When no consumer can be created or the broker does not answer.
pub(crate) fn read(
    settings: &Settings,
    partitions: &BTreeSet<(String, i32)>,
) -> anyhow::Result<BrokerView> {
    let group = format!("fleetlog-status-{}", uuid::Uuid::new_v4().simple());
    let consumer: BaseConsumer = kafka::consumer_config(&settings.kafka, &group).create()?;
    let metadata = consumer.fetch_metadata(None, TIMEOUT)?;
    let existing: BTreeMap<String, Vec<i32>> = metadata
        .topics()
        .iter()
        .map(|t| {
            (
                t.name().to_owned(),
                t.partitions().iter().map(|p| p.id()).collect(),
            )
        })
        .collect();
    let mut view = BrokerView::default();
    for (topic, partition) in partitions {
        if existing.contains_key(topic) {
            let (_, high) = consumer.fetch_watermarks(topic, *partition, TIMEOUT)?;
            view.high.insert((topic.clone(), *partition), high);
        }
    }
    let topics: BTreeSet<&String> = partitions
        .iter()
        .map(|(t, _)| t)
        .filter(|t| !t.ends_with(".dlq.v1"))
        .collect();
    for topic in topics {
        let dlq = fleetlog_schemas::topics::dlq(topic);
        match existing.get(&dlq) {
            Some(ids) => {
                if scan_dlq(&consumer, &dlq, ids, &mut view.dlq)? {
                    view.dlq_read.insert(topic.clone());
                }
            }
            None => {
                view.dlq_read.insert(topic.clone());
            }
        }
    }
    Ok(view)
}

/// Count the records of `dlq` per `dlq_processor`; whether it was read to its end.
fn scan_dlq(
    consumer: &BaseConsumer,
    dlq: &str,
    partitions: &[i32],
    counts: &mut HashMap<String, u64>,
) -> anyhow::Result<bool> {
    let mut tpl = TopicPartitionList::new();
    let mut left: HashMap<i32, i64> = HashMap::new();
    for &p in partitions {
        let (low, high) = consumer.fetch_watermarks(dlq, p, TIMEOUT)?;
        if high > low {
            tpl.add_partition_offset(dlq, p, Offset::Offset(low))?;
            left.insert(p, high);
        }
    }
    if left.is_empty() {
        return Ok(true);
    }
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + DLQ_SCAN;
    while !left.is_empty() && Instant::now() < deadline {
        let Some(received) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = received?;
        let processor = message.headers().and_then(|h| {
            h.iter()
                .filter(|h| h.key == header::PROCESSOR)
                .last()
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        if let Some(processor) = processor {
            *counts.entry(processor).or_default() += 1;
        }
        if left
            .get(&message.partition())
            .is_some_and(|&high| message.offset() + 1 >= high)
        {
            left.remove(&message.partition());
        }
    }
    consumer.unassign()?;
    Ok(left.is_empty())
}
