//! Ending sessions: a password change (`POST /v1/me/password`) and an account disable
//! (`POST /v1/admin/accounts/{id}/disable`) bump the account's token version and revoke
//! every refresh family, so other devices' sessions end at their next refresh (at most one
//! access token lifetime later) and live streams end within [`STREAM_CHECK`].

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::extract::{AuthUser, RequireAdmin};
use super::{AuthError, Role, password};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;

/// How often a live stream re-checks its account's token version.
pub const STREAM_CHECK: Duration = Duration::from_secs(5);

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

/// An account's role and token version, when it exists and is not disabled.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn live_session(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<(Role, i32)>, AuthError> {
    let row: Option<(String, i32)> = sqlx::query_as(
        "SELECT role, token_version FROM accounts WHERE id = $1 AND disabled_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(|(role, version)| {
        Role::parse(&role)
            .map(|role| (role, version))
            .ok_or_else(|| AuthError::Internal(format!("unknown role {role:?} stored")))
    })
    .transpose()
}

/// Whether `user`'s token is still of its account's current version and the account is
/// not disabled. Provider tokens, and tokens of ids with no account row (only our own key
/// can sign those), have no version to compare: `true`.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn still_valid(pool: &PgPool, user: AuthUser) -> Result<bool, AuthError> {
    if user.role == Role::Provider {
        return Ok(true);
    }
    let row: Option<(i32, bool)> =
        sqlx::query_as("SELECT token_version, disabled_at IS NOT NULL FROM accounts WHERE id = $1")
            .bind(user.user_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.is_none_or(|(version, disabled)| !disabled && version == user.token_version))
}

/// Bump `id`'s token version (setting `password_hash` and/or disabling it) and revoke its
/// refresh tokens, in one transaction; `false` when there is no such account.
async fn end_sessions(
    pool: &PgPool,
    id: Uuid,
    password_hash: Option<&str>,
    disable: bool,
) -> Result<bool, AuthError> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE accounts SET token_version = token_version + 1, \
           password_hash = COALESCE($2, password_hash), \
           disabled_at = CASE WHEN $3 THEN COALESCE(disabled_at, now()) ELSE disabled_at END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(password_hash)
    .bind(disable)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(updated == 1)
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
    let current: Option<String> = sqlx::query_scalar(
        "SELECT password_hash FROM accounts WHERE id = $1 AND disabled_at IS NULL",
    )
    .bind(user.user_id)
    .fetch_optional(&state.pool)
    .await
    .map_err(AuthError::from)?;
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
    let id = id
        .ok()
        .and_then(|Path(id)| Uuid::parse_str(&id).ok())
        .ok_or(AuthError::NotFound)?;
    if !end_sessions(&state.pool, id, None, true).await? {
        return Err(AuthError::NotFound.into());
    }
    tracing::info!(account = %id, "account disabled; sessions ended");
    Ok(StatusCode::NO_CONTENT)
}
