//! What the lineage keeps of one log record: its envelope headers, read leniently (a
//! missing or invalid header is recorded as NULL, never poison), and for a dead-letter
//! copy the original position and why it was dead-lettered.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use fleetlog_schemas::dlq::header as dlq;
use fleetlog_schemas::envelope::header;
use uuid::Uuid;

use fleetlog_processor::SourceRecord;

/// Namespace of the synthetic ids given to records without a valid `ce_id`: UUID v5 of
/// `<topic>/<partition>@<offset>` (the original position, for a dead-letter copy).
pub const SYNTHETIC_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a0f_3c1e_9b7d_4e52_a8c4_1f2e_3d4c_5b6a);

const DLQ_SUFFIX: &str = ".dlq.v1";

/// The event id of `record`: its `ce_id` header, or — when that is missing or not a UUID —
/// the synthetic id of its (original) position, so every record has a stable id.
pub fn record_event_id(record: &SourceRecord) -> Uuid {
    uuid_header(record, header::ID).unwrap_or_else(|| synthetic_id(&origin(record)))
}

/// A log position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

fn synthetic_id(p: &Position) -> Uuid {
    let name = format!("{}/{}@{}", p.topic, p.partition, p.offset);
    Uuid::new_v5(&SYNTHETIC_ID_NAMESPACE, name.as_bytes())
}

/// Where the record was first written: for a dead-letter copy with intact `dlq_*` headers
/// the original position, otherwise its own.
fn origin(record: &SourceRecord) -> Position {
    let own = Position {
        topic: record.topic.clone(),
        partition: record.partition,
        offset: record.offset,
    };
    if !record.topic.ends_with(DLQ_SUFFIX) {
        return own;
    }
    let original = (
        text_header(record, dlq::TOPIC),
        text_header(record, dlq::PARTITION).and_then(|p| p.parse().ok()),
        text_header(record, dlq::OFFSET).and_then(|o| o.parse().ok()),
    );
    match original {
        (Some(topic), Some(partition), Some(offset)) => Position {
            topic: topic.to_owned(),
            partition,
            offset,
        },
        _ => own,
    }
}

fn text_header<'r>(record: &'r SourceRecord, name: &str) -> Option<&'r str> {
    record
        .header(name)
        .and_then(|v| std::str::from_utf8(v).ok())
        .filter(|v| !v.is_empty())
}

fn uuid_header(record: &SourceRecord, name: &str) -> Option<Uuid> {
    text_header(record, name).and_then(|v| Uuid::parse_str(v).ok())
}

/// A dead-letter copy of an event: where the copy is and why it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadLetter {
    /// `<dlq topic>/<partition>@<offset>` of the copy.
    pub(crate) record: String,
    pub(crate) error: Option<String>,
    pub(crate) processor: Option<String>,
}

/// One row of `events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRow {
    pub(crate) event_id: Uuid,
    pub(crate) synthetic_id: bool,
    pub(crate) event_type: Option<String>,
    pub(crate) position: Position,
    pub(crate) key: Option<String>,
    pub(crate) correlation_id: Option<Uuid>,
    pub(crate) causation_id: Option<Uuid>,
    pub(crate) time: Option<DateTime<Utc>>,
    pub(crate) source: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) log_time: Option<DateTime<Utc>>,
    pub(crate) dead_letter: Option<DeadLetter>,
}

impl EventRow {
    /// Read `record`'s headers; never fails.
    pub(crate) fn of(record: &SourceRecord) -> Self {
        let position = origin(record);
        let id = uuid_header(record, header::ID);
        let text = |name| text_header(record, name).map(str::to_owned);
        let dead_letter = record.topic.ends_with(DLQ_SUFFIX).then(|| DeadLetter {
            record: record.id().to_string(),
            error: text(dlq::ERROR),
            processor: text(dlq::PROCESSOR),
        });
        Self {
            event_id: id.unwrap_or_else(|| synthetic_id(&position)),
            synthetic_id: id.is_none(),
            event_type: text(header::TYPE),
            key: record
                .key
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            correlation_id: id.and(uuid_header(record, header::CORRELATION_ID)),
            causation_id: uuid_header(record, header::CAUSATION_ID),
            time: text_header(record, header::TIME)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            source: text(header::SOURCE),
            subject: text(header::SUBJECT),
            log_time: record
                .timestamp_ms
                .and_then(DateTime::from_timestamp_millis),
            position,
            dead_letter,
        }
    }
}

/// One row per event id, in first-seen order: the first primary record keeps its
/// position, and a dead-letter copy adds its [`DeadLetter`] to it.
pub(crate) fn merge(rows: impl IntoIterator<Item = EventRow>) -> Vec<EventRow> {
    let mut out: Vec<EventRow> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    for row in rows {
        match index.entry(row.event_id) {
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
            Entry::Occupied(e) => {
                let kept = &mut out[*e.get()];
                if kept.dead_letter.is_some() && row.dead_letter.is_none() {
                    let dead_letter = kept.dead_letter.take();
                    *kept = row;
                    kept.dead_letter = dead_letter;
                } else if kept.dead_letter.is_none() {
                    kept.dead_letter = row.dead_letter;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
