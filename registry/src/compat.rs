//! Compatibility levels and the check a new schema must pass, without I/O.
//!
//! BACKWARD: the new schema can read data written with the previous one (writer = old,
//! reader = new). FORWARD: the previous schema can read data written with the new one.
//! FULL: both. `_TRANSITIVE`: against every live version, not only the latest.
//! Checks run newest first and stop at the first failing version, as Confluent does.
//!
//! apache-avro reports a *partial* match (some enum symbols or union branches are
//! missing on the reading side) as `Ok(Partial)`; Avro's Java checker, and so Confluent,
//! treats that as incompatible, and so does this module.

use std::fmt;

use apache_avro::Schema;
use apache_avro::error::CompatibilityError;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

use super::avro::error_chain;

/// A subject's (or the global) compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// No check.
    None,
    /// New reads latest.
    Backward,
    /// New reads every live version.
    BackwardTransitive,
    /// Latest reads new.
    Forward,
    /// Every live version reads new.
    ForwardTransitive,
    /// Backward and forward against the latest.
    Full,
    /// Backward and forward against every live version.
    FullTransitive,
}

/// The global level when none is configured: replay reads the log from offset 0, so
/// the newest schema must read every earlier one.
pub(crate) const DEFAULT_LEVEL: Level = Level::BackwardTransitive;

impl Level {
    const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// The upper-case name Confluent uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// A level by name, case-insensitively.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(name))
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A live version the new schema is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Previous<'a> {
    /// Its version in the subject.
    pub(crate) version: i32,
    /// The parsed schema.
    pub(crate) schema: &'a Schema,
    /// The schema text, quoted in messages.
    pub(crate) text: &'a str,
}

/// Check `new` against `previous` (oldest first) under `level`.
///
/// Returns Confluent-style messages; empty means compatible. On failure the list ends
/// with `{oldSchemaVersion: N}`, `{oldSchema: '…'}` and `{compatibility: 'LEVEL'}`.
pub(crate) fn check(level: Level, new: &Schema, previous: &[Previous<'_>]) -> Vec<String> {
    let against: Vec<&Previous<'_>> = if level.transitive() {
        previous.iter().rev().collect()
    } else {
        previous.last().into_iter().collect()
    };
    for old in against {
        let mut messages = check_pair(level, new, old.schema);
        if !messages.is_empty() {
            messages.push(format!("{{oldSchemaVersion: {}}}", old.version));
            messages.push(format!("{{oldSchema: '{}'}}", old.text));
            messages.push(format!("{{compatibility: '{level}'}}"));
            return messages;
        }
    }
    Vec::new()
}

/// The problems between `new` and one `old` schema under `level` (transitivity aside).
pub(crate) fn check_pair(level: Level, new: &Schema, old: &Schema) -> Vec<String> {
    let mut messages = Vec::new();
    if level.backward() {
        messages.extend(can_read(
            old,
            new,
            "the new schema cannot read data written with the old schema",
        ));
    }
    if level.forward() {
        messages.extend(can_read(
            new,
            old,
            "the old schema cannot read data written with the new schema",
        ));
    }
    messages
}

/// `None` when `reader` reads everything `writer` writes; otherwise one message.
fn can_read(writer: &Schema, reader: &Schema, direction: &str) -> Option<String> {
    let (error_type, detail) = match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => return None,
        Ok(Compatibility::Partial) => (
            "MISSING_UNION_BRANCH_OR_ENUM_SYMBOL",
            "some written values (a union branch or an enum symbol) have no match in the reader"
                .to_owned(),
        ),
        Err(err) => (error_type(&err), error_chain(&err)),
    };
    Some(format!(
        "{{errorType:'{error_type}', description:'{}: {detail}'}}",
        capitalised(direction)
    ))
}

/// Confluent's `errorType` for an apache-avro incompatibility.
fn error_type(err: &CompatibilityError) -> &'static str {
    match err {
        CompatibilityError::FieldTypeMismatch(_, inner) => error_type(inner),
        CompatibilityError::MissingDefaultValue(_) => "READER_FIELD_MISSING_DEFAULT_VALUE",
        CompatibilityError::MissingSymbols => "MISSING_ENUM_SYMBOLS",
        CompatibilityError::MissingUnionElements
        | CompatibilityError::SchemaMismatchAllUnionElements => "MISSING_UNION_BRANCH",
        CompatibilityError::FixedMismatch => "FIXED_SIZE_MISMATCH",
        CompatibilityError::NameMismatch { .. } => "NAME_MISMATCH",
        _ => "TYPE_MISMATCH",
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"Ride","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    fn v1() -> Schema {
        record(r#"{"name":"id","type":"string"}"#)
    }

    fn with_required_field() -> Schema {
        record(r#"{"name":"id","type":"string"},{"name":"km","type":"double"}"#)
    }

    fn with_defaulted_field() -> Schema {
        record(r#"{"name":"id","type":"string"},{"name":"km","type":"double","default":0.0}"#)
    }

    fn prev<'a>(version: i32, schema: &'a Schema) -> Previous<'a> {
        Previous {
            version,
            schema,
            text: "old",
        }
    }

    #[test]
    fn every_level_name_parses_case_insensitively_and_round_trips() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Some(level));
            assert_eq!(Level::parse(&level.as_str().to_lowercase()), Some(level));
        }
        assert_eq!(Level::parse("SIDEWAYS"), None);
        assert_eq!(DEFAULT_LEVEL.as_str(), "BACKWARD_TRANSITIVE");
    }

    #[test]
    fn adding_a_field_without_a_default_is_not_backward_compatible() {
        let old = v1();
        let messages = check(Level::Backward, &with_required_field(), &[prev(1, &old)]);
        assert!(
            messages[0].contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
            "{messages:?}"
        );
        assert!(messages.contains(&"{oldSchemaVersion: 1}".to_owned()));
        assert!(messages.contains(&"{compatibility: 'BACKWARD'}".to_owned()));
    }

    #[test]
    fn adding_a_field_with_a_default_is_fully_compatible() {
        let old = v1();
        assert!(
            check(
                Level::FullTransitive,
                &with_defaulted_field(),
                &[prev(1, &old)]
            )
            .is_empty()
        );
    }

    #[test]
    fn adding_a_required_field_is_forward_but_not_backward_compatible() {
        let old = v1();
        let new = with_required_field();
        assert!(check(Level::Forward, &new, &[prev(1, &old)]).is_empty());
        assert!(!check(Level::Full, &new, &[prev(1, &old)]).is_empty());
    }

    #[test]
    fn none_accepts_anything() {
        let old = v1();
        let unrelated = Schema::parse_str(r#""int""#).unwrap();
        assert!(check(Level::None, &unrelated, &[prev(1, &old)]).is_empty());
    }

    #[test]
    fn transitive_levels_check_every_version_but_plain_ones_only_the_latest() {
        // v3 reads v2 (`km` defaults) but not v1 (`km` was a string there).
        let v1 = record(r#"{"name":"id","type":"string"},{"name":"km","type":"string"}"#);
        let v2 = record(r#"{"name":"id","type":"string"}"#);
        let v3 =
            record(r#"{"name":"id","type":"string"},{"name":"km","type":"double","default":0.0}"#);
        let history = [prev(1, &v1), prev(2, &v2)];
        assert!(check(Level::Backward, &v3, &history).is_empty());
        let messages = check(Level::BackwardTransitive, &v3, &history);
        assert!(messages[0].contains("TYPE_MISMATCH"), "{messages:?}");
        assert!(messages.contains(&"{oldSchemaVersion: 1}".to_owned()));
    }

    #[test]
    fn a_missing_enum_symbol_counts_as_incompatible() {
        let enum_of = |symbols: &str| {
            Schema::parse_str(&format!(
                r#"{{"type":"enum","name":"E","symbols":[{symbols}]}}"#
            ))
            .unwrap()
        };
        let old = enum_of(r#""A","B""#);
        let messages = check(Level::Backward, &enum_of(r#""A""#), &[prev(1, &old)]);
        assert!(
            messages[0].contains("MISSING_UNION_BRANCH_OR_ENUM_SYMBOL"),
            "{messages:?}"
        );
        assert!(
            check(
                Level::Backward,
                &enum_of(r#""A","B","C""#),
                &[prev(1, &old)]
            )
            .is_empty()
        );
    }

    #[test]
    fn an_empty_history_is_always_compatible() {
        assert!(check(Level::FullTransitive, &v1(), &[]).is_empty());
    }
}
