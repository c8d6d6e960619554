//! The route table and the handlers shared by every resource.

mod compatibility;
mod config;
mod extract;
mod schemas;
mod subjects;
mod versions;

use axum::Router;
use axum::routing::get;

use super::error::RegistryError;
use super::store::{Store, VersionRow};
use super::types::{ModeResponse, SrJson, VersionResponse, shown_type};

/// Every endpoint, over a [`Store`] state.
pub(crate) fn routes() -> Router<Store> {
    Router::new()
        .route("/", get(root))
        .route("/mode", get(mode))
        .merge(subjects::routes())
        .merge(versions::routes())
        .merge(schemas::routes())
        .merge(config::routes())
        .merge(compatibility::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// `GET /`: `{}`, like Confluent.
async fn root() -> SrJson<serde_json::Value> {
    SrJson(serde_json::json!({}))
}

/// `GET /mode`: always READWRITE.
async fn mode() -> SrJson<ModeResponse> {
    SrJson(ModeResponse { mode: "READWRITE" })
}

async fn not_found() -> RegistryError {
    RegistryError::NotFound
}

async fn method_not_allowed() -> RegistryError {
    RegistryError::MethodNotAllowed
}

/// The `{subject, version, id, schema}` body of a version.
fn version_response(row: VersionRow) -> VersionResponse {
    VersionResponse {
        subject: row.subject,
        version: row.version,
        id: row.id,
        schema_type: shown_type(&row.schema_type),
        schema: row.schema_text,
    }
}
