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
use super::{AuthError, Role, accounts};

fn expiry(ttl: Duration) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    Utc::now()
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
    ttl: Duration,
) -> Result<String, AuthError> {
    let token = OpaqueToken::generate(REFRESH_PREFIX);
    sqlx::query(
        "INSERT INTO refresh_tokens (id, account_id, family_id, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(account_id)
    .bind(family)
    .bind(token.hash.as_slice())
    .bind(expiry(ttl))
    .execute(db)
    .await?;
    Ok(token.token)
}

/// id, account, family, expiry, revocation.
type RefreshRow = (Uuid, Uuid, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);

/// The outcome of a rotation.
#[derive(Debug)]
pub struct Rotated {
    /// The account the family belongs to.
    pub account_id: Uuid,
    /// Its current role.
    pub role: Role,
    /// The next refresh token of the family.
    pub refresh_token: String,
}

/// Exchange `token` for the next token of its family.
///
/// # Errors
/// [`AuthError::InvalidToken`] for an unknown token, or a revoked one (whose family is
/// then revoked); [`AuthError::TokenExpired`] past its expiry; [`AuthError::Store`].
pub async fn rotate(pool: &PgPool, token: &str, ttl: Duration) -> Result<Rotated, AuthError> {
    let hash = tokens::hash(token);
    let mut tx = pool.begin().await?;
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT id, account_id, family_id, expires_at, revoked_at FROM refresh_tokens \
         WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(hash.as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, account_id, family, expires_at, revoked_at)) = row else {
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
    sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let Some(role) = accounts::role(&mut *tx, account_id).await? else {
        return Err(AuthError::InvalidToken);
    };
    let refresh_token = issue(&mut *tx, account_id, family, ttl).await?;
    tx.commit().await?;
    Ok(Rotated {
        account_id,
        role,
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
