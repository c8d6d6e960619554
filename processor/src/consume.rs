//! The consume loop of one running build: batches from the fetch thread, filtered to the
//! partitions this process holds, committed with retries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetlog_runtime::detached_drop::DetachedDrop;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::batch::{self, BatchContext, BatchOutcome};
use super::claims::{Claims, Holdings};
use super::consumer::{self, Fetched};
use super::error::RuntimeError;
use super::metrics as names;
use super::offsets::{Advance, StoredOffsets, TopicPartition};
use super::projection::{Projection, SourceRecord};
use super::rebalance::ProcessorConsumer;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The offsets of one partition due here: from (inclusive), to (exclusive).
type Window = (i64, i64);

/// What the consume loop works with, built once on start.
pub(crate) struct Running<'a, P> {
    pub(crate) ctx: BatchContext<'a, P>,
    pub(crate) consumer: Arc<DetachedDrop<ProcessorConsumer>>,
    /// The partitions held, as the rebalance callback claims and revokes them.
    pub(crate) claims: Claims,
    /// In a consumer group: a fenced partition is dropped (its new owner goes on), not
    /// fatal.
    pub(crate) in_group: bool,
    pub(crate) shutdown: &'a CancellationToken,
    pub(crate) end: Option<EndOffsets<'a>>,
}

/// Where a bounded run stops ([`crate::RuntimeConfig::end_offsets`]).
pub(crate) struct EndOffsets<'a> {
    pub(crate) end: &'a HashMap<TopicPartition, i64>,
    pub(crate) partitions: Vec<TopicPartition>,
}

impl EndOffsets<'_> {
    fn bound(&self, topic: &str, partition: i32) -> i64 {
        self.end
            .get(&(topic.to_owned(), partition))
            .copied()
            .unwrap_or(0)
    }

    /// Whether every assigned partition reached its bound.
    fn reached(&self, stored: &StoredOffsets) -> bool {
        self.partitions
            .iter()
            .all(|tp| stored.get(tp).copied().unwrap_or(0) >= self.bound(&tp.0, tp.1))
    }
}

/// How one attempt at a batch ended, short of an error that stops the loop.
enum Attempt {
    Committed,
    /// Shutdown came first.
    Stopped,
}

impl<P: Projection> Running<'_, P> {
    /// Whether a bounded run reached its end offsets.
    pub(crate) fn reached(&self, stored: &StoredOffsets) -> bool {
        self.end.as_ref().is_some_and(|e| e.reached(stored))
    }

    pub(crate) async fn consume(
        &self,
        mut rx: mpsc::Receiver<Fetched>,
        holdings: &mut Holdings,
    ) -> Result<(), RuntimeError> {
        loop {
            holdings.follow(&self.claims.snapshot());
            if self.reached(&holdings.stored) {
                tracing::info!("end offsets reached");
                return Ok(());
            }
            let fetched = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ok(()),
                fetched = rx.recv() => match fetched {
                    Some(fetched) => fetched,
                    None if self.shutdown.is_cancelled() => return Ok(()),
                    None => return Err(RuntimeError::ConsumerStopped),
                },
            };
            holdings.follow(&self.claims.snapshot());
            let attempt = match fetched {
                Fetched::Records(batch) => self.commit_with_retries(batch, holdings).await?,
                Fetched::CaughtUp(positions) => {
                    self.skip_with_retries(&positions, holdings).await?
                }
            };
            if matches!(attempt, Attempt::Stopped) {
                return Ok(());
            }
        }
    }

    /// Keep the records due here: of a held partition, not before its stored offset, and
    /// before the end offset of a bounded run. Records come in runs of one partition, so
    /// the window is looked up once per run, not per record.
    fn due(&self, batch: &mut Vec<SourceRecord>, holdings: &Holdings) {
        let mut last: Option<(String, i32, Option<Window>)> = None;
        batch.retain(|r| {
            let window = match &last {
                Some((topic, partition, window))
                    if *partition == r.partition && *topic == r.topic =>
                {
                    *window
                }
                _ => {
                    let window = holdings.next_due(&r.topic, r.partition).map(|from| {
                        let to = self
                            .end
                            .as_ref()
                            .map_or(i64::MAX, |end| end.bound(&r.topic, r.partition));
                        (from, to)
                    });
                    last = Some((r.topic.clone(), r.partition, window));
                    window
                }
            };
            window.is_some_and(|(from, to)| (from..to).contains(&r.offset))
        });
    }

    /// A batch found partitions claimed by another process: in a group, drop them and go
    /// on with the rest; with a fixed assignment, stop.
    fn fenced(&self, err: RuntimeError, holdings: &mut Holdings) -> Result<(), RuntimeError> {
        let RuntimeError::Fenced { partitions, .. } = &err else {
            return Err(err);
        };
        if !self.in_group {
            return Err(err);
        }
        tracing::warn!(
            ?partitions,
            "partitions claimed by another process; dropped here"
        );
        for (tp, epoch) in partitions {
            self.claims.fenced(tp, *epoch);
        }
        holdings.follow(&self.claims.snapshot());
        Ok(())
    }

    /// Move the stored offsets up to `positions` where the consumer passed records it never
    /// returns (transaction markers, aborted records), so a caught-up projection shows no
    /// lag; retried like a batch.
    async fn skip_with_retries(
        &self,
        positions: &[(TopicPartition, i64)],
        holdings: &mut Holdings,
    ) -> Result<Attempt, RuntimeError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let advances = self.skipped(positions, holdings);
            if advances.is_empty() {
                return Ok(Attempt::Committed);
            }
            match batch::skip(&self.ctx, &advances, holdings).await {
                Ok(()) => {
                    for a in &advances {
                        holdings
                            .stored
                            .insert((a.topic.clone(), a.partition), a.next_offset);
                    }
                    consumer::commit_advisory(&self.consumer, &advances);
                    return Ok(Attempt::Committed);
                }
                Err(err @ RuntimeError::Fenced { .. }) => self.fenced(err, holdings)?,
                Err(err @ (RuntimeError::OffsetConflict { .. } | RuntimeError::Retired { .. })) => {
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "offset skip failed; retrying");
                    if !self.back_off(&mut backoff).await {
                        return Ok(Attempt::Stopped);
                    }
                }
            }
        }
    }

    /// The partitions held whose position is past their stored offset.
    fn skipped(&self, positions: &[(TopicPartition, i64)], holdings: &Holdings) -> Vec<Advance> {
        positions
            .iter()
            .filter(|(tp, _)| holdings.epochs.contains_key(tp))
            .filter_map(|((topic, partition), position)| {
                let bound = self
                    .end
                    .as_ref()
                    .map_or(i64::MAX, |e| e.bound(topic, *partition));
                let next = (*position).min(bound);
                let current = holdings.stored.get(&(topic.clone(), *partition)).copied();
                (next > current.unwrap_or(0)).then(|| Advance {
                    topic: topic.clone(),
                    partition: *partition,
                    next_offset: next,
                    last_timestamp_ms: None,
                })
            })
            .collect()
    }

    /// Process the due records of `batch` until they commit.
    async fn commit_with_retries(
        &self,
        mut batch: Vec<SourceRecord>,
        holdings: &mut Holdings,
    ) -> Result<Attempt, RuntimeError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            self.due(&mut batch, holdings);
            if batch.is_empty() {
                return Ok(Attempt::Committed);
            }
            let started = Instant::now();
            match batch::process(&self.ctx, &batch, holdings).await {
                Ok(outcome) => {
                    self.committed(&outcome, started.elapsed(), holdings);
                    return Ok(Attempt::Committed);
                }
                Err(err @ RuntimeError::Fenced { .. }) => self.fenced(err, holdings)?,
                Err(err @ (RuntimeError::OffsetConflict { .. } | RuntimeError::Retired { .. })) => {
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "batch failed; retrying");
                    if !self.back_off(&mut backoff).await {
                        return Ok(Attempt::Stopped);
                    }
                    // Partitions may have moved meanwhile.
                    holdings.follow(&self.claims.snapshot());
                }
            }
        }
    }

    /// Wait `backoff` (doubled for next time, up to a bound); `false` when shutdown came
    /// first.
    async fn back_off(&self, backoff: &mut Duration) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => return false,
            () = tokio::time::sleep(*backoff) => {}
        }
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        true
    }

    fn committed(&self, outcome: &BatchOutcome, elapsed: Duration, holdings: &mut Holdings) {
        let name = self.ctx.projection.name();
        for a in &outcome.advances {
            holdings
                .stored
                .insert((a.topic.clone(), a.partition), a.next_offset);
        }
        consumer::commit_advisory(&self.consumer, &outcome.advances);
        metrics::counter!(names::RECORDS_APPLIED, "projection" => name)
            .increment(u64::try_from(outcome.applied).unwrap_or(u64::MAX));
        metrics::histogram!(names::BATCH_SECONDS, "projection" => name)
            .record(elapsed.as_secs_f64());
        if outcome.dead_lettered > 0 {
            metrics::counter!(names::DLQ, "projection" => name)
                .increment(u64::try_from(outcome.dead_lettered).unwrap_or(u64::MAX));
        }
        tracing::debug!(
            applied = outcome.applied,
            parked = outcome.parked,
            dead_lettered = outcome.dead_lettered,
            ms = elapsed.as_millis(),
            "batch committed"
        );
    }
}
