//! A batch of log records decoded into the rides projection's [`Event`]s: each value
//! through the schema registry ([`WireCodec`], [`decode_value`]), each envelope
//! ([`Envelope`]) from the record's headers.
//!
//! Fleet events other than rides, reservations and command decisions, and `DELIVERED`
//! replies, are dropped here (their envelope is not read). A record the projection uses is
//! poison when its value cannot be decoded, its envelope is missing or invalid (the event
//! id and the correlation id are what the projection keys on), or one of its times does not
//! fit a timestamp.

use chrono::DateTime;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DeviceReply, FleetEvent, FleetEventBody};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::message::{Header, OwnedHeaders};

use super::reduce::{Body, Event, is_relevant};
use fleetlog_processor::{ProjectionError, SourceRecord, decode_value};

/// Decode every record of `batch` the projection uses, in batch order; records of other
/// topics are ignored.
///
/// # Errors
/// [`ProjectionError::Poison`] naming a record that can never be applied (see the module
/// docs); [`ProjectionError::Transient`] when the registry cannot be asked.
pub(crate) async fn decode_batch(
    codec: &WireCodec,
    batch: &[SourceRecord],
) -> Result<Vec<Event>, ProjectionError> {
    let mut out = Vec::new();
    for record in batch {
        let (body, at_ms) = match record.topic.as_str() {
            t if t == topics::FLEET_EVENTS.name() => {
                let event: FleetEvent = decode_value(codec, topics::FLEET_EVENTS, record).await?;
                (Body::Fleet(event.event), event.occurred_at_ms)
            }
            t if t == topics::REPLIES.name() => {
                let reply: DeviceReply = decode_value(codec, topics::REPLIES, record).await?;
                let at_ms = reply.at_ms;
                (Body::Reply(reply), at_ms)
            }
            _ => continue,
        };
        if !is_relevant(&body) {
            continue;
        }
        for ms in times(at_ms, &body) {
            if DateTime::from_timestamp_millis(ms).is_none() {
                let reason = format!("time {ms} ms is out of range");
                return Err(ProjectionError::poison(record, reason));
            }
        }
        let envelope = envelope(record)
            .map_err(|err| ProjectionError::poison(record, format!("envelope: {err}")))?;
        out.push(Event {
            id: envelope.id,
            correlation_id: envelope.correlation_id,
            at_ms,
            body,
        });
    }
    Ok(out)
}

/// Every time of an event the writer stores as a `timestamptz`.
fn times(at_ms: i64, body: &Body) -> Vec<i64> {
    match body {
        Body::Fleet(FleetEventBody::ReservationMade(m)) => vec![at_ms, m.expires_at_ms],
        _ => vec![at_ms],
    }
}

/// The record's headers read as an [`Envelope`].
fn envelope(record: &SourceRecord) -> Result<Envelope, fleetlog_schemas::envelope::EnvelopeError> {
    let headers = record.headers.iter().fold(
        OwnedHeaders::new_with_capacity(record.headers.len()),
        |headers, (key, value)| {
            headers.insert(Header {
                key: key.as_str(),
                value: Some(value.as_slice()),
            })
        },
    );
    Envelope::from_headers(&headers)
}

#[cfg(test)]
mod tests {
    use rdkafka::message::Headers;

    use super::*;

    fn record(headers: Vec<(String, Vec<u8>)>) -> SourceRecord {
        SourceRecord {
            topic: topics::FLEET_EVENTS.name().into(),
            partition: 0,
            offset: 7,
            key: None,
            payload: None,
            headers,
            timestamp_ms: None,
        }
    }

    #[test]
    fn the_envelope_is_read_back_from_the_record_headers() {
        let root = Envelope::new_root(topics::APP_COMMANDS, "/test", "v");
        let child = Envelope::child(&root, topics::FLEET_EVENTS, "/test", "v");
        let headers = child
            .to_headers()
            .iter()
            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
            .collect();
        let read = envelope(&record(headers)).unwrap();
        assert_eq!(read.id, child.id);
        assert_eq!(read.correlation_id, root.id);
    }

    #[test]
    fn a_record_without_headers_has_no_envelope() {
        assert!(envelope(&record(Vec::new())).is_err());
    }

    #[tokio::test]
    async fn a_tombstone_is_poison_and_other_topics_are_ignored() {
        let codec = WireCodec::new("http://127.0.0.1:1");
        let err = decode_batch(&codec, &[record(Vec::new())])
            .await
            .unwrap_err();
        assert!(err.is_poison());
        let mut other = record(Vec::new());
        other.topic = topics::TELEMETRY.name().into();
        assert!(decode_batch(&codec, &[other]).await.unwrap().is_empty());
    }
}
