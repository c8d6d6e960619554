//! Building the causation tree and printing it.

use super::*;

fn event(n: u128, kind: &str, parent: Option<u128>, ms: i64) -> TracedEvent {
    TracedEvent {
        event_id: Uuid::from_u128(n),
        synthetic_id: false,
        event_type: Some(format!("io.fleetlog.scooter.{kind}.v1")),
        topic: format!("scooter.{kind}.v1"),
        partition: 0,
        offset: i64::try_from(n).unwrap(),
        key: Some("356307042441013".into()),
        correlation_id: Some(Uuid::from_u128(1)),
        causation_id: parent.map(Uuid::from_u128),
        time: DateTime::from_timestamp_millis(1_764_000_000_000 + ms),
        source: Some("/fleetlog/test".into()),
        subject: Some("356307042441013".into()),
        log_time: None,
        dlq_record: None,
        dlq_error: None,
        dlq_processor: None,
    }
}

fn device_row(n: u128) -> TouchedRow {
    TouchedRow {
        table: "proj_fleet_v1.devices".into(),
        key: "356307042441013".into(),
        event_id: Uuid::from_u128(n),
        row: serde_json::json!({}),
    }
}

#[test]
fn a_frame_and_its_records_form_one_tree_with_times_since_the_root() {
    let events = vec![
        event(1, "frame", None, 0),
        event(2, "telemetry", Some(1), 4),
        event(3, "telemetry", Some(1), 5),
    ];
    let trace = build(
        Uuid::from_u128(1),
        Some(Uuid::from_u128(1)),
        events,
        vec![device_row(3)],
        false,
    );
    assert_eq!(trace.roots.len(), 1);
    let root = &trace.roots[0];
    assert_eq!(root.event.kind(), "frame");
    assert_eq!(root.since_root_ms, Some(0));
    assert_eq!(root.children.len(), 2);
    assert_eq!(root.children[1].since_root_ms, Some(5));
    assert_eq!(root.children[1].read_models.len(), 1);

    let text = trace.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("frame 00000000-0000-0000-0000-000000000001  io.fleetlog.scooter.frame.v1  scooter.frame.v1/0@1  key 356307042441013  +0 ms  /fleetlog/test"), "{text}");
    assert!(lines[1].starts_with("├─ telemetry "), "{text}");
    assert!(
        lines[2].starts_with("└─ telemetry ") && lines[2].contains("+5 ms"),
        "{text}"
    );
    assert_eq!(
        lines[3],
        "   └─ read model proj_fleet_v1.devices[356307042441013]"
    );
}

#[test]
fn events_whose_parent_is_missing_or_in_a_cycle_are_still_shown() {
    let events = vec![
        event(5, "telemetry", Some(99), 2),
        event(6, "reply", Some(7), 3),
        event(7, "reply", Some(6), 4),
    ];
    let trace = build(Uuid::from_u128(5), None, events, vec![], false);
    let shown: usize = trace.roots.iter().map(count).sum();
    assert_eq!(shown, 3);
}

fn count(node: &TraceNode) -> usize {
    1 + node.children.iter().map(count).sum::<usize>()
}

#[test]
fn a_trace_serialises_each_event_with_its_children() {
    let events = vec![
        event(1, "frame", None, 0),
        event(2, "telemetry", Some(1), 4),
    ];
    let trace = build(
        Uuid::from_u128(1),
        Some(Uuid::from_u128(1)),
        events,
        vec![device_row(2)],
        false,
    );
    let json = serde_json::to_value(&trace).unwrap();
    assert_eq!(json["roots"][0]["topic"], "scooter.frame.v1");
    assert_eq!(json["roots"][0]["children"][0]["since_root_ms"], 4);
    assert_eq!(
        json["roots"][0]["children"][0]["read_models"][0]["table"],
        "proj_fleet_v1.devices"
    );
}
