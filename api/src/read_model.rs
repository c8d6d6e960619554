//! Where the API reads a projection: the schema of its live version
//! (`projection_live_schema(name)`), switched atomically by a rebuild.
//!
//! Every read-model request needs the live schema, so a found one is remembered for
//! [`LIVE_SCHEMA_TTL`] per database: a switch reaches readers within that time, and the
//! version switched from is kept by the rebuild far longer, so no reader fails meanwhile.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// How long a live schema, once found, is used without asking the database again.
pub const LIVE_SCHEMA_TTL: Duration = Duration::from_millis(500);

/// `(database, key)` → when remembered, and the value.
type Entries<V> = HashMap<(String, String), (Instant, V)>;

/// Values remembered per `(database, key)` for a while.
pub(crate) struct TtlCache<V> {
    ttl: Duration,
    entries: LazyLock<Mutex<Entries<V>>>,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache whose entries live `ttl`.
    pub(crate) const fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: LazyLock::new(|| Mutex::new(HashMap::new())),
        }
    }

    fn key(pool: &PgPool, key: &str) -> (String, String) {
        let options = pool.connect_options();
        let db = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        (db, key.to_owned())
    }

    /// The value for `key` on `pool`'s database if it is fresh.
    pub(crate) fn get(&self, pool: &PgPool, key: &str) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&Self::key(pool, key))
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Remember `value` for `key` on `pool`'s database.
    pub(crate) fn put(&self, pool: &PgPool, key: &str, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(Self::key(pool, key), (Instant::now(), value));
        }
    }
}

static LIVE_SCHEMAS: TtlCache<String> = TtlCache::new(LIVE_SCHEMA_TTL);

/// The live schema of projection `name`, if one is live yet. Only plain identifiers are
/// returned, so the name can be put into SQL text.
///
/// # Errors
/// Database failures.
pub async fn live_schema(pool: &PgPool, name: &str) -> Result<Option<String>, sqlx::Error> {
    if let Some(schema) = LIVE_SCHEMAS.get(pool, name) {
        return Ok(Some(schema));
    }
    let schema: Option<String> = sqlx::query_scalar("SELECT projection_live_schema($1)")
        .bind(name)
        .fetch_one(pool)
        .await?;
    let schema = schema.filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if let Some(s) = &schema {
        LIVE_SCHEMAS.put(pool, name, s.clone());
    }
    Ok(schema)
}

/// Whether `err` says a table does not exist (a live version still creating its tables).
pub fn is_missing_table(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.code().as_deref() == Some("42P01"))
}
