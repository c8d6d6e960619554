//! One batch, one PostgreSQL transaction: hold back records of parked keys, apply the
//! rest set-wise, isolate poison records when `apply` reports one, send them to the
//! dead-letter topic (acknowledged), park their keys, and move the offsets — then commit.
//!
//! Every `apply` runs inside a savepoint, so a failed attempt leaves nothing behind and
//! the transaction stays usable. Isolation splits the failing records in log order —
//! around the record the projection named, or in halves when it named none — so that
//! records before a poison record are applied, and later records of its key are parked.

use std::collections::{HashSet, VecDeque};

use sqlx::{Connection, PgConnection, PgPool};

use super::claims::{self, Holdings};
use super::dlq::DlqSender;
use super::error::RuntimeError;
use super::offsets::{self, Advance, TopicPartition};
use super::parking::{self, ParkEntry, TopicKey, topic_key};
use super::projection::{Projection, ProjectionError, SourceRecord};

/// What a batch needs besides its records.
pub(crate) struct BatchContext<'a, P> {
    pub(crate) projection: &'a P,
    /// The build version written (its schema is `schema`).
    pub(crate) version: u32,
    pub(crate) schema: &'a str,
    pub(crate) pool: &'a PgPool,
    pub(crate) dlq: &'a DlqSender,
    /// Whether poison records go to the dead-letter topic (not during a rebuild).
    pub(crate) dead_letter: bool,
    /// A bulk load: `apply_bulk` instead of `apply`.
    pub(crate) bulk: bool,
    pub(crate) max_retries: u32,
}

/// What a committed batch did.
#[derive(Debug, Default)]
pub(crate) struct BatchOutcome {
    pub(crate) applied: usize,
    pub(crate) parked: usize,
    pub(crate) dead_lettered: usize,
    pub(crate) advances: Vec<Advance>,
}

/// Records not applied in this batch.
#[derive(Default)]
struct Plan<'b> {
    applied: usize,
    park: Vec<ParkEntry<'b>>,
    poison: Vec<(&'b SourceRecord, String)>,
}

impl<'b> Plan<'b> {
    /// Move the records of parked keys out of `chunk` (into `park`); return the rest.
    fn hold_parked(
        &mut self,
        batch: &'b [SourceRecord],
        chunk: Vec<usize>,
        parked: &HashSet<TopicKey>,
    ) -> Vec<usize> {
        if parked.is_empty() {
            return chunk;
        }
        let (held, ready): (Vec<usize>, Vec<usize>) = chunk
            .into_iter()
            .partition(|&i| topic_key(&batch[i]).is_some_and(|k| parked.contains(&k)));
        self.park.extend(held.into_iter().map(|i| ParkEntry {
            record: &batch[i],
            poison: None,
        }));
        ready
    }

    /// A failed `chunk`: a single record is poison; a longer one is split, and the parts
    /// go first in the queue, in log order.
    fn narrow(
        &mut self,
        queue: &mut VecDeque<Vec<usize>>,
        batch: &'b [SourceRecord],
        chunk: Vec<usize>,
        err: ProjectionError,
        parked: &mut HashSet<TopicKey>,
    ) {
        if let [single] = chunk.as_slice() {
            self.mark_poison(&batch[*single], reason(err), parked);
            return;
        }
        for part in split(batch, &chunk, &err).into_iter().rev() {
            queue.push_front(part);
        }
    }

    fn mark_poison(
        &mut self,
        record: &'b SourceRecord,
        reason: String,
        parked: &mut HashSet<TopicKey>,
    ) {
        tracing::warn!(record = %record.id(), %reason, "poison record isolated");
        self.park.push(ParkEntry {
            record,
            poison: Some(reason.clone()),
        });
        self.poison.push((record, reason));
        if let Some(key) = topic_key(record) {
            parked.insert(key);
        }
    }
}

/// Store `advances` alone, in a transaction of their own: the consumer passed only
/// records it never returns (transaction markers, aborted records) since the last batch.
///
/// # Errors
/// Any error leaves the database as it was.
pub(crate) async fn skip<P: Projection>(
    ctx: &BatchContext<'_, P>,
    advances: &[offsets::Advance],
    holdings: &Holdings,
) -> Result<(), RuntimeError> {
    let (name, version) = (ctx.projection.name(), ctx.version);
    let mut tx = ctx.pool.begin().await?;
    ensure_writable(&mut tx, name, version).await?;
    let partitions = advances.iter().map(|a| (a.topic.clone(), a.partition));
    ensure_held(&mut tx, name, version, partitions, holdings).await?;
    offsets::save(&mut tx, name, version, advances, &holdings.stored).await?;
    tx.commit().await?;
    Ok(())
}

/// Apply `batch` and store its offsets in one transaction.
///
/// # Errors
/// Any error leaves the database as it was: the caller retries the same batch later.
#[tracing::instrument(skip_all, fields(records = batch.len()))]
pub(crate) async fn process<P: Projection>(
    ctx: &BatchContext<'_, P>,
    batch: &[SourceRecord],
    holdings: &Holdings,
) -> Result<BatchOutcome, RuntimeError> {
    let (name, version) = (ctx.projection.name(), ctx.version);
    let mut tx = ctx.pool.begin().await?;
    ensure_writable(&mut tx, name, version).await?;
    let partitions = batch.iter().map(|r| (r.topic.clone(), r.partition));
    ensure_held(&mut tx, name, version, partitions, holdings).await?;
    let mut parked = parking::parked_keys(&mut tx, name, version, batch).await?;
    let mut plan = Plan::default();
    let ready = plan.hold_parked(batch, (0..batch.len()).collect(), &parked);
    if !ready.is_empty() {
        let failed = if ready.len() == batch.len() {
            apply_with_retries(ctx, &mut tx, batch).await?
        } else {
            apply_with_retries(ctx, &mut tx, &cloned(batch, &ready)).await?
        };
        match failed {
            None => plan.applied = ready.len(),
            Some(err) => {
                let failed = (ready, err);
                isolate(ctx, &mut tx, batch, failed, &mut parked, &mut plan).await?;
            }
        }
    }
    parking::store(&mut tx, name, version, &plan.park).await?;
    if !plan.poison.is_empty() && !ctx.dead_letter {
        tracing::warn!(
            records = plan.poison.len(),
            "poison records parked, not dead-lettered (a rebuild has no side effects)"
        );
    } else if !plan.poison.is_empty() {
        let poison: Vec<(&SourceRecord, &str)> =
            plan.poison.iter().map(|(r, e)| (*r, e.as_str())).collect();
        ctx.dlq.send_all(&poison).await?;
    }
    let advances = offsets::advances(batch);
    offsets::save(&mut tx, name, version, &advances, &holdings.stored).await?;
    tx.commit().await?;
    Ok(BatchOutcome {
        applied: plan.applied,
        parked: plan.park.len() - plan.poison.len(),
        dead_lettered: plan.poison.len(),
        advances,
    })
}

/// Lock the version's row for the transaction (a switch waits for the batch, and a
/// verify holding it pauses the batch) and refuse to write a retired or dropped version.
async fn ensure_writable(
    tx: &mut PgConnection,
    name: &str,
    version: u32,
) -> Result<(), RuntimeError> {
    let state: Option<String> = sqlx::query_scalar(
        "SELECT state FROM projection_versions WHERE projection = $1 AND version = $2 FOR SHARE",
    )
    .bind(name)
    .bind(super::schema::version_i32(version))
    .fetch_optional(&mut *tx)
    .await?;
    match state.as_deref() {
        Some("live" | "rebuilding") => Ok(()),
        _ => Err(RuntimeError::Retired {
            projection: name.to_owned(),
            version,
        }),
    }
}

/// Lock the claims of `partitions` for the transaction and check this process still holds
/// them at its epochs (see [`claims::ensure_held`]).
async fn ensure_held(
    tx: &mut PgConnection,
    name: &str,
    version: u32,
    partitions: impl Iterator<Item = TopicPartition>,
    holdings: &Holdings,
) -> Result<(), RuntimeError> {
    let mut list: Vec<TopicPartition> = partitions.collect();
    list.sort();
    list.dedup();
    let epochs: Vec<(&TopicPartition, i64)> = list
        .iter()
        .map(|tp| (tp, holdings.epochs.get(tp).copied().unwrap_or(0)))
        .collect();
    claims::ensure_held(tx, name, version, &epochs).await
}

fn cloned(batch: &[SourceRecord], indices: &[usize]) -> Vec<SourceRecord> {
    indices.iter().map(|&i| batch[i].clone()).collect()
}

/// Up to `max_retries` attempts; the last poison error when every one failed with one.
async fn apply_with_retries<P: Projection>(
    ctx: &BatchContext<'_, P>,
    tx: &mut PgConnection,
    records: &[SourceRecord],
) -> Result<Option<ProjectionError>, RuntimeError> {
    let mut last = None;
    for attempt in 1..=ctx.max_retries {
        match try_apply(ctx, tx, records).await? {
            None => return Ok(None),
            Some(err) => {
                tracing::warn!(attempt, error = %err, "batch hit a poison record");
                last = Some(err);
            }
        }
    }
    Ok(last)
}

/// Apply in a savepoint: `Ok(None)` applied, `Ok(Some(poison))` rolled back.
async fn try_apply<P: Projection>(
    ctx: &BatchContext<'_, P>,
    tx: &mut PgConnection,
    records: &[SourceRecord],
) -> Result<Option<ProjectionError>, RuntimeError> {
    let mut savepoint = tx.begin().await?;
    let applied = if ctx.bulk {
        ctx.projection
            .apply_bulk(&mut savepoint, ctx.schema, records)
            .await
    } else {
        ctx.projection
            .apply(&mut savepoint, ctx.schema, records)
            .await
    };
    match applied {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(None)
        }
        Err(err) if err.is_poison() => {
            savepoint.rollback().await?;
            Ok(Some(err))
        }
        Err(err) => Err(RuntimeError::projection(ctx.projection.name(), err)),
    }
}

/// Find the poison records among `failed` (indices into `batch` in log order, with the
/// error applying them together gave), applying everything else that is not held behind
/// a newly parked key.
async fn isolate<'b, P: Projection>(
    ctx: &BatchContext<'_, P>,
    tx: &mut PgConnection,
    batch: &'b [SourceRecord],
    (chunk, err): (Vec<usize>, ProjectionError),
    parked: &mut HashSet<TopicKey>,
    plan: &mut Plan<'b>,
) -> Result<(), RuntimeError> {
    let mut queue = VecDeque::new();
    plan.narrow(&mut queue, batch, chunk, err, parked);
    while let Some(chunk) = queue.pop_front() {
        let chunk = plan.hold_parked(batch, chunk, parked);
        if chunk.is_empty() {
            continue;
        }
        match try_apply(ctx, tx, &cloned(batch, &chunk)).await? {
            None => plan.applied += chunk.len(),
            Some(err) => plan.narrow(&mut queue, batch, chunk, err, parked),
        }
    }
    Ok(())
}

/// Around the record the error names when it is in `chunk`, otherwise in halves.
fn split(batch: &[SourceRecord], chunk: &[usize], err: &ProjectionError) -> Vec<Vec<usize>> {
    let named = match err {
        ProjectionError::Poison {
            record: Some(id), ..
        } => chunk.iter().position(|&i| {
            let r = &batch[i];
            r.offset == id.offset && r.partition == id.partition && r.topic == id.topic
        }),
        _ => None,
    };
    let parts = match named {
        Some(pos) => vec![&chunk[..pos], &chunk[pos..=pos], &chunk[pos + 1..]],
        None => {
            let (left, right) = chunk.split_at(chunk.len() / 2);
            vec![left, right]
        }
    };
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(<[usize]>::to_vec)
        .collect()
}

fn reason(err: ProjectionError) -> String {
    match err {
        ProjectionError::Poison { reason, .. } => reason,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::RecordId;

    fn batch(n: i64) -> Vec<SourceRecord> {
        (0..n)
            .map(|offset| SourceRecord {
                topic: "t".into(),
                partition: 0,
                offset,
                key: None,
                payload: None,
                headers: vec![],
                timestamp_ms: None,
            })
            .collect()
    }

    #[test]
    fn a_named_poison_record_is_split_out_with_its_neighbours_in_order() {
        let b = batch(5);
        let err = ProjectionError::Poison {
            record: Some(RecordId {
                topic: "t".into(),
                partition: 0,
                offset: 2,
            }),
            reason: "bad".into(),
        };
        assert_eq!(
            split(&b, &[0, 1, 2, 3, 4], &err),
            vec![vec![0, 1], vec![2], vec![3, 4]]
        );
        assert_eq!(split(&b, &[2, 3], &err), vec![vec![2], vec![3]]);
    }

    #[test]
    fn an_unnamed_poison_record_is_searched_by_halves() {
        let b = batch(5);
        let err = ProjectionError::poison_somewhere("bad");
        assert_eq!(
            split(&b, &[0, 1, 2, 3, 4], &err),
            vec![vec![0, 1], vec![2, 3, 4]]
        );
    }
}
