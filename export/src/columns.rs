//! Arrow columns from decoded Avro values, one [`Node`] at a time: `values[i]` is row
//! `i`'s value (or `None` where the row, or an enclosing struct, is null).
//!
//! Values were decoded with the same writer schema the node was compiled from, so their
//! shapes match; a value of another shape is a null (and fails the batch where the column
//! may not be null).

use std::sync::Arc;

use apache_avro::types::Value;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, FixedSizeBinaryArray, Float32Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, NullArray, PrimitiveArray,
    StringArray, StructArray, Time32MillisecondArray, Time64MicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, TimeUnit};

use crate::avro_type::{Node, list_item, map_entries, record_fields};

/// The column of `node` for `values`.
///
/// # Errors
/// When Arrow refuses the arrays (a null where the schema allows none).
pub(crate) fn build(node: &Node, values: &[Option<&Value>]) -> Result<ArrayRef, ArrowError> {
    Ok(match node {
        Node::Null => Arc::new(NullArray::new(values.len())),
        Node::Bool => Arc::new(
            map(values, |v| match v {
                Value::Boolean(b) => Some(*b),
                _ => None,
            })
            .collect::<BooleanArray>(),
        ),
        Node::Int => Arc::new(map(values, int).collect::<Int32Array>()),
        Node::Long => Arc::new(map(values, long).collect::<Int64Array>()),
        Node::Float => Arc::new(
            map(values, |v| match v {
                Value::Float(f) => Some(*f),
                _ => None,
            })
            .collect::<Float32Array>(),
        ),
        Node::Double => Arc::new(
            map(values, |v| match v {
                Value::Double(f) => Some(*f),
                _ => None,
            })
            .collect::<Float64Array>(),
        ),
        Node::Bytes => Arc::new(map(values, bytes).collect::<BinaryArray>()),
        Node::Str | Node::Uuid | Node::Enum => Arc::new(map(values, text).collect::<StringArray>()),
        Node::Fixed(size) => Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            map(values, bytes),
            *size,
        )?),
        Node::Date => Arc::new(map(values, int).collect::<Date32Array>()),
        Node::TimeMillis => Arc::new(map(values, int).collect::<Time32MillisecondArray>()),
        Node::TimeMicros => Arc::new(map(values, long).collect::<Time64MicrosecondArray>()),
        Node::Timestamp(unit, utc) => timestamps(*unit, *utc, values),
        Node::Record(fields) => record(fields, values)?,
        Node::Array(item) => list(item, values)?,
        Node::Map(value) => map_column(value, values)?,
        Node::Optional(inner) => {
            let inner_values: Vec<Option<&Value>> =
                values.iter().map(|v| v.and_then(present)).collect();
            build(inner, &inner_values)?
        }
        Node::Union { branches, .. } => union(branches, values)?,
    })
}

/// The value inside a union, `None` for its null branch (or a plain null).
fn present(value: &Value) -> Option<&Value> {
    match value {
        Value::Null => None,
        Value::Union(_, inner) => present(inner),
        other => Some(other),
    }
}

fn map<'a, T: 'a>(
    values: &'a [Option<&'a Value>],
    f: impl Fn(&'a Value) -> Option<T> + 'a,
) -> impl Iterator<Item = Option<T>> + 'a {
    values.iter().map(move |v| v.and_then(present).and_then(&f))
}

fn int(v: &Value) -> Option<i32> {
    match v {
        Value::Int(i) | Value::Date(i) | Value::TimeMillis(i) => Some(*i),
        _ => None,
    }
}

fn long(v: &Value) -> Option<i64> {
    match v {
        Value::Long(i)
        | Value::TimeMicros(i)
        | Value::TimestampMillis(i)
        | Value::TimestampMicros(i)
        | Value::TimestampNanos(i)
        | Value::LocalTimestampMillis(i)
        | Value::LocalTimestampMicros(i)
        | Value::LocalTimestampNanos(i) => Some(*i),
        _ => None,
    }
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) | Value::Fixed(_, b) => Some(b.as_slice()),
        Value::Uuid(u) => Some(u.as_bytes().as_slice()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) | Value::Enum(_, s) => Some(s.clone()),
        Value::Uuid(u) => Some(u.to_string()),
        _ => None,
    }
}

fn timestamps(unit: TimeUnit, utc: bool, values: &[Option<&Value>]) -> ArrayRef {
    let zone: Option<Arc<str>> = utc.then(|| "UTC".into());
    let longs = map(values, long);
    match unit {
        TimeUnit::Millisecond => Arc::new(
            longs
                .collect::<PrimitiveArray<TimestampMillisecondType>>()
                .with_timezone_opt(zone),
        ),
        TimeUnit::Microsecond => Arc::new(
            longs
                .collect::<PrimitiveArray<TimestampMicrosecondType>>()
                .with_timezone_opt(zone),
        ),
        _ => Arc::new(
            longs
                .collect::<PrimitiveArray<TimestampNanosecondType>>()
                .with_timezone_opt(zone),
        ),
    }
}

fn nulls(values: &[Option<&Value>]) -> Option<NullBuffer> {
    let valid: Vec<bool> = values
        .iter()
        .map(|v| v.and_then(present).is_some())
        .collect();
    valid.iter().any(|v| !v).then(|| NullBuffer::from(valid))
}

/// A record's fields as the columns of a struct (also the top level of a batch).
pub(crate) fn record_children(
    fields: &[(String, Node)],
    values: &[Option<&Value>],
) -> Result<Vec<ArrayRef>, ArrowError> {
    fields
        .iter()
        .enumerate()
        .map(|(i, (name, node))| {
            let child: Vec<Option<&Value>> = values
                .iter()
                .map(|v| match v.and_then(present) {
                    Some(Value::Record(pairs)) => pairs
                        .get(i)
                        .filter(|(n, _)| n == name)
                        .or_else(|| pairs.iter().find(|(n, _)| n == name))
                        .map(|(_, v)| v),
                    _ => None,
                })
                .collect();
            build(node, &child)
        })
        .collect()
}

fn record(fields: &[(String, Node)], values: &[Option<&Value>]) -> Result<ArrayRef, ArrowError> {
    let children = record_children(fields, values)?;
    Ok(Arc::new(StructArray::try_new(
        record_fields(fields),
        children,
        nulls(values),
    )?))
}

fn list(item: &Node, values: &[Option<&Value>]) -> Result<ArrayRef, ArrowError> {
    let mut lengths = Vec::with_capacity(values.len());
    let mut items: Vec<Option<&Value>> = Vec::new();
    for value in values {
        match value.and_then(present) {
            Some(Value::Array(elements)) => {
                lengths.push(elements.len());
                items.extend(elements.iter().map(Some));
            }
            _ => lengths.push(0),
        }
    }
    let child = build(item, &items)?;
    Ok(Arc::new(ListArray::try_new(
        Arc::new(list_item(item)),
        OffsetBuffer::from_lengths(lengths),
        child,
        nulls(values),
    )?))
}

fn map_column(value: &Node, values: &[Option<&Value>]) -> Result<ArrayRef, ArrowError> {
    let mut lengths = Vec::with_capacity(values.len());
    let mut keys: Vec<&str> = Vec::new();
    let mut entries: Vec<Option<&Value>> = Vec::new();
    for row in values {
        match row.and_then(present) {
            Some(Value::Map(pairs)) => {
                let mut sorted: Vec<(&String, &Value)> = pairs.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                lengths.push(sorted.len());
                for (k, v) in sorted {
                    keys.push(k);
                    entries.push(Some(v));
                }
            }
            _ => lengths.push(0),
        }
    }
    let field = map_entries(value);
    let arrow_schema::DataType::Struct(entry_fields) = field.data_type().clone() else {
        return Err(ArrowError::SchemaError("map entries are a struct".into()));
    };
    let entries = StructArray::try_new(
        entry_fields,
        vec![Arc::new(StringArray::from(keys)), build(value, &entries)?],
        None,
    )?;
    Ok(Arc::new(MapArray::try_new(
        Arc::new(field),
        OffsetBuffer::from_lengths(lengths),
        entries,
        nulls(values),
        false,
    )?))
}

fn union(
    branches: &[(u32, String, Node)],
    values: &[Option<&Value>],
) -> Result<ArrayRef, ArrowError> {
    let mut children = Vec::with_capacity(branches.len());
    for (index, _, node) in branches {
        let child: Vec<Option<&Value>> = values
            .iter()
            .map(|v| match v {
                Some(Value::Union(i, inner)) if i == index => Some(inner.as_ref()),
                _ => None,
            })
            .collect();
        children.push(build(node, &child)?);
    }
    let fields = branches
        .iter()
        .map(|(_, name, node)| arrow_schema::Field::new(name, node.data_type(), true))
        .collect();
    Ok(Arc::new(StructArray::try_new(
        fields,
        children,
        nulls(values),
    )?))
}
