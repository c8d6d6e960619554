//! Decoding a record's value through the schema registry, with the failure classified the
//! way the runtime needs: a value that can never decode is poison, a registry that does not
//! answer is transient.

use fleetlog_schemas::topics::{Topic, TopicValue};
use fleetlog_schemas::wire::WireCodec;

use super::{ProjectionError, SourceRecord};

/// The value of `record`, read from `topic`, as the topic's value type.
///
/// # Errors
/// [`ProjectionError::Poison`] for a tombstone or a value that is not what its schema or
/// the topic's value type says ([`fleetlog_schemas::wire::WireError::is_permanent`]);
/// transient otherwise.
pub async fn decode_value<V: TopicValue>(
    codec: &WireCodec,
    topic: Topic<'_, V>,
    record: &SourceRecord,
) -> Result<V, ProjectionError> {
    let Some(payload) = record.payload.as_deref() else {
        return Err(ProjectionError::poison(record, "no value (tombstone)"));
    };
    match codec.decode(topic, payload).await {
        Ok((value, _)) => Ok(value),
        Err(err) if err.is_permanent() => {
            Err(ProjectionError::poison(record, format!("value: {err}")))
        }
        Err(err) => Err(ProjectionError::transient(err)),
    }
}
