//! Sessions in the database: whether an account's session is still live (its role and
//! token version, not disabled), and ending every session of an account — bumping its
//! token version and revoking every refresh family, so other devices' sessions end at their
//! next refresh (at most one access token lifetime later) and live streams end within
//! [`STREAM_CHECK`]. A password change and an account disable do that
//! ([`super::session_routes`]).

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::extract::AuthUser;
use super::{AuthError, Role};

/// How often a live stream re-checks its account's token version.
pub const STREAM_CHECK: Duration = Duration::from_secs(5);

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

/// The password hash of `id`, when it exists and is not disabled.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn password_hash(pool: &PgPool, id: Uuid) -> Result<Option<String>, AuthError> {
    Ok(sqlx::query_scalar(
        "SELECT password_hash FROM accounts WHERE id = $1 AND disabled_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Bump `id`'s token version (setting `password_hash` and/or disabling it) and revoke its
/// refresh tokens, in one transaction; `false` when there is no such account.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn end_sessions(
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
