//! MDS provider tokens: long-lived opaque bearer tokens issued by an admin, stored hashed,
//! revocable, looked up by hash and cached briefly.
//!
//! A revocation is immediate in the process that served the `DELETE` and reaches other
//! API processes within `provider_token_cache_s`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::AuthError;
use super::tokens::{self, OpaqueToken, PROVIDER_PREFIX, TokenHash};

/// Cached lookups kept at most; past this the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Cached {
    token_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
    fetched: Instant,
}

/// Recently verified provider tokens, by hash (valid ones only).
#[derive(Debug)]
pub struct ProviderCache {
    ttl: Duration,
    entries: Mutex<HashMap<TokenHash, Cached>>,
}

impl ProviderCache {
    /// A cache keeping lookups for `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &TokenHash, now: Instant) -> Option<Uuid> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = entries.get(hash)?;
        let fresh = now.saturating_duration_since(cached.fetched) < self.ttl;
        let unexpired = cached.expires_at.is_none_or(|at| at > Utc::now());
        (fresh && unexpired).then_some(cached.token_id)
    }

    fn put(&self, hash: TokenHash, cached: Cached) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, cached);
    }

    /// The id of `token` when a recent lookup found it valid (no I/O).
    pub fn cached(&self, token: &str) -> Option<Uuid> {
        self.get(&tokens::hash(token), Instant::now())
    }

    /// Drop a revoked token from the cache.
    pub fn forget(&self, token_id: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, cached| cached.token_id != token_id);
    }
}

/// Whether `token` looks like a provider token (rather than a JWT).
pub fn is_provider_token(token: &str) -> bool {
    token.starts_with(PROVIDER_PREFIX)
}

/// The id of the live (unrevoked, unexpired) provider token `token`.
///
/// # Errors
/// [`AuthError::InvalidToken`] when there is none; [`AuthError::Store`] when the database
/// fails.
pub async fn authenticate(
    pool: &PgPool,
    cache: &ProviderCache,
    token: &str,
) -> Result<Uuid, AuthError> {
    let hash = tokens::hash(token);
    let now = Instant::now();
    if let Some(id) = cache.get(&hash, now) {
        return Ok(id);
    }
    let row: Option<(Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT id, expires_at FROM provider_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL \
           AND (expires_at IS NULL OR expires_at > now())",
    )
    .bind(hash.as_slice())
    .fetch_optional(pool)
    .await?;
    let (token_id, expires_at) = row.ok_or(AuthError::InvalidToken)?;
    cache.put(
        hash,
        Cached {
            token_id,
            expires_at,
            fetched: now,
        },
    );
    Ok(token_id)
}

/// A newly issued provider token.
#[derive(Debug)]
pub struct IssuedProviderToken {
    /// The token's id (for revocation).
    pub id: Uuid,
    /// The secret, shown once.
    pub token: OpaqueToken,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Store a new provider token named `name`, created by the admin `created_by`.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn issue(
    pool: &PgPool,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    created_by: Uuid,
) -> Result<IssuedProviderToken, AuthError> {
    let id = Uuid::now_v7();
    let token = OpaqueToken::generate(PROVIDER_PREFIX);
    sqlx::query(
        "INSERT INTO provider_tokens (id, name, token_hash, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(token.hash.as_slice())
    .bind(expires_at)
    .bind(created_by)
    .execute(pool)
    .await?;
    Ok(IssuedProviderToken {
        id,
        token,
        expires_at,
    })
}

/// Revoke provider token `id` (and drop it from this process's cache).
///
/// # Errors
/// [`AuthError::NotFound`] when no live token has this id.
pub async fn revoke(pool: &PgPool, cache: &ProviderCache, id: Uuid) -> Result<(), AuthError> {
    let revoked = sqlx::query(
        "UPDATE provider_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    cache.forget(id);
    if revoked == 0 {
        return Err(AuthError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(token_id: Uuid, fetched: Instant) -> Cached {
        Cached {
            token_id,
            expires_at: None,
            fetched,
        }
    }

    #[test]
    fn a_cached_lookup_is_served_until_its_time_is_up_or_it_is_forgotten() {
        let cache = ProviderCache::new(Duration::from_secs(30));
        let id = Uuid::now_v7();
        let t0 = Instant::now();
        cache.put([1; 32], cached(id, t0));
        assert_eq!(cache.get(&[1; 32], t0 + Duration::from_secs(29)), Some(id));
        assert_eq!(cache.get(&[1; 32], t0 + Duration::from_secs(30)), None);
        cache.forget(id);
        assert_eq!(cache.get(&[1; 32], t0), None);
    }

    #[test]
    fn an_expired_token_is_not_served_from_the_cache() {
        let cache = ProviderCache::new(Duration::from_secs(30));
        let now = Instant::now();
        let entry = Cached {
            expires_at: Some(Utc::now() - chrono::Duration::seconds(1)),
            ..cached(Uuid::now_v7(), now)
        };
        cache.put([2; 32], entry);
        assert_eq!(cache.get(&[2; 32], now), None);
    }
}
