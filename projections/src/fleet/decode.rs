//! A batch of log records decoded into the fleet projection's inputs: each value through
//! the schema registry ([`WireCodec`]), each event id from its `ce_id` header.

use chrono::DateTime;
use fleetlog_schemas::events::{FleetEvent, SessionEvent, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use uuid::Uuid;

use crate::lineage::record_event_id;
use fleetlog_processor::{ProjectionError, SourceRecord, decode_value};

/// The batch's events by kind, each with its event id, in batch order.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub(crate) telemetry: Vec<(Uuid, Telemetry)>,
    /// Partition and offset of each of `telemetry`, in the same order.
    pub(crate) telemetry_at: Vec<(i32, i64)>,
    pub(crate) sessions: Vec<(Uuid, SessionEvent)>,
    pub(crate) fleet: Vec<(Uuid, FleetEvent)>,
}

/// Decode every record of `batch`; records of other topics are ignored.
///
/// # Errors
/// [`ProjectionError::Poison`] naming a record whose value can never be decoded;
/// [`ProjectionError::Transient`] when the registry cannot be asked.
pub(crate) async fn decode_batch(
    codec: &WireCodec,
    batch: &[SourceRecord],
) -> Result<Decoded, ProjectionError> {
    let mut out = Decoded::default();
    for record in batch {
        let id = record_event_id(record);
        match record.topic.as_str() {
            t if t == topics::TELEMETRY.name() => {
                let t: Telemetry = decode_value(codec, topics::TELEMETRY, record).await?;
                if DateTime::from_timestamp_millis(t.device_time_ms).is_none() {
                    let reason = format!("device time {} ms is out of range", t.device_time_ms);
                    return Err(ProjectionError::poison(record, reason));
                }
                out.telemetry.push((id, t));
                out.telemetry_at.push((record.partition, record.offset));
            }
            t if t == topics::SESSIONS.name() => out
                .sessions
                .push((id, decode_value(codec, topics::SESSIONS, record).await?)),
            t if t == topics::FLEET_EVENTS.name() => out
                .fleet
                .push((id, decode_value(codec, topics::FLEET_EVENTS, record).await?)),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_that_are_not_wire_format_are_permanent_failures() {
        let err = fleetlog_schemas::wire::schema_id(b"{}").unwrap_err();
        assert!(err.is_permanent());
    }
}
