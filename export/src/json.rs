//! JSON as the export writes it: keys sorted at every level (whatever `serde_json`'s
//! features), and decoded Avro values in the shape of their Parquet columns — a
//! multi-branch union as `{"<branch>": value}`, bytes as lowercase hex, enums and uuids as
//! text, maps with sorted keys, non-finite floats as `null`.

use apache_avro::types::Value as Avro;
use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value};

use crate::avro_type::Node;
use crate::row::Row;

/// `value` with the keys of every object sorted.
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut pairs: Vec<(String, Value)> = map.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `value` as one line of compact JSON with sorted keys (no newline).
pub(crate) fn line(value: Value) -> String {
    sorted(value).to_string()
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
pub(crate) fn rfc3339_ms(ms: i64) -> Value {
    DateTime::from_timestamp_millis(ms).map_or(Value::Null, |t| {
        Value::from(t.to_rfc3339_opts(SecondsFormat::Millis, true))
    })
}

/// One exported row as a JSON object with the same names as the Parquet columns.
pub(crate) fn row(row: &Row) -> Value {
    let e = &row.envelope;
    let mut object = Map::new();
    object.insert("_partition".into(), row.partition.into());
    object.insert("_offset".into(), row.offset.into());
    object.insert("_timestamp".into(), rfc3339_ms(row.timestamp_ms));
    object.insert("_key".into(), row.key.clone().into());
    object.insert("_schema_id".into(), row.schema.id.into());
    object.insert("ce_id".into(), e.id.to_string().into());
    object.insert("ce_source".into(), e.source.clone().into());
    object.insert("ce_type".into(), e.event_type.clone().into());
    object.insert("ce_time".into(), rfc3339_ms(e.time.timestamp_millis()));
    object.insert("ce_subject".into(), e.subject.clone().into());
    object.insert("correlation_id".into(), e.correlation_id.to_string().into());
    object.insert(
        "causation_id".into(),
        e.causation_id.map(|c| c.to_string()).into(),
    );
    object.insert("traceparent".into(), e.traceparent.clone().into());
    if let Avro::Record(pairs) = &row.value {
        for (name, node) in &row.schema.fields {
            let field = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            object.insert(name.clone(), field.map_or(Value::Null, |v| avro(node, v)));
        }
    }
    Value::Object(object)
}

/// A decoded Avro value as JSON, following `node`.
pub(crate) fn avro(node: &Node, value: &Avro) -> Value {
    match (node, value) {
        (_, Avro::Null) => Value::Null,
        (Node::Optional(inner), Avro::Union(_, v)) => avro(inner, v),
        (Node::Union { branches, .. }, Avro::Union(index, v)) => {
            match branches.iter().find(|(i, _, _)| i == index) {
                Some((_, name, branch)) => {
                    let mut object = Map::new();
                    object.insert(name.clone(), avro(branch, v));
                    Value::Object(object)
                }
                None => Value::Null,
            }
        }
        (_, Avro::Union(_, v)) => avro(node, v),
        (Node::Record(fields), Avro::Record(pairs)) => Value::Object(
            fields
                .iter()
                .map(|(name, child)| {
                    let v = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                    (name.clone(), v.map_or(Value::Null, |v| avro(child, v)))
                })
                .collect(),
        ),
        (Node::Array(item), Avro::Array(items)) => {
            Value::Array(items.iter().map(|v| avro(item, v)).collect())
        }
        (Node::Map(inner), Avro::Map(pairs)) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), avro(inner, v)))
                .collect(),
        ),
        (_, Avro::Boolean(b)) => (*b).into(),
        (_, Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i)) => (*i).into(),
        (
            _,
            Avro::Long(i)
            | Avro::TimeMicros(i)
            | Avro::TimestampMillis(i)
            | Avro::TimestampMicros(i)
            | Avro::TimestampNanos(i)
            | Avro::LocalTimestampMillis(i)
            | Avro::LocalTimestampMicros(i)
            | Avro::LocalTimestampNanos(i),
        ) => (*i).into(),
        (_, Avro::Float(f)) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number)
        }
        (_, Avro::Double(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        (_, Avro::Bytes(b) | Avro::Fixed(_, b)) => hex::encode(b).into(),
        (_, Avro::String(s) | Avro::Enum(_, s)) => s.clone().into(),
        (_, Avro::Uuid(u)) => u.to_string().into(),
        _ => Value::Null,
    }
}
