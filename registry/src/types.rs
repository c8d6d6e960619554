//! Request and response bodies of the REST API, and the version-id path syntax.
//!
//! Field names follow Confluent's JSON exactly (`schemaType`, `compatibilityLevel`,
//! `is_compatible`); `schemaType` is omitted for AVRO, as Confluent does.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::avro::AVRO;
use super::error::RegistryError;

/// The content type of every response.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A JSON response with the registry's content type.
#[derive(Debug)]
pub(crate) struct SrJson<T>(pub(crate) T);

impl<T: Serialize> IntoResponse for SrJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => with_content_type(body),
            Err(err) => {
                tracing::error!(error = %err, "response did not serialise");
                let body = br#"{"error_code":50001,"message":"Response serialisation failed"}"#;
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    with_content_type(body.to_vec()),
                )
                    .into_response()
            }
        }
    }
}

/// A raw schema string (the `/schema` endpoints), with the registry's content type.
#[derive(Debug)]
pub(crate) struct SrRaw(pub(crate) String);

impl IntoResponse for SrRaw {
    fn into_response(self) -> Response {
        with_content_type(self.0.into_bytes())
    }
}

fn with_content_type(body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `POST /subjects/{s}/versions`, `POST /subjects/{s}` and the compatibility checks.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SchemaRequest {
    /// The schema, as a JSON document inside a string.
    #[serde(default)]
    pub(crate) schema: Option<String>,
    /// `AVRO` when absent.
    #[serde(default, rename = "schemaType")]
    pub(crate) schema_type: Option<String>,
    /// Schema references; only an empty list is supported.
    #[serde(default)]
    pub(crate) references: Option<Vec<serde_json::Value>>,
    /// Import mode only: the version to register as.
    #[serde(default)]
    pub(crate) version: Option<i64>,
    /// Import mode only: the id to register as.
    #[serde(default)]
    pub(crate) id: Option<i64>,
}

/// `PUT /config` and `PUT /config/{s}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfigRequest {
    /// The new level, case-insensitive.
    #[serde(default, alias = "compatibilityLevel")]
    pub(crate) compatibility: Option<String>,
}

/// `{"id": N}`: the answer to a registration.
#[derive(Debug, Serialize)]
pub(crate) struct IdResponse {
    /// The global schema id.
    pub(crate) id: i32,
}

/// `{subject, version, id, schema}`: one version of a subject.
#[derive(Debug, Serialize)]
pub(crate) struct VersionResponse {
    /// The subject.
    pub(crate) subject: String,
    /// The version within the subject.
    pub(crate) version: i32,
    /// The global schema id.
    pub(crate) id: i32,
    /// Omitted for AVRO.
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    pub(crate) schema_type: Option<String>,
    /// The schema text as first registered.
    pub(crate) schema: String,
}

/// `{"schema": …}`: a schema by id.
#[derive(Debug, Serialize)]
pub(crate) struct SchemaResponse {
    /// Omitted for AVRO.
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    pub(crate) schema_type: Option<String>,
    /// The schema text as first registered.
    pub(crate) schema: String,
}

/// `{subject, version}`: where a schema id is used.
#[derive(Debug, Serialize)]
pub(crate) struct SubjectVersion {
    /// The subject.
    pub(crate) subject: String,
    /// The version within the subject.
    pub(crate) version: i32,
}

/// `GET /config…` answers with `compatibilityLevel`.
#[derive(Debug, Serialize)]
pub(crate) struct LevelResponse {
    /// The level's upper-case name.
    #[serde(rename = "compatibilityLevel")]
    pub(crate) compatibility_level: String,
}

/// `PUT /config…` answers with `compatibility`.
#[derive(Debug, Serialize)]
pub(crate) struct LevelUpdated {
    /// The level's upper-case name.
    pub(crate) compatibility: String,
}

/// `{"is_compatible": bool}`, with `messages` when `?verbose=true`.
#[derive(Debug, Serialize)]
pub(crate) struct CompatibilityResponse {
    /// Whether the schema passes the subject's level.
    pub(crate) is_compatible: bool,
    /// Why not (verbose only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) messages: Option<Vec<String>>,
}

/// `{"mode": "READWRITE"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ModeResponse {
    /// Always `READWRITE`: import and read-only modes are not supported.
    pub(crate) mode: &'static str,
}

/// The `schemaType` to show in a response: `None` for AVRO.
pub(crate) fn shown_type(schema_type: &str) -> Option<String> {
    (schema_type != AVRO).then(|| schema_type.to_owned())
}

/// A `{version}` path segment: a positive int32, or `latest` / `-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionId {
    /// The highest non-deleted version.
    Latest,
    /// One version number (≥ 1).
    Number(i32),
}

impl VersionId {
    /// Parse like Confluent's `VersionId`.
    ///
    /// # Errors
    /// [`RegistryError::InvalidVersion`] (42202) for anything else.
    pub(crate) fn parse(raw: &str) -> Result<Self, RegistryError> {
        let trimmed = raw.trim();
        if trimmed.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        match trimmed.parse::<i32>() {
            Ok(-1) => Ok(Self::Latest),
            Ok(n) if n > 0 => Ok(Self::Number(n)),
            Ok(n) => Err(RegistryError::InvalidVersion(n.to_string())),
            Err(_) => Err(RegistryError::InvalidVersion(raw.to_owned())),
        }
    }

    /// The number Confluent reports in "Version N not found." (-1 for latest).
    pub(crate) fn reported(self) -> i32 {
        match self {
            Self::Latest => -1,
            Self::Number(n) => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_confluent() {
        assert_eq!(VersionId::parse("latest").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse(" LATEST ").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("-1").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("7").unwrap(), VersionId::Number(7));
        for bad in ["0", "-2", "abc", "1.5", "2147483648", ""] {
            let err = VersionId::parse(bad).unwrap_err();
            assert_eq!(err.codes().1, 42202, "{bad}");
        }
    }

    #[test]
    fn avro_is_not_shown_as_a_schema_type() {
        assert_eq!(shown_type("AVRO"), None);
        assert_eq!(shown_type("JSON").as_deref(), Some("JSON"));
    }
}
