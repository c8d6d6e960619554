//! Ending sessions over HTTP: a password change (`POST /v1/me/password`) and an account
//! disable (`POST /v1/admin/accounts/{id}/disable`) end every session of the account
//! ([`super::sessions::end_sessions`]).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use super::extract::{AuthUser, RequireAdmin};
use super::sessions::{end_sessions, password_hash};
use super::{AuthError, Role, password};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;

/// The OpenAPI description of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(change_password, disable))]
pub(crate) struct Doc;

/// The session routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/me/password", post(change_password))
        .route("/v1/admin/accounts/{id}/disable", post(disable))
}

/// `POST /v1/me/password`.
#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordChange {
    /// The password now.
    current_password: String,
    /// The new one (at least 10 characters).
    new_password: String,
}

/// `POST /v1/me/password`: change the caller's password; every session of the account
/// ends (refresh tokens revoked, access tokens refused by refresh and streams).
#[utoipa::path(
    post, path = "/v1/me/password", tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; log in again"),
        (status = 401, description = "`invalid_credentials`: the current password is wrong"),
        (status = 422, description = "`weak_password`, or a body of the wrong shape"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id))]
async fn change_password(
    State(state): State<ApiState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    if user.role == Role::Provider {
        return Err(AuthError::Forbidden.into());
    }
    password::check_policy(&req.new_password)?;
    let current = password_hash(&state.pool, user.user_id).await?;
    let matched = state
        .auth
        .verify_password(req.current_password, current.clone())
        .await?;
    if !matched {
        return Err(AuthError::InvalidCredentials.into());
    }
    let hash = state.auth.hash_password(req.new_password).await?;
    end_sessions(&state.pool, user.user_id, Some(&hash), false).await?;
    tracing::info!("password changed; sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/admin/accounts/{id}/disable`: disable an account (admins); its logins fail
/// and its sessions end.
#[utoipa::path(
    post, path = "/v1/admin/accounts/{id}/disable", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The account's `user_id`")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 404, description = "`not_found`: no such account, or not a UUID"),
    )
)]
#[tracing::instrument(skip_all, fields(admin = %admin.user_id))]
async fn disable(
    State(state): State<ApiState>,
    RequireAdmin(admin): RequireAdmin,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = super::admin_routes::id_or_not_found(id)?;
    if !end_sessions(&state.pool, id, None, true).await? {
        return Err(AuthError::NotFound.into());
    }
    tracing::info!(account = %id, "account disabled; sessions ended");
    Ok(StatusCode::NO_CONTENT)
}
