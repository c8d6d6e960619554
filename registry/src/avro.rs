//! Parsing posted schemas and the form used to recognise identical ones.
//!
//! Two schema texts are "the same schema" (same global id) when apache-avro parses
//! them to the same schema. The key is the parsed schema serialised back to JSON by
//! apache-avro: whitespace, key order and namespace spelling disappear, but `default`,
//! `doc`, `aliases` and custom attributes stay. The Parsing Canonical Form would drop
//! defaults, and a field with a default reads differently from one without, so it
//! would wrongly merge schemas that evolve differently.

use apache_avro::Schema;

use super::error::RegistryError;
use super::types::SchemaRequest;

/// The only schema type this registry supports.
pub(crate) const AVRO: &str = "AVRO";

/// A posted schema, parsed.
#[derive(Debug, Clone)]
pub(crate) struct ParsedSchema {
    /// `AVRO`.
    pub(crate) schema_type: &'static str,
    /// The text as posted (stored on first registration).
    pub(crate) text: String,
    /// The dedupe key (see the module docs).
    pub(crate) canonical: String,
    /// The parsed schema, for compatibility checks.
    pub(crate) schema: Schema,
}

/// Validate a request's schema, type and references and parse the schema.
///
/// # Errors
/// [`RegistryError::InvalidSchema`] (42201) for an empty or unparseable schema, a
/// type other than AVRO, or a non-empty `references` list.
pub(crate) fn parse_request(request: &SchemaRequest) -> Result<ParsedSchema, RegistryError> {
    let schema_type = schema_type(request.schema_type.as_deref())?;
    if request
        .references
        .as_ref()
        .is_some_and(|refs| !refs.is_empty())
    {
        return Err(RegistryError::InvalidSchema(
            "Schema references are not supported by this registry".into(),
        ));
    }
    let text = request.schema.as_deref().unwrap_or_default();
    parse(schema_type, text)
}

/// The schema type named in a request (`None` means AVRO).
///
/// # Errors
/// [`RegistryError::InvalidSchema`] for any other type.
pub(crate) fn schema_type(given: Option<&str>) -> Result<&'static str, RegistryError> {
    match given {
        None => Ok(AVRO),
        Some(name) if name.eq_ignore_ascii_case(AVRO) => Ok(AVRO),
        Some(name) => Err(RegistryError::InvalidSchema(format!(
            "Invalid schema type {name}"
        ))),
    }
}

/// Parse `text` as a schema of `schema_type` (AVRO).
///
/// # Errors
/// [`RegistryError::InvalidSchema`] when empty or not valid Avro.
pub(crate) fn parse(schema_type: &'static str, text: &str) -> Result<ParsedSchema, RegistryError> {
    if text.trim().is_empty() {
        return Err(RegistryError::InvalidSchema("Empty schema".into()));
    }
    let invalid = |details: String| {
        RegistryError::InvalidSchema(format!(
            "Invalid schema {text} of type {schema_type}, details: {details}"
        ))
    };
    let schema = Schema::parse_str(text).map_err(|err| invalid(error_chain(&err)))?;
    let canonical = canonical(&schema).map_err(|err| invalid(err.to_string()))?;
    Ok(ParsedSchema {
        schema_type,
        text: text.to_owned(),
        canonical,
        schema,
    })
}

/// The dedupe key of a parsed schema.
///
/// # Errors
/// When apache-avro cannot serialise its own schema (not expected).
pub(crate) fn canonical(schema: &Schema) -> Result<String, serde_json::Error> {
    serde_json::to_string(schema)
}

/// An error and its sources, `: `-separated.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ParsedSchema {
        parse(AVRO, text).unwrap()
    }

    #[test]
    fn formatting_and_key_order_do_not_change_the_canonical_form() {
        let a = parsed(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
        let b = parsed(
            r#"{ "fields": [ {"type": "int", "name": "a"} ],
                 "name": "R", "type": "record" }"#,
        );
        assert_eq!(a.canonical, b.canonical);
        assert_ne!(a.text, b.text);
    }

    #[test]
    fn a_default_makes_a_different_schema() {
        let without =
            parsed(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
        let with = parsed(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":0}]}"#,
        );
        assert_ne!(without.canonical, with.canonical);
    }

    #[test]
    fn garbage_empty_text_and_other_types_are_invalid_schemas() {
        for text in ["", "   ", "{", r#"{"type":"record"}"#, r#""nope""#] {
            assert_eq!(parse(AVRO, text).unwrap_err().codes().1, 42201, "{text}");
        }
        assert_eq!(schema_type(Some("PROTOBUF")).unwrap_err().codes().1, 42201);
        assert_eq!(schema_type(Some("avro")).unwrap(), AVRO);
    }

    #[test]
    fn references_are_refused() {
        let request = SchemaRequest {
            schema: Some(r#""string""#.into()),
            references: Some(vec![serde_json::json!({"name": "x"})]),
            ..SchemaRequest::default()
        };
        assert_eq!(parse_request(&request).unwrap_err().codes().1, 42201);
    }
}
