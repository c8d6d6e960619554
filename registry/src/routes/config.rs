//! `/config` and `/config/{subject}`: compatibility levels.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::super::compat::Level;
use super::super::error::RegistryError;
use super::super::store::Store;
use super::super::types::{ConfigRequest, LevelResponse, LevelUpdated, SrJson};
use super::extract::{Flags, PathParams, SrBody};

pub(super) fn routes() -> Router<Store> {
    Router::new()
        .route(
            "/config",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/config/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
}

/// `GET /config`: `{"compatibilityLevel": …}`.
async fn get_global(State(store): State<Store>) -> Result<SrJson<LevelResponse>, RegistryError> {
    Ok(level_response(store.global_level().await?))
}

/// `PUT /config` with `{"compatibility": …}`.
#[tracing::instrument(skip_all)]
async fn put_global(
    State(store): State<Store>,
    SrBody(body): SrBody<ConfigRequest>,
) -> Result<SrJson<LevelUpdated>, RegistryError> {
    let level = requested_level(&body)?;
    store.set_global_level(level).await?;
    tracing::info!(%level, "global compatibility level set");
    Ok(level_updated(level))
}

/// `DELETE /config`: back to the default; answers the previous level.
async fn delete_global(State(store): State<Store>) -> Result<SrJson<LevelResponse>, RegistryError> {
    Ok(level_response(store.delete_global_level().await?))
}

/// `GET /config/{subject}[?defaultToGlobal=true]`: 40408 when the subject has no level
/// of its own (unless `defaultToGlobal`).
async fn get_subject(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    flags: Flags,
) -> Result<SrJson<LevelResponse>, RegistryError> {
    match store.subject_level(&subject).await? {
        Some(level) => Ok(level_response(level)),
        None if flags.is_set("defaultToGlobal") => Ok(level_response(store.global_level().await?)),
        None => Err(RegistryError::CompatibilityNotConfigured(subject)),
    }
}

/// `PUT /config/{subject}` with `{"compatibility": …}`.
#[tracing::instrument(skip_all, fields(subject = %subject))]
async fn put_subject(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
    SrBody(body): SrBody<ConfigRequest>,
) -> Result<SrJson<LevelUpdated>, RegistryError> {
    let level = requested_level(&body)?;
    store.set_subject_level(&subject, level).await?;
    tracing::info!(%level, "subject compatibility level set");
    Ok(level_updated(level))
}

/// `DELETE /config/{subject}`: answers the removed level; 40401 when there was none.
async fn delete_subject(
    State(store): State<Store>,
    PathParams(subject): PathParams<String>,
) -> Result<SrJson<LevelResponse>, RegistryError> {
    match store.delete_subject_level(&subject).await? {
        Some(level) => Ok(level_response(level)),
        None => Err(RegistryError::SubjectNotFound(subject)),
    }
}

fn requested_level(body: &ConfigRequest) -> Result<Level, RegistryError> {
    body.compatibility
        .as_deref()
        .and_then(Level::parse)
        .ok_or(RegistryError::InvalidCompatibility)
}

fn level_response(level: Level) -> SrJson<LevelResponse> {
    SrJson(LevelResponse {
        compatibility_level: level.as_str().to_owned(),
    })
}

fn level_updated(level: Level) -> SrJson<LevelUpdated> {
    SrJson(LevelUpdated {
        compatibility: level.as_str().to_owned(),
    })
}
