//! `/v1/admin/provider-tokens`: admins issue and revoke MDS provider tokens.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::extract::RequireAdmin;
use super::{AuthError, provider};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;

/// Longest provider token lifetime, in days.
pub const MAX_PROVIDER_TOKEN_DAYS: u32 = 3650;
/// Longest provider token name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(issue, revoke))]
pub(crate) struct Doc;

/// The admin routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/admin/provider-tokens", post(issue))
        .route("/v1/admin/provider-tokens/{id}", delete(revoke))
}

/// `POST /v1/admin/provider-tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
struct IssueRequest {
    /// Who the token is for, 1 to 200 characters.
    name: String,
    /// Lifetime in days, 1 to 3650 (default `PROVIDER_TOKEN_DEFAULT_DAYS`).
    #[serde(default)]
    expires_in_days: Option<u32>,
}

/// A new provider token: shown once.
#[derive(Serialize, utoipa::ToSchema)]
struct IssueResponse {
    /// The bearer token (role `provider`).
    token: String,
    token_id: Uuid,
    name: String,
    expires_at: Option<DateTime<Utc>>,
}

/// `POST /v1/admin/provider-tokens`: issue an MDS provider token (admins).
#[utoipa::path(
    post, path = "/v1/admin/provider-tokens", tag = "admin",
    security(("bearer" = [])),
    request_body = IssueRequest,
    responses(
        (status = 201, description = "The token", body = IssueResponse),
        (status = 422, description = "`invalid_field` (`name` or `expires_in_days`), or a body of the wrong shape"),
    )
)]
#[tracing::instrument(skip_all, fields(admin = %admin.user_id))]
async fn issue(
    State(state): State<ApiState>,
    RequireAdmin(admin): RequireAdmin,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<(StatusCode, Json<IssueResponse>), ApiError> {
    let name = req.name.trim().to_owned();
    let printable = !name.chars().any(char::is_control);
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !printable {
        return Err(AuthError::Invalid {
            field: "name",
            message: "name must be 1 to 200 characters, without control characters",
        }
        .into());
    }
    let days = req
        .expires_in_days
        .unwrap_or(state.auth.settings().provider_token_default_days);
    if !(1..=MAX_PROVIDER_TOKEN_DAYS).contains(&days) {
        return Err(AuthError::Invalid {
            field: "expires_in_days",
            message: "expires_in_days must be between 1 and 3650",
        }
        .into());
    }
    let expires_at = Utc::now() + chrono::Duration::days(i64::from(days));
    let issued = provider::issue(&state.pool, &name, Some(expires_at), admin.user_id).await?;
    tracing::info!(token_id = %issued.id, %name, %expires_at, "provider token issued");
    Ok((
        StatusCode::CREATED,
        Json(IssueResponse {
            token: issued.token.token,
            token_id: issued.id,
            name,
            expires_at: issued.expires_at,
        }),
    ))
}

/// `DELETE /v1/admin/provider-tokens/{id}`: revoke a provider token (admins).
#[utoipa::path(
    delete, path = "/v1/admin/provider-tokens/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The `token_id`")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`: no such token, or not a UUID"),
    )
)]
#[tracing::instrument(skip_all, fields(admin = %admin.user_id))]
async fn revoke(
    State(state): State<ApiState>,
    RequireAdmin(admin): RequireAdmin,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = id_or_not_found(id)?;
    provider::revoke(&state.pool, state.auth.providers(), id).await?;
    tracing::info!(token_id = %id, "provider token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// The id of an admin route's path: one that is not a UUID names nothing, so it is a 404
/// like an unknown id (the routes' documented answer), not a 400.
pub(super) fn id_or_not_found(
    path: Result<Path<String>, PathRejection>,
) -> Result<Uuid, AuthError> {
    path.ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .ok_or(AuthError::NotFound)
}
