//! A batch of log records decoded into the fleet projection's inputs: each value through
//! the schema registry ([`WireCodec`]), each event id from its `ce_id` header.

use chrono::DateTime;
use fleetlog_schemas::events::{FleetEvent, SessionEvent, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::lineage::record_event_id;
use crate::runtime::{ProjectionError, SourceRecord};

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
            topics::TELEMETRY => {
                let t: Telemetry = decode(codec, record).await?;
                if DateTime::from_timestamp_millis(t.device_time_ms).is_none() {
                    let reason = format!("device time {} ms is out of range", t.device_time_ms);
                    return Err(ProjectionError::poison(record, reason));
                }
                out.telemetry.push((id, t));
                out.telemetry_at.push((record.partition, record.offset));
            }
            topics::SESSIONS => out.sessions.push((id, decode(codec, record).await?)),
            topics::FLEET_EVENTS => out.fleet.push((id, decode(codec, record).await?)),
            _ => {}
        }
    }
    Ok(out)
}

async fn decode<T: DeserializeOwned>(
    codec: &WireCodec,
    record: &SourceRecord,
) -> Result<T, ProjectionError> {
    crate::runtime::decode_value(codec, record).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_that_are_not_wire_format_are_permanent_failures() {
        let err = fleetlog_schemas::wire::schema_id(b"{}").unwrap_err();
        assert!(err.is_permanent());
    }
}
