//! Avro schemas as Arrow types: each Avro schema becomes one Arrow (so one Parquet) schema.
//!
//! | Avro | Arrow |
//! |---|---|
//! | `boolean`, `int`, `long`, `float`, `double` | `Boolean`, `Int32`, `Int64`, `Float32`, `Float64` |
//! | `string`, `uuid`, `enum` | `Utf8` (an enum as its symbol) |
//! | `bytes`, `fixed(n)` | `Binary`, `FixedSizeBinary(n)` |
//! | `date`, `time-*`, `timestamp-*` (`local-timestamp-*`) | `Date32`, `Time32/64`, `Timestamp(unit, "UTC")` (no zone) |
//! | `record` | `Struct` |
//! | `array`, `map` | `List`, `Map<Utf8, _>` (entries sorted by key) |
//! | `["null", T]` | `T`, nullable |
//! | any other union | `Struct` with one nullable child per branch, named by the branch |
//!
//! `decimal`, `big-decimal` and recursive records are not supported: records of such a
//! schema are rejected with that reason.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{Name, UnionSchema};
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// The shape of an Avro schema that the column builders follow.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Bool,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Str,
    Uuid,
    Enum,
    Fixed(i32),
    Date,
    TimeMillis,
    TimeMicros,
    Timestamp(TimeUnit, bool),
    Record(Vec<(String, Node)>),
    Array(Box<Node>),
    Map(Box<Node>),
    /// `["null", T]` (either order).
    Optional(Box<Node>),
    /// Any other union: `(union index, branch name, node)` for each non-null branch.
    Union {
        branches: Vec<(u32, String, Node)>,
        nullable: bool,
    },
}

/// Compile `schema` (named types resolved through `names`).
///
/// # Errors
/// A sentence naming the unsupported type or the unresolved reference.
pub(crate) fn compile(schema: &Schema, names: &HashMap<Name, &Schema>) -> Result<Node, String> {
    compile_in(schema, names, &mut Vec::new())
}

fn compile_in(
    schema: &Schema,
    names: &HashMap<Name, &Schema>,
    stack: &mut Vec<String>,
) -> Result<Node, String> {
    Ok(match schema {
        Schema::Null => Node::Null,
        Schema::Boolean => Node::Bool,
        Schema::Int => Node::Int,
        Schema::Long => Node::Long,
        Schema::Float => Node::Float,
        Schema::Double => Node::Double,
        Schema::Bytes => Node::Bytes,
        Schema::String => Node::Str,
        Schema::Uuid(_) => Node::Uuid,
        Schema::Enum(_) => Node::Enum,
        Schema::Fixed(f) | Schema::Duration(f) => Node::Fixed(
            i32::try_from(f.size).map_err(|_| format!("fixed size {} too large", f.size))?,
        ),
        Schema::Date => Node::Date,
        Schema::TimeMillis => Node::TimeMillis,
        Schema::TimeMicros => Node::TimeMicros,
        Schema::TimestampMillis => Node::Timestamp(TimeUnit::Millisecond, true),
        Schema::TimestampMicros => Node::Timestamp(TimeUnit::Microsecond, true),
        Schema::TimestampNanos => Node::Timestamp(TimeUnit::Nanosecond, true),
        Schema::LocalTimestampMillis => Node::Timestamp(TimeUnit::Millisecond, false),
        Schema::LocalTimestampMicros => Node::Timestamp(TimeUnit::Microsecond, false),
        Schema::LocalTimestampNanos => Node::Timestamp(TimeUnit::Nanosecond, false),
        Schema::Decimal(_) | Schema::BigDecimal => {
            return Err("Avro decimal is not supported by the export".into());
        }
        Schema::Array(a) => Node::Array(Box::new(compile_in(&a.items, names, stack)?)),
        Schema::Map(m) => Node::Map(Box::new(compile_in(&m.types, names, stack)?)),
        Schema::Record(r) => {
            let full = r.name.fullname(None);
            if stack.contains(&full) {
                return Err(format!("recursive record {full} is not supported"));
            }
            stack.push(full);
            let fields = r
                .fields
                .iter()
                .map(|f| Ok((f.name.clone(), compile_in(&f.schema, names, stack)?)))
                .collect::<Result<Vec<_>, String>>();
            stack.pop();
            Node::Record(fields?)
        }
        Schema::Union(u) => union(u, names, stack)?,
        Schema::Ref { name } => {
            let target = names
                .get(name)
                .or_else(|| names.get(name.fully_qualified_name(None).as_ref()))
                .ok_or_else(|| format!("unresolved reference {}", name.fullname(None)))?;
            compile_in(target, names, stack)?
        }
    })
}

fn union(
    u: &UnionSchema,
    names: &HashMap<Name, &Schema>,
    stack: &mut Vec<String>,
) -> Result<Node, String> {
    let variants = u.variants();
    let non_null: Vec<(usize, &Schema)> = variants
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s, Schema::Null))
        .collect();
    let nullable = non_null.len() < variants.len();
    if let [(_, only)] = non_null.as_slice()
        && nullable
    {
        return Ok(Node::Optional(Box::new(compile_in(only, names, stack)?)));
    }
    let mut branches = Vec::with_capacity(non_null.len());
    for (index, schema) in non_null {
        let index = u32::try_from(index).map_err(|_| "union too large".to_owned())?;
        branches.push((
            index,
            branch_name(schema),
            compile_in(schema, names, stack)?,
        ));
    }
    Ok(Node::Union { branches, nullable })
}

/// A union branch's column name: the short name of a named type, else the type's name.
fn branch_name(schema: &Schema) -> String {
    match schema {
        Schema::Record(r) => r.name.name().to_owned(),
        Schema::Enum(e) => e.name.name().to_owned(),
        Schema::Fixed(f) => f.name.name().to_owned(),
        Schema::Ref { name } => name.name().to_owned(),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

impl Node {
    /// Whether a value of this node can be null.
    pub(crate) fn nullable(&self) -> bool {
        match self {
            Self::Null | Self::Optional(_) => true,
            Self::Union { nullable, .. } => *nullable,
            _ => false,
        }
    }

    /// The Arrow type of this node.
    pub(crate) fn data_type(&self) -> DataType {
        match self {
            Self::Null => DataType::Null,
            Self::Bool => DataType::Boolean,
            Self::Int => DataType::Int32,
            Self::Long => DataType::Int64,
            Self::Float => DataType::Float32,
            Self::Double => DataType::Float64,
            Self::Bytes => DataType::Binary,
            Self::Str | Self::Uuid | Self::Enum => DataType::Utf8,
            Self::Fixed(n) => DataType::FixedSizeBinary(*n),
            Self::Date => DataType::Date32,
            Self::TimeMillis => DataType::Time32(TimeUnit::Millisecond),
            Self::TimeMicros => DataType::Time64(TimeUnit::Microsecond),
            Self::Timestamp(unit, utc) => DataType::Timestamp(*unit, utc.then(|| "UTC".into())),
            Self::Record(fields) => DataType::Struct(record_fields(fields)),
            Self::Array(item) => DataType::List(Arc::new(list_item(item))),
            Self::Map(value) => DataType::Map(Arc::new(map_entries(value)), false),
            Self::Optional(inner) => inner.data_type(),
            Self::Union { branches, .. } => DataType::Struct(
                branches
                    .iter()
                    .map(|(_, name, node)| Field::new(name, node.data_type(), true))
                    .collect(),
            ),
        }
    }
}

/// The Arrow fields of a record's fields.
pub(crate) fn record_fields(fields: &[(String, Node)]) -> Fields {
    fields
        .iter()
        .map(|(name, node)| Field::new(name, node.data_type(), node.nullable()))
        .collect()
}

/// The item field of a list.
pub(crate) fn list_item(item: &Node) -> Field {
    Field::new("item", item.data_type(), item.nullable())
}

/// The entries field of a map: `key` (never null) and `value`.
pub(crate) fn map_entries(value: &Node) -> Field {
    let fields = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", value.data_type(), value.nullable()),
    ]);
    Field::new("entries", DataType::Struct(fields), false)
}
