//! Where the API reads a projection: the schema of its live version
//! (`projection_live_schema(name)`), switched atomically by a rebuild, and how old the
//! data read there may be ([`age`]: the one meaning of `X-Fleetlog-Data-Age-Ms`, and
//! [`Aged`], the answer that sends it).
//!
//! [`ReadModels`] is part of the API state (one per state, no process-global cache).
//! Every read-model request needs the live schema, so a found one is remembered for
//! [`LIVE_SCHEMA_TTL`]: a switch reaches readers within that time, and the version switched
//! from is kept by the rebuild far longer, so no reader fails meanwhile. Projections are
//! named by [`Projection`], built from the projections crate's own names.

pub mod age;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;

pub use age::{Aged, DATA_AGE, DataAge};

/// How long a live schema, once found, is used without asking the database again.
pub const LIVE_SCHEMA_TTL: Duration = Duration::from_millis(500);
/// How long a projection's data age is reused: a header, not worth a query per request.
/// It is remembered as a time, so the age sent still grows meanwhile.
pub const DATA_AGE_TTL: Duration = Duration::from_millis(250);

/// A projection the API reads, by the name its runtime registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Projection(&'static str);

/// The fleet read model (vehicles, devices, zones, telemetry history).
pub const FLEET: Projection = Projection(fleetlog_projections::fleet::NAME);
/// The rides read model (rides, trips).
pub const RIDES: Projection = Projection(fleetlog_projections::rides::NAME);
/// The lineage read model (the causal chain of frames, commands and events).
pub const LINEAGE: Projection = Projection(fleetlog_projections::lineage::NAME);

impl Projection {
    /// The name, as in `projection_versions.projection`.
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// Values remembered per projection for a while.
struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<Projection, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: Projection) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: Projection, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, (Instant::now(), value));
        }
    }
}

/// The read models of one database: their pool, live schemas and data ages.
pub struct ReadModels {
    pool: PgPool,
    schemas: TtlCache<String>,
    data_ages: TtlCache<DataAge>,
}

impl std::fmt::Debug for ReadModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModels").finish_non_exhaustive()
    }
}

impl ReadModels {
    /// The read models in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            schemas: TtlCache::new(LIVE_SCHEMA_TTL),
            data_ages: TtlCache::new(DATA_AGE_TTL),
        }
    }

    /// The pool the read models are queried through.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The live schema of `projection`, if one is live yet. Only plain identifiers are
    /// returned, so the name can be put into SQL text.
    ///
    /// # Errors
    /// Database failures.
    pub async fn live_schema(&self, projection: Projection) -> Result<Option<String>, sqlx::Error> {
        if let Some(schema) = self.schemas.get(projection) {
            return Ok(Some(schema));
        }
        let schema: Option<String> = sqlx::query_scalar("SELECT projection_live_schema($1)")
            .bind(projection.name())
            .fetch_one(&self.pool)
            .await?;
        let schema = schema.filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
        if let Some(s) = &schema {
            self.schemas.put(projection, s.clone());
        }
        Ok(schema)
    }
}

/// Whether `err` says a table does not exist (a live version still creating its tables).
pub fn is_missing_table(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.code().as_deref() == Some("42P01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_reads_projections_by_the_names_their_runtimes_register() {
        assert!(fleetlog_projections::NAMES.contains(&FLEET.name()));
        assert!(fleetlog_projections::NAMES.contains(&RIDES.name()));
        assert!(fleetlog_projections::NAMES.contains(&LINEAGE.name()));
        assert_ne!(FLEET, RIDES);
    }
}
