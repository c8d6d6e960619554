//! One exported row: the record's place on the log, its envelope headers and its value
//! decoded with its writer schema — and the batch of such rows as one Arrow record batch.
//!
//! Columns, in this order: `_partition`, `_offset`, `_timestamp` (the broker timestamp),
//! `_key`, `_schema_id`, the envelope headers `ce_id`, `ce_source`, `ce_type`, `ce_time`,
//! `ce_subject`, `correlation_id`, `causation_id` (null on a root), `traceparent`
//! (`ce_specversion` and `content-type` are checked, not kept: they are constants), then
//! one column per top-level field of the value's record.

use std::sync::Arc;

use apache_avro::types::Value;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{ArrayRef, Int32Array, Int64Array, PrimitiveArray, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use fleetlog_schemas::envelope::Envelope;

use crate::avro_type::{Node, record_fields};
use crate::columns;
use crate::registry::Compiled;

/// Names of the columns before the value's fields.
pub(crate) const ENVELOPE_COLUMNS: [&str; 13] = [
    "_partition",
    "_offset",
    "_timestamp",
    "_key",
    "_schema_id",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "correlation_id",
    "causation_id",
    "traceparent",
];

/// A record that decoded.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) timestamp_ms: i64,
    pub(crate) key: Option<String>,
    pub(crate) schema: Arc<Compiled>,
    pub(crate) envelope: Envelope,
    pub(crate) value: Value,
}

fn utc_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The Arrow schema of rows whose value has `fields`.
///
/// # Errors
/// When a field is named like an envelope column.
pub(crate) fn arrow_schema(fields: &[(String, Node)]) -> Result<SchemaRef, String> {
    if let Some((name, _)) = fields
        .iter()
        .find(|(name, _)| ENVELOPE_COLUMNS.contains(&name.as_str()))
    {
        return Err(format!("field {name} has the name of an envelope column"));
    }
    let mut columns = vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("_timestamp", utc_ms(), false),
        Field::new("_key", DataType::Utf8, true),
        Field::new("_schema_id", DataType::Int32, false),
        Field::new("ce_id", DataType::Utf8, false),
        Field::new("ce_source", DataType::Utf8, false),
        Field::new("ce_type", DataType::Utf8, false),
        Field::new("ce_time", utc_ms(), false),
        Field::new("ce_subject", DataType::Utf8, false),
        Field::new("correlation_id", DataType::Utf8, false),
        Field::new("causation_id", DataType::Utf8, true),
        Field::new("traceparent", DataType::Utf8, false),
    ];
    columns.extend(record_fields(fields).iter().map(|f| f.as_ref().clone()));
    Ok(Arc::new(Schema::new(columns)))
}

fn strings<'a>(rows: &'a [Row], f: impl Fn(&'a Row) -> Option<String>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

fn times(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(
        values
            .map(Some)
            .collect::<PrimitiveArray<TimestampMillisecondType>>()
            .with_timezone("UTC"),
    )
}

/// `rows` (all written with `schema`) as one record batch.
///
/// # Errors
/// When Arrow refuses the columns (a value that does not fit its schema).
pub(crate) fn batch(schema: &Compiled, rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    let schema_id = i32::try_from(schema.id).unwrap_or(i32::MAX);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.partition).collect::<Int32Array>()),
        Arc::new(rows.iter().map(|r| r.offset).collect::<Int64Array>()),
        times(rows.iter().map(|r| r.timestamp_ms)),
        strings(rows, |r| r.key.clone()),
        Arc::new(Int32Array::from(vec![schema_id; rows.len()])),
        strings(rows, |r| Some(r.envelope.id.to_string())),
        strings(rows, |r| Some(r.envelope.source.clone())),
        strings(rows, |r| Some(r.envelope.event_type.clone())),
        times(rows.iter().map(|r| r.envelope.time.timestamp_millis())),
        strings(rows, |r| Some(r.envelope.subject.clone())),
        strings(rows, |r| Some(r.envelope.correlation_id.to_string())),
        strings(rows, |r| r.envelope.causation_id.map(|c| c.to_string())),
        strings(rows, |r| Some(r.envelope.traceparent.clone())),
    ];
    let values: Vec<Option<&Value>> = rows.iter().map(|r| Some(&r.value)).collect();
    columns.extend(columns::record_children(&schema.fields, &values)?);
    RecordBatch::try_new(Arc::clone(&schema.arrow), columns)
}
