//! A small projection for tests and examples of the runtime: [`CountingProjection`]
//! counts records per key and sums a number from the payload, deduping on a record id.
//!
//! Payload: JSON `{"id": "<unique id>", "n": <integer>}`. The payload `poison` (or
//! anything else that is not such JSON) is a poison record, unless the projection was
//! built [`accepting_poison`](CountingProjection::accepting_poison) — the "fixed" version
//! an operator deploys before releasing parked keys, which counts it with `n = 0`.

use futures::future::BoxFuture;
use serde::Deserialize;

use crate::{Projection, ProjectionError, SourceRecord, execute_in_schema, qualify};

/// The payload that is a poison record.
pub const POISON: &[u8] = b"poison";

/// Counts records per key (`proj_counting_v1.counts`), deduped on the payload's id.
#[derive(Debug, Clone)]
pub struct CountingProjection {
    topics: &'static [&'static str],
    accept_poison: bool,
    name_poison: bool,
}

#[derive(Deserialize)]
struct Payload {
    id: String,
    n: i64,
}

impl CountingProjection {
    /// Count the records of `topic`. The name is leaked once to satisfy
    /// [`Projection::topics`]; build one per process or test, not per record.
    pub fn new(topic: &str) -> Self {
        let topic: &'static str = Box::leak(topic.to_owned().into_boxed_str());
        Self {
            topics: Box::leak(Box::new([topic])),
            accept_poison: false,
            name_poison: true,
        }
    }

    /// Report poison without naming the record, so the runtime has to bisect the batch.
    #[must_use]
    pub fn without_naming_poison(mut self) -> Self {
        self.name_poison = false;
        self
    }

    /// The fixed version: `poison` payloads count as `n = 0`.
    #[must_use]
    pub fn accepting_poison(mut self) -> Self {
        self.accept_poison = true;
        self
    }

    /// The JSON payload of a countable record.
    pub fn payload(id: &str, n: i64) -> Vec<u8> {
        serde_json::json!({ "id": id, "n": n })
            .to_string()
            .into_bytes()
    }

    fn decode(&self, record: &SourceRecord) -> Result<(String, String, i64), ProjectionError> {
        let key = record
            .key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let payload = record.payload.as_deref().unwrap_or_default();
        if payload == POISON && self.accept_poison {
            return Ok((format!("poison:{}", record.id()), key, 0));
        }
        match serde_json::from_slice::<Payload>(payload) {
            Ok(p) => Ok((p.id, key, p.n)),
            Err(err) => Err(ProjectionError::poison(
                record,
                format!("undecodable payload: {err}"),
            )),
        }
    }
}

impl Projection for CountingProjection {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn version(&self) -> u32 {
        1
    }

    fn topics(&self) -> &'static [&'static str] {
        self.topics
    }

    fn migrate<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(execute_in_schema(
            tx,
            include_str!("../sql/counting_migrate.sql"),
            schema,
        ))
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        schema: &'a str,
        batch: &'a [SourceRecord],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        Box::pin(async move {
            let mut ids = Vec::with_capacity(batch.len());
            let mut keys = Vec::with_capacity(batch.len());
            let mut ns = Vec::with_capacity(batch.len());
            for record in batch {
                let (id, key, n) = self.decode(record)?;
                ids.push(id);
                keys.push(key);
                ns.push(n);
            }
            let sql = qualify(include_str!("../sql/counting_apply.sql"), schema)
                .map_err(ProjectionError::transient)?;
            sqlx::query(&sql)
                .bind(&ids)
                .bind(&keys)
                .bind(&ns)
                .execute(tx)
                .await?;
            Ok(())
        })
    }
}
