//! `/schemas/…`: schemas by global id, and the supported types.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::super::avro::AVRO;
use super::super::error::RegistryError;
use super::super::store::{SchemaRow, Store};
use super::super::types::{SchemaResponse, SrJson, SrRaw, SubjectVersion, shown_type};
use super::extract::{Flags, PathParams};

pub(super) fn routes() -> Router<Store> {
    Router::new()
        .route("/schemas/types", get(types))
        .route("/schemas/ids/{id}", get(by_id))
        .route("/schemas/ids/{id}/schema", get(raw))
        .route("/schemas/ids/{id}/versions", get(versions))
        .route("/schemas/ids/{id}/subjects", get(subjects))
}

/// `GET /schemas/types`.
async fn types() -> SrJson<[&'static str; 1]> {
    SrJson([AVRO])
}

/// `GET /schemas/ids/{id}`: `{"schema": …}`; soft-deleted versions do not matter.
async fn by_id(
    State(store): State<Store>,
    PathParams(id): PathParams<i32>,
) -> Result<SrJson<SchemaResponse>, RegistryError> {
    let row = find(&store, id).await?;
    Ok(SrJson(SchemaResponse {
        schema_type: shown_type(&row.schema_type),
        schema: row.schema_text,
    }))
}

/// `GET /schemas/ids/{id}/schema`: the schema text alone.
async fn raw(
    State(store): State<Store>,
    PathParams(id): PathParams<i32>,
) -> Result<SrRaw, RegistryError> {
    Ok(SrRaw(find(&store, id).await?.schema_text))
}

/// `GET /schemas/ids/{id}/versions[?deleted=true]`: `[{subject, version}]`.
async fn versions(
    State(store): State<Store>,
    PathParams(id): PathParams<i32>,
    flags: Flags,
) -> Result<SrJson<Vec<SubjectVersion>>, RegistryError> {
    find(&store, id).await?;
    let usages = store.usages(id, flags.is_set("deleted")).await?;
    Ok(SrJson(
        usages
            .into_iter()
            .map(|(subject, version)| SubjectVersion { subject, version })
            .collect(),
    ))
}

/// `GET /schemas/ids/{id}/subjects[?deleted=true]`: the subjects using the schema.
async fn subjects(
    State(store): State<Store>,
    PathParams(id): PathParams<i32>,
    flags: Flags,
) -> Result<SrJson<Vec<String>>, RegistryError> {
    find(&store, id).await?;
    let mut subjects: Vec<String> = store
        .usages(id, flags.is_set("deleted"))
        .await?
        .into_iter()
        .map(|(subject, _)| subject)
        .collect();
    subjects.dedup();
    Ok(SrJson(subjects))
}

async fn find(store: &Store, id: i32) -> Result<SchemaRow, RegistryError> {
    store
        .schema(id)
        .await?
        .ok_or(RegistryError::SchemaIdNotFound(id))
}
