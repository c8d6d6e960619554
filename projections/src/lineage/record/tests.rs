//! Reading envelope headers leniently, synthetic ids, and dead-letter copies merging into
//! their original event.

use super::*;

fn record(topic: &str, offset: i64, headers: &[(&str, &str)]) -> SourceRecord {
    SourceRecord {
        topic: topic.into(),
        partition: 1,
        offset,
        key: Some(b"356307042441013".to_vec()),
        payload: Some(vec![0, 0, 0, 0, 1]),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect(),
        timestamp_ms: Some(1_764_000_000_000),
    }
}

const ID: &str = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const CORRELATION: &str = "0193a1b2-c3d4-7e5f-8a9b-000000000001";

#[test]
fn an_enveloped_record_keeps_its_headers() {
    let r = record(
        "scooter.telemetry.v1",
        7,
        &[
            ("ce_id", ID),
            ("ce_type", "io.fleetlog.scooter.telemetry.v1"),
            ("ce_time", "2025-11-24T16:00:00.123Z"),
            ("ce_source", "/fleetlog/decoder"),
            ("ce_subject", "356307042441013"),
            ("correlation_id", CORRELATION),
            ("causation_id", CORRELATION),
        ],
    );
    let row = EventRow::of(&r);
    assert_eq!(row.event_id.to_string(), ID);
    assert!(!row.synthetic_id);
    assert_eq!(record_event_id(&r), row.event_id);
    assert_eq!(
        row.correlation_id.map(|c| c.to_string()).as_deref(),
        Some(CORRELATION)
    );
    assert_eq!(
        row.time.map(|t| t.timestamp_millis()),
        Some(1_764_000_000_123)
    );
    assert_eq!(row.source.as_deref(), Some("/fleetlog/decoder"));
    assert_eq!(row.key.as_deref(), Some("356307042441013"));
    assert!(row.dead_letter.is_none());
}

#[test]
fn a_record_without_a_valid_id_gets_a_stable_synthetic_id_and_no_correlation() {
    let r = record(
        "scooter.frames.v1",
        3,
        &[("ce_id", "not-a-uuid"), ("correlation_id", CORRELATION)],
    );
    let row = EventRow::of(&r);
    assert!(row.synthetic_id);
    assert_eq!(row.correlation_id, None);
    assert_eq!(row.time, None);
    assert_eq!(row.event_id, EventRow::of(&r).event_id);
    assert_eq!(record_event_id(&r), row.event_id);
    assert_ne!(
        row.event_id,
        EventRow::of(&record("scooter.frames.v1", 4, &[])).event_id
    );
}

#[test]
fn a_dead_letter_copy_points_at_its_original_and_merges_into_it() {
    let original = record("scooter.frames.v1", 3, &[("ce_id", ID)]);
    let copy = record(
        "scooter.frames.v1.dlq.v1",
        0,
        &[
            ("ce_id", ID),
            ("dlq_error", "unknown codec"),
            ("dlq_processor", "decoder"),
            ("dlq_topic", "scooter.frames.v1"),
            ("dlq_partition", "1"),
            ("dlq_offset", "3"),
        ],
    );
    let copy_row = EventRow::of(&copy);
    assert_eq!(copy_row.position, EventRow::of(&original).position);
    for order in [[&copy, &original], [&original, &copy]] {
        let merged = merge(order.iter().map(|r| EventRow::of(r)));
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].position.topic, "scooter.frames.v1");
        let dl = merged[0].dead_letter.as_ref().unwrap();
        assert_eq!(dl.record, "scooter.frames.v1.dlq.v1/1@0");
        assert_eq!(dl.error.as_deref(), Some("unknown codec"));
    }
    let bare_original = record("scooter.frames.v1", 3, &[]);
    let mut bare_copy = copy.clone();
    bare_copy.headers.retain(|(k, _)| k != "ce_id");
    assert_eq!(record_event_id(&bare_copy), record_event_id(&bare_original));
}
