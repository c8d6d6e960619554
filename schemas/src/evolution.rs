//! The schema evolution gate: can the current schema read everything ever written?
//!
//! The registry's default compatibility is `BACKWARD_TRANSITIVE` (architecture §4), because a
//! replay reads from offset 0: the current value schema of a topic must be able to read data
//! written with *every* released version. Released versions are kept in
//! `schemas/avro/history/<subject>/v<N>.avsc`; `schemas/tests/evolution.rs` runs
//! [`check_backward_transitive`] against them so an incompatible change fails `cargo test`
//! before it reaches a registry.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{Name, UnionSchema};
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

/// Nesting deeper than this is taken for a recursive type, which fleetlog does not use.
const MAX_DEPTH: usize = 64;

/// The current schema cannot read data written with a kept version.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompatError {
    /// apache-avro's resolution rules reject the pair.
    #[error("cannot read data written with {version}: {reason}")]
    Incompatible {
        /// Label of the historical version, e.g. `fleet.events.v1-value/v1`.
        version: String,
        /// apache-avro's explanation.
        reason: String,
    },
    /// Only some data written with that version can be read (e.g. an enum lost a symbol).
    #[error("can read only part of the data written with {version}")]
    Partial {
        /// Label of the historical version.
        version: String,
    },
    /// A named type is used but never defined, or types nest too deeply.
    #[error("schema {version} cannot be expanded: {reason}")]
    Malformed {
        /// Label of the schema.
        version: String,
        /// What is wrong.
        reason: String,
    },
}

/// Check that `current` can read data written with each `(label, schema)` of `history`.
///
/// Both sides are compared with every named type expanded in place, so a type that a
/// self-contained schema defines once and then refers to by name is checked wherever used.
///
/// # Errors
/// The first version `current` cannot fully read.
pub fn check_backward_transitive(
    current: &Schema,
    history: &[(String, Schema)],
) -> Result<(), CompatError> {
    let reader = expanded(current, "current")?;
    for (version, writer) in history {
        let writer = expanded(writer, version)?;
        match SchemaCompatibility::can_read(&writer, &reader) {
            Ok(Compatibility::Full) => {}
            Ok(Compatibility::Partial) => {
                return Err(CompatError::Partial {
                    version: version.clone(),
                });
            }
            Err(e) => {
                return Err(CompatError::Incompatible {
                    version: version.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// `schema` with every `Schema::Ref` replaced by the definition it names.
///
/// # Errors
/// [`CompatError::Malformed`] for a reference to an undefined type or a recursive type.
pub fn expanded(schema: &Schema, label: &str) -> Result<Schema, CompatError> {
    let mut definitions = HashMap::new();
    collect(schema, &mut definitions, 0).map_err(|reason| malformed(label, reason))?;
    inline(schema, &definitions, 0).map_err(|reason| malformed(label, reason))
}

fn malformed(label: &str, reason: String) -> CompatError {
    CompatError::Malformed {
        version: label.to_owned(),
        reason,
    }
}

fn collect(schema: &Schema, defs: &mut HashMap<Name, Schema>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("types nest too deeply".into());
    }
    if let (Some(name), false) = (schema.name(), matches!(schema, Schema::Ref { .. })) {
        defs.entry(name.clone()).or_insert_with(|| schema.clone());
    }
    match schema {
        Schema::Record(record) => record
            .fields
            .iter()
            .try_for_each(|f| collect(&f.schema, defs, depth + 1)),
        Schema::Array(array) => collect(&array.items, defs, depth + 1),
        Schema::Map(map) => collect(&map.types, defs, depth + 1),
        Schema::Union(union) => union
            .variants()
            .iter()
            .try_for_each(|v| collect(v, defs, depth + 1)),
        _ => Ok(()),
    }
}

fn inline(schema: &Schema, defs: &HashMap<Name, Schema>, depth: usize) -> Result<Schema, String> {
    if depth > MAX_DEPTH {
        return Err("types nest too deeply (recursive type?)".into());
    }
    Ok(match schema {
        Schema::Ref { name } => {
            let def = defs
                .get(name)
                .ok_or_else(|| format!("{} is used but not defined", name.fullname(None)))?;
            inline(def, defs, depth + 1)?
        }
        Schema::Record(record) => {
            let mut record = record.clone();
            for field in &mut record.fields {
                field.schema = inline(&field.schema, defs, depth + 1)?;
            }
            Schema::Record(record)
        }
        Schema::Array(array) => {
            let mut array = array.clone();
            array.items = Box::new(inline(&array.items, defs, depth + 1)?);
            Schema::Array(array)
        }
        Schema::Map(map) => {
            let mut map = map.clone();
            map.types = Box::new(inline(&map.types, defs, depth + 1)?);
            Schema::Map(map)
        }
        Schema::Union(union) => {
            let variants = union
                .variants()
                .iter()
                .map(|v| inline(v, defs, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Schema::Union(UnionSchema::new(variants).map_err(|e| e.to_string())?)
        }
        other => other.clone(),
    })
}
