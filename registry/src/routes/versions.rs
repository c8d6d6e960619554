//! `/subjects/{subject}/versions…`: registration, reading and deleting versions.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::super::avro;
use super::super::error::RegistryError;
use super::super::store::{Store, VersionRow};
use super::super::types::{IdResponse, SchemaRequest, SrJson, SrRaw, VersionId, VersionResponse};
use super::compatibility::incompatibility;
use super::extract::{Flags, PathParams, SrBody};
use super::version_response;

pub(super) fn routes() -> Router<Store> {
    Router::new()
        .route("/subjects/{subject}/versions", get(list).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(one).delete(delete),
        )
        .route("/subjects/{subject}/versions/{version}/schema", get(raw))
}

/// `GET /subjects/{subject}/versions[?deleted=true]`.
async fn list(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    flags: Flags,
) -> Result<SrJson<Vec<i32>>, RegistryError> {
    let include_deleted = flags.is_set("deleted");
    if !store.subject_exists(&subject, include_deleted).await? {
        return Err(RegistryError::SubjectNotFound(subject));
    }
    Ok(SrJson(store.versions(&subject, include_deleted).await?))
}

/// `POST /subjects/{subject}/versions`: `{"id": N}`.
#[tracing::instrument(skip_all, fields(subject = %subject))]
async fn register(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    SrBody(body): SrBody<SchemaRequest>,
) -> Result<SrJson<IdResponse>, RegistryError> {
    if body.id.is_some_and(|id| id >= 0) || body.version.is_some_and(|version| version > 0) {
        return Err(RegistryError::NotImportMode(subject));
    }
    let parsed = avro::parse_request(&body)?;
    let id = store
        .register(&subject, &parsed, |level, live| {
            incompatibility(&subject, level, &parsed, live)
        })
        .await?;
    Ok(SrJson(IdResponse { id }))
}

/// `GET /subjects/{subject}/versions/{version}[?deleted=true]`.
async fn one(
    State(store): State<Store>,
    PathParams((subject, version)): PathParams<(String, String)>,
    flags: Flags,
) -> Result<SrJson<VersionResponse>, RegistryError> {
    let row = find(&store, &subject, &version, flags.is_set("deleted")).await?;
    Ok(SrJson(version_response(row)))
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema text alone.
async fn raw(
    State(store): State<Store>,
    PathParams((subject, version)): PathParams<(String, String)>,
    flags: Flags,
) -> Result<SrRaw, RegistryError> {
    let row = find(&store, &subject, &version, flags.is_set("deleted")).await?;
    Ok(SrRaw(row.schema_text))
}

/// `DELETE /subjects/{subject}/versions/{version}[?permanent=true]`: the version number.
#[tracing::instrument(skip_all, fields(subject = %subject, version = %version))]
async fn delete(
    State(store): State<Store>,
    PathParams((subject, version)): PathParams<(String, String)>,
    flags: Flags,
) -> Result<SrJson<i32>, RegistryError> {
    let version = VersionId::parse(&version)?;
    let deleted = store
        .delete_version(&subject, version, flags.is_set("permanent"))
        .await?;
    Ok(SrJson(deleted))
}

/// A version, or 42202 / 40401 / 40402 like Confluent.
async fn find(
    store: &Store,
    subject: &str,
    raw: &str,
    include_deleted: bool,
) -> Result<VersionRow, RegistryError> {
    let version = VersionId::parse(raw)?;
    match store.version(subject, version, include_deleted).await? {
        Some(row) => Ok(row),
        None if store.subject_exists(subject, include_deleted).await? => {
            Err(RegistryError::VersionNotFound(version.reported()))
        }
        None => Err(RegistryError::SubjectNotFound(subject.to_owned())),
    }
}
