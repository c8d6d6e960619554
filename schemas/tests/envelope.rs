//! CloudEvents envelopes: ids, chains, traces, and the Kafka headers they travel in.

use fleetlog_schemas::derived::Derived;
use fleetlog_schemas::envelope::{Envelope, EnvelopeError, header};
use fleetlog_schemas::topics;
use rdkafka::Timestamp;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use uuid::Uuid;

fn frame() -> Envelope {
    Envelope::new_root(topics::FRAMES, "/fleetlog/gateway/gw-1", "356307042441013")
}

fn header_value<'h>(headers: &'h OwnedHeaders, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| std::str::from_utf8(v).expect("utf-8"))
}

/// `headers` without `name`, or with its value replaced.
fn edited(headers: &OwnedHeaders, name: &str, value: Option<&str>) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    for h in headers.iter() {
        if h.key != name {
            out = out.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    match value {
        Some(v) => out.insert(Header {
            key: name,
            value: Some(v),
        }),
        None => out,
    }
}

#[test]
fn a_root_event_correlates_to_itself_and_has_no_cause() {
    let root = frame();
    assert_eq!(root.id.get_version_num(), 7);
    assert_eq!(root.correlation_id, root.id);
    assert_eq!(root.causation_id, None);
    assert_eq!(root.subject, "356307042441013");
}

#[test]
fn a_child_shares_the_correlation_and_trace_and_is_caused_by_its_parent() {
    let root = frame();
    let telemetry = Envelope::child(&root, topics::TELEMETRY, "/fleetlog/decoder", "356");
    let event = Envelope::child(&telemetry, topics::FLEET_EVENTS, "/fleetlog/commands", "v");
    assert_eq!(telemetry.correlation_id, root.id);
    assert_eq!(telemetry.causation_id, Some(root.id));
    assert_eq!(event.correlation_id, root.id);
    assert_eq!(event.causation_id, Some(telemetry.id));
    assert_ne!(event.id, telemetry.id);
    assert_eq!(event.trace_id(), root.trace_id());
    assert_eq!(root.trace_id(), root.id.simple().to_string());
}

#[test]
fn a_deterministic_child_gets_the_same_id_every_time() {
    let root = frame();
    let id = Envelope::derived_id(root.id, Derived::Record(3));
    assert_eq!(id, Uuid::new_v5(&root.id, b"record-3"));
    assert_ne!(id, Envelope::derived_id(root.id, Derived::Record(4)));
    let first = Envelope::child_with_id(&root, id, topics::TELEMETRY, "/fleetlog/decoder", "d");
    let again = Envelope::child_with_id(&root, id, topics::TELEMETRY, "/fleetlog/decoder", "d");
    assert_eq!(first.id, again.id);
    assert_eq!(first.traceparent, again.traceparent);
    assert_eq!(first.causation_id, Some(root.id));
}

#[test]
fn the_traceparent_is_w3c_with_the_correlation_id_as_trace_id() {
    let root = frame();
    let child = Envelope::child(&root, topics::TELEMETRY, "/fleetlog/decoder", "d");
    let parts: Vec<&str> = child.traceparent.split('-').collect();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], root.id.simple().to_string());
    assert_eq!(parts[2].len(), 16);
    assert_ne!(parts[2], "0000000000000000");
    assert_eq!(parts[3], "01");
}

#[test]
fn headers_carry_every_cloudevents_attribute() {
    let root = frame();
    let child = Envelope::child(&root, topics::TELEMETRY, "/fleetlog/decoder", "356");
    let headers = child.to_headers();
    assert_eq!(header_value(&headers, "ce_specversion"), Some("1.0"));
    assert_eq!(
        header_value(&headers, "ce_id"),
        Some(child.id.to_string().as_str())
    );
    assert_eq!(
        header_value(&headers, "ce_source"),
        Some("/fleetlog/decoder")
    );
    assert_eq!(
        header_value(&headers, "ce_type"),
        Some("io.fleetlog.scooter.telemetry.v1")
    );
    assert_eq!(header_value(&headers, "ce_subject"), Some("356"));
    assert_eq!(
        header_value(&headers, "content-type"),
        Some("application/avro")
    );
    assert_eq!(
        header_value(&headers, "correlation_id"),
        Some(root.id.to_string().as_str())
    );
    assert_eq!(
        header_value(&headers, "causation_id"),
        Some(root.id.to_string().as_str())
    );
    assert_eq!(
        header_value(&headers, "traceparent"),
        Some(child.traceparent.as_str())
    );
    let time = header_value(&headers, "ce_time").expect("ce_time");
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    assert!(time.ends_with('Z'), "{time}");
}

#[test]
fn an_envelope_reads_back_equal_from_its_headers() {
    let root = frame();
    let child = Envelope::child(&root, topics::TELEMETRY, "/fleetlog/decoder", "356");
    assert_eq!(Envelope::from_headers(&root.to_headers()), Ok(root.clone()));
    assert_eq!(Envelope::from_headers(&child.to_headers()), Ok(child));
    assert_eq!(header_value(&root.to_headers(), header::CAUSATION_ID), None);
}

#[test]
fn a_missing_header_is_named_in_the_error() {
    let headers = frame().to_headers();
    for name in [
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "correlation_id",
    ] {
        let err = Envelope::from_headers(&edited(&headers, name, None)).expect_err("missing");
        assert_eq!(err.to_string(), format!("header {name} is missing"));
    }
    let err = Envelope::from_headers(&OwnedHeaders::new()).expect_err("empty");
    assert_eq!(err, EnvelopeError::Missing("ce_specversion"));
}

#[test]
fn invalid_header_values_are_rejected_with_the_header_name() {
    let headers = frame().to_headers();
    let cases = [
        ("ce_specversion", "0.3"),
        ("content-type", "application/json"),
        ("ce_id", "not-a-uuid"),
        ("correlation_id", "42"),
        ("causation_id", "nope"),
        ("ce_time", "yesterday"),
        ("traceparent", "00-abc-def-01"),
        (
            "traceparent",
            "00-00000000000000000000000000000000-0123456789abcdef-01",
        ),
    ];
    for (name, value) in cases {
        match Envelope::from_headers(&edited(&headers, name, Some(value))) {
            Err(EnvelopeError::Invalid { header, .. }) => assert_eq!(header, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}

#[test]
fn a_header_that_is_not_utf8_is_invalid() {
    let headers = edited(&frame().to_headers(), "ce_source", None).insert(Header {
        key: "ce_source",
        value: Some(&[0xff_u8, 0xfe][..]),
    });
    assert!(matches!(
        Envelope::from_headers(&headers),
        Err(EnvelopeError::Invalid {
            header: "ce_source",
            ..
        })
    ));
}

#[test]
fn a_consumed_record_yields_its_envelope_or_says_what_is_missing() {
    let root = frame();
    let message = |headers| {
        OwnedMessage::new(
            None,
            None,
            "t".into(),
            Timestamp::NotAvailable,
            0,
            0,
            headers,
        )
    };
    let with = message(Some(root.to_headers()));
    assert_eq!(Envelope::from_message(&with), Ok(root));
    let without = message(None);
    assert_eq!(
        Envelope::from_message(&without),
        Err(EnvelopeError::Missing("ce_specversion"))
    );
}

#[test]
fn root_headers_written_directly_equal_those_of_a_root_envelope() {
    use chrono::DateTime;
    for (id, at_ms) in [
        (uuid::Uuid::now_v7(), 1_764_000_000_123),
        (uuid::Uuid::from_u128(1), 0),
        (uuid::Uuid::from_u128(u128::MAX), 253_402_300_799_999),
        (uuid::Uuid::now_v7(), -1_000),
    ] {
        let time = DateTime::from_timestamp_millis(at_ms).expect("time");
        let envelope = Envelope::from_parts(
            id,
            id,
            None,
            topics::FRAMES.event_type(),
            "/gw/1",
            "350000000000001",
            time,
        );
        let direct =
            Envelope::root_headers_at(id, at_ms, topics::FRAMES, "/gw/1", "350000000000001");
        let pairs = |h: &OwnedHeaders| {
            h.iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(&direct),
            pairs(&envelope.to_headers()),
            "{id} at {at_ms}"
        );
        assert_eq!(Envelope::from_headers(&direct).expect("parses"), envelope);
    }
}
