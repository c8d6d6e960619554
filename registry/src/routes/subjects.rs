//! `/subjects` and `/subjects/{subject}`: listing, lookup and subject deletion.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use super::super::avro;
use super::super::error::RegistryError;
use super::super::store::Store;
use super::super::types::{SchemaRequest, SrJson, VersionResponse};
use super::extract::{Flags, PathParams, SrBody};
use super::version_response;

pub(super) fn routes() -> Router<Store> {
    Router::new()
        .route("/subjects", get(list))
        .route("/subjects/{subject}", post(lookup).delete(delete))
}

/// `GET /subjects[?deleted=true]`.
async fn list(
    State(store): State<Store>,
    flags: Flags,
) -> Result<SrJson<Vec<String>>, RegistryError> {
    Ok(SrJson(store.subjects(flags.is_set("deleted")).await?))
}

/// `POST /subjects/{subject}[?deleted=true]`: is this schema registered here?
#[tracing::instrument(skip_all, fields(subject = %subject))]
async fn lookup(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    flags: Flags,
    SrBody(body): SrBody<SchemaRequest>,
) -> Result<SrJson<VersionResponse>, RegistryError> {
    let include_deleted = flags.is_set("deleted");
    let parsed = avro::parse_request(&body)?;
    match store.lookup(&subject, &parsed, include_deleted).await? {
        Some(row) => Ok(SrJson(version_response(row))),
        None if store.subject_exists(&subject, include_deleted).await? => {
            Err(RegistryError::SchemaNotFound)
        }
        None => Err(RegistryError::SubjectNotFound(subject)),
    }
}

/// `DELETE /subjects/{subject}[?permanent=true]`: the deleted version numbers.
#[tracing::instrument(skip_all, fields(subject = %subject))]
async fn delete(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    flags: Flags,
) -> Result<SrJson<Vec<i32>>, RegistryError> {
    let deleted = store
        .delete_subject(&subject, flags.is_set("permanent"))
        .await?;
    Ok(SrJson(deleted))
}
