//! `/compatibility/subjects/{subject}/versions[/{version}]`: dry-run checks, and the
//! check registration runs.

use apache_avro::Schema;
use axum::Router;
use axum::extract::State;
use axum::routing::post;

use super::super::avro::{self, AVRO, ParsedSchema};
use super::super::compat::{self, Level, Previous};
use super::super::error::RegistryError;
use super::super::store::{Store, VersionRow};
use super::super::types::{CompatibilityResponse, SchemaRequest, SrJson, VersionId};
use super::extract::{Flags, PathParams, SrBody};

pub(super) fn routes() -> Router<Store> {
    Router::new()
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(against_one),
        )
}

/// `POST /compatibility/subjects/{subject}/versions/{version}[?verbose=true]`.
///
/// `latest` of a subject without versions is compatible; a missing numbered version
/// is 40402, as in Confluent.
async fn against_one(
    State(store): State<Store>,
    PathParams((subject, version)): PathParams<(String, String)>,
    flags: Flags,
    SrBody(body): SrBody<SchemaRequest>,
) -> Result<SrJson<CompatibilityResponse>, RegistryError> {
    let version = VersionId::parse(&version)?;
    let target = store.version(&subject, version, false).await?;
    if target.is_none() && version != VersionId::Latest {
        return Err(RegistryError::VersionNotFound(version.reported()));
    }
    let previous: Vec<VersionRow> = target.into_iter().collect();
    respond(&store, &subject, &body, &previous, flags.is_set("verbose")).await
}

/// `POST /compatibility/subjects/{subject}/versions[?verbose=true]`: against every live
/// version the subject's level looks at.
async fn against_all(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    flags: Flags,
    SrBody(body): SrBody<SchemaRequest>,
) -> Result<SrJson<CompatibilityResponse>, RegistryError> {
    let previous = store.live_versions(&subject).await?;
    respond(&store, &subject, &body, &previous, flags.is_set("verbose")).await
}

async fn respond(
    store: &Store,
    subject: &str,
    body: &SchemaRequest,
    previous: &[VersionRow],
    verbose: bool,
) -> Result<SrJson<CompatibilityResponse>, RegistryError> {
    let parsed = match avro::parse_request(body) {
        Ok(parsed) => parsed,
        // Confluent reports an invalid schema as a message when verbose.
        Err(err @ RegistryError::InvalidSchema(_)) if verbose => {
            return Ok(SrJson(CompatibilityResponse {
                is_compatible: false,
                messages: Some(vec![err.to_string()]),
            }));
        }
        Err(err) => return Err(err),
    };
    let level = store.level_for(subject).await?;
    let messages = messages(level, &parsed, previous);
    Ok(SrJson(CompatibilityResponse {
        is_compatible: messages.is_empty(),
        messages: verbose.then_some(messages),
    }))
}

/// The registration check: `Err(409)` when `parsed` fails `level` against `live`.
pub(super) fn incompatibility(
    subject: &str,
    level: Level,
    parsed: &ParsedSchema,
    live: &[VersionRow],
) -> Result<(), RegistryError> {
    let details = messages(level, parsed, live);
    if details.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Incompatible {
            subject: subject.to_owned(),
            details,
        })
    }
}

/// Confluent-style messages for `parsed` against `rows` (oldest first) under `level`.
fn messages(level: Level, parsed: &ParsedSchema, rows: &[VersionRow]) -> Vec<String> {
    let schemas: Vec<(&VersionRow, Schema)> = rows
        .iter()
        .filter_map(|row| match avro::parse(AVRO, &row.schema_text) {
            Ok(stored) => Some((row, stored.schema)),
            Err(err) => {
                tracing::warn!(subject = %row.subject, version = row.version, error = %err,
                    "stored schema no longer parses; left out of the compatibility check");
                None
            }
        })
        .collect();
    let previous: Vec<Previous<'_>> = schemas
        .iter()
        .map(|(row, schema)| Previous {
            version: row.version,
            schema,
            text: &row.schema_text,
        })
        .collect();
    compat::check(level, &parsed.schema, &previous)
}
