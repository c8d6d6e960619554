//! Refresh tokens: opaque, stored as SHA-256, grouped in families (one per login).
//!
//! Each refresh revokes the presented token and issues the next one of the family.
//! Presenting a revoked token means it leaked or a client raced itself: the whole family
//! is revoked, so whoever holds the newer token must log in again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::tokens::{self, OpaqueToken, REFRESH_PREFIX};
use super::{AuthError, Role, sessions};

fn expiry(ttl: Duration) -> DateTime<Utc> {
    expiry_from(Utc::now(), ttl)
}

fn expiry_from(start: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    start
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Store a new refresh token of `family` for `account_id`, valid for `ttl`.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn issue(
    db: impl PgExecutor<'_>,
    account_id: Uuid,
    family: Uuid,
    family_started_at: DateTime<Utc>,
    ttl: Duration,
) -> Result<String, AuthError> {
    let token = OpaqueToken::generate(REFRESH_PREFIX);
    sqlx::query(
        "INSERT INTO refresh_tokens \
           (id, account_id, family_id, token_hash, expires_at, family_started_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(account_id)
    .bind(family)
    .bind(token.hash.as_slice())
    .bind(expiry(ttl))
    .bind(family_started_at)
    .execute(db)
    .await?;
    Ok(token.token)
}

/// id, account, family, expiry, revocation, family start.
type RefreshRow = (
    Uuid,
    Uuid,
    Uuid,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

/// The outcome of a rotation.
#[derive(Debug)]
pub struct Rotated {
    /// The account the family belongs to.
    pub account_id: Uuid,
    /// Its current role.
    pub role: Role,
    /// Its current token version.
    pub token_version: i32,
    /// The next refresh token of the family.
    pub refresh_token: String,
}

/// Exchange `token` for the next token of its family, unless the family is older than
/// `session_max` or its account is disabled.
///
/// # Errors
/// [`AuthError::InvalidToken`] for an unknown token, or a revoked one (whose family is
/// then revoked), or a disabled account; [`AuthError::TokenExpired`] past its expiry or
/// the session's absolute lifetime; [`AuthError::Store`].
pub async fn rotate(
    pool: &PgPool,
    token: &str,
    ttl: Duration,
    session_max: Duration,
) -> Result<Rotated, AuthError> {
    let hash = tokens::hash(token);
    let mut tx = pool.begin().await?;
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT id, account_id, family_id, expires_at, revoked_at, family_started_at \
         FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(hash.as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, account_id, family, expires_at, revoked_at, started)) = row else {
        return Err(AuthError::InvalidToken);
    };
    if revoked_at.is_some() {
        let revoked = revoke_family_by_id(&mut *tx, family).await?;
        tx.commit().await?;
        tracing::warn!(%account_id, %family, revoked, "revoked refresh token presented; family revoked");
        return Err(AuthError::InvalidToken);
    }
    if expires_at <= Utc::now() {
        return Err(AuthError::TokenExpired);
    }
    if expiry_from(started, session_max) <= Utc::now() {
        revoke_family_by_id(&mut *tx, family).await?;
        tx.commit().await?;
        tracing::info!(%account_id, %family, "session past its absolute lifetime");
        return Err(AuthError::TokenExpired);
    }
    sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let Some((role, token_version)) = sessions::live_session(&mut *tx, account_id).await? else {
        revoke_family_by_id(&mut *tx, family).await?;
        tx.commit().await?;
        return Err(AuthError::InvalidToken);
    };
    let refresh_token = issue(&mut *tx, account_id, family, started, ttl).await?;
    tx.commit().await?;
    Ok(Rotated {
        account_id,
        role,
        token_version,
        refresh_token,
    })
}

/// Revoke the family of `token` (logout). Unknown tokens are ignored.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn revoke(pool: &PgPool, token: &str) -> Result<(), AuthError> {
    let hash = tokens::hash(token);
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() \
         WHERE revoked_at IS NULL \
           AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(hash.as_slice())
    .execute(pool)
    .await?;
    Ok(())
}

async fn revoke_family_by_id(db: impl PgExecutor<'_>, family: Uuid) -> Result<u64, AuthError> {
    Ok(sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(db)
    .await?
    .rows_affected())
}
