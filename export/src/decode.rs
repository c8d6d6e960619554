//! A consumed record → a [`Row`], or the reason it cannot be one (a reject): no valid
//! envelope, a key that is not UTF-8, a value that is not Confluent wire format, a schema
//! id the registry does not know, or an Avro body that does not match its schema.

use apache_avro::types::Value;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::wire::{HEADER_LEN, schema_id};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use crate::ExportError;
use crate::registry::Schemas;
use crate::row::Row;

/// What became of one record.
pub(crate) enum Decoded {
    Row(Box<Row>),
    Reject(String),
}

/// Decode `message` through the registry.
///
/// # Errors
/// Only when the registry cannot be read; everything wrong with the record itself is a
/// [`Decoded::Reject`].
pub(crate) async fn decode(
    schemas: &mut Schemas,
    message: &OwnedMessage,
) -> Result<Decoded, ExportError> {
    let reject = |reason: String| Ok(Decoded::Reject(reason));
    let envelope = match Envelope::from_message(message) {
        Ok(envelope) => envelope,
        Err(err) => return reject(format!("envelope: {err}")),
    };
    let key = match message.key().map(std::str::from_utf8).transpose() {
        Ok(key) => key.map(str::to_owned),
        Err(_) => return reject("the key is not UTF-8".into()),
    };
    let Some(payload) = message.payload() else {
        return reject("no value (a tombstone)".into());
    };
    let id = match schema_id(payload) {
        Ok(id) => id,
        Err(err) => return reject(err.to_string()),
    };
    let schema = match schemas.get(id).await? {
        Ok(schema) => schema,
        Err(reason) => return reject(reason),
    };
    let mut body = payload.get(HEADER_LEN..).unwrap_or_default();
    let value = match schema.reader.read_value(&mut body) {
        Ok(value) => value,
        Err(err) => {
            return reject(format!("the Avro body does not match schema {id}: {err}"));
        }
    };
    if !body.is_empty() {
        return reject(format!(
            "{} bytes left after decoding with schema {id}",
            body.len()
        ));
    }
    if !matches!(value, Value::Record(_)) {
        return reject(format!("schema {id} did not decode to a record"));
    }
    let timestamp_ms = message
        .timestamp()
        .to_millis()
        .unwrap_or_else(|| envelope.time.timestamp_millis());
    Ok(Decoded::Row(Box::new(Row {
        partition: message.partition(),
        offset: message.offset(),
        timestamp_ms,
        key,
        schema,
        envelope,
        value,
    })))
}

/// The broker timestamp of `message` (ms), or `None` when it has none.
pub(crate) fn timestamp_ms(message: &OwnedMessage) -> Option<i64> {
    message.timestamp().to_millis()
}
