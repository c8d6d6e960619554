//! The projector's life: prepare the versioned schema, read the stored offsets, assign the
//! partitions there, then consume batch after batch until shutdown (or the end offsets,
//! or a switch that retires the version) — each batch committed
//! with its offsets in one transaction, retried (never skipped) while it fails.

use fleetlog_runtime::detached_drop::DetachedDrop;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fleetlog_runtime::Settings;
use rdkafka::consumer::BaseConsumer;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::batch::{self, BatchContext, BatchOutcome};
use super::config::RuntimeConfig;
use super::consumer::{self, Assigned, BatchLimits, Fetched};
use super::dlq::DlqSender;
use super::error::RuntimeError;
use super::lag::LagReporter;
use super::metrics as names;
use super::offsets::{self, Advance, StoredOffsets, TopicPartition};
use super::projection::{Projection, SourceRecord};
use super::schema;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Run `projection` with the settings' batch limits on all partitions of its topics until
/// `shutdown` is cancelled (it stops between batches).
///
/// # Errors
/// When the schema cannot be prepared, a topic is missing, or the stored offsets move
/// under this process. Database or broker outages are waited out, not returned.
pub async fn run<P: Projection>(
    projection: P,
    settings: &Settings,
    pool: PgPool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let name = projection.name();
    ProjectionRuntime::new(projection, RuntimeConfig::from_settings(settings), pool)
        .run(shutdown)
        .await
        .with_context(|| format!("projection {name}"))
}

/// A projection with its configuration, ready to run; use it instead of [`run`] to set a
/// partition subset or other [`RuntimeConfig`] options.
pub struct ProjectionRuntime<P> {
    projection: P,
    config: RuntimeConfig,
    pool: PgPool,
}

/// What the consume loop works with, built once on start.
struct Running<'a, P> {
    ctx: BatchContext<'a, P>,
    consumer: Arc<DetachedDrop<BaseConsumer>>,
    shutdown: &'a CancellationToken,
    end: Option<EndOffsets<'a>>,
}

/// Where a bounded run stops ([`RuntimeConfig::end_offsets`]).
struct EndOffsets<'a> {
    end: &'a HashMap<TopicPartition, i64>,
    partitions: Vec<TopicPartition>,
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

impl<P: Projection> ProjectionRuntime<P> {
    /// A runtime for `projection` writing through `pool`.
    pub fn new(projection: P, config: RuntimeConfig, pool: PgPool) -> Self {
        Self {
            projection,
            config,
            pool,
        }
    }

    /// Run until `shutdown` is cancelled (or, with [`RuntimeConfig::end_offsets`], until
    /// every partition reached its bound). Start-up waits out database and broker outages
    /// like the batches do. Following the live version ([`RuntimeConfig::version`] is
    /// `None`), a switch to another version makes it restart on that one.
    ///
    /// # Errors
    /// See [`run`].
    #[tracing::instrument(skip_all, fields(projection = self.projection.name(), shape = self.projection.version()))]
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), RuntimeError> {
        names::describe();
        loop {
            match self.run_version(&shutdown).await {
                Err(RuntimeError::Retired { version, .. })
                    if self.config.version.is_none() && !shutdown.is_cancelled() =>
                {
                    tracing::info!(
                        version,
                        "version retired by a switch; following the live one"
                    );
                }
                other => return other,
            }
        }
    }

    /// Run one version until shutdown, its end offsets, or its retirement.
    async fn run_version(&self, shutdown: &CancellationToken) -> Result<(), RuntimeError> {
        let Some(started) = self.start_with_retries(shutdown).await? else {
            return Ok(());
        };
        let Started {
            schema,
            version,
            mut stored,
            assigned,
            dlq,
        } = started;
        let stop = shutdown.child_token();
        let limits = BatchLimits {
            max_records: self.config.batch_max_records,
            max_wait: self.config.batch_max_wait,
        };
        let (rx, fetcher) =
            consumer::spawn_fetcher(Arc::clone(&assigned.consumer), limits, stop.clone());
        let lag = tokio::spawn(
            LagReporter {
                pool: self.pool.clone(),
                consumer: Arc::clone(&assigned.consumer),
                projection: self.projection.name(),
                version,
                partitions: assigned.partitions.clone(),
                interval: self.config.lag_interval,
            }
            .run(stop.clone()),
        );
        let running = Running {
            ctx: BatchContext {
                projection: &self.projection,
                version,
                schema: &schema,
                pool: &self.pool,
                dlq: &dlq,
                dead_letter: !self.config.rebuild,
                bulk: self.config.bulk,
                max_retries: self.config.max_retries,
            },
            consumer: assigned.consumer,
            shutdown,
            end: self.config.end_offsets.as_ref().map(|end| EndOffsets {
                end,
                partitions: assigned.partitions,
            }),
        };
        tracing::info!(%schema, version, bulk = self.config.bulk, "projection running");
        let mut result = running.consume(rx, &mut stored).await;
        if result.is_ok() && self.config.bulk && running.reached(&stored) {
            result = super::bulk::finish(&self.pool, &self.projection, version, &schema).await;
        }
        stop.cancel();
        let _ = fetcher.await;
        // The lag reporter may sit in a blocking watermark request (seconds per partition
        // while the broker is slow); it has nothing to flush, so it is not waited for.
        lag.abort();
        tracing::info!(ok = result.is_ok(), version, "projection stopped");
        result
    }

    /// [`Self::start`], retried with backoff while it fails transiently; `None` when
    /// shutdown came first.
    async fn start_with_retries(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Option<Started>, RuntimeError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.start().await {
                Ok(started) => return Ok(Some(started)),
                Err(err) if err.is_transient() => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "start failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(None),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Prepare the schema, read the stored offsets, assign the partitions there.
    async fn start(&self) -> Result<Started, RuntimeError> {
        let name = self.projection.name();
        if self.config.version.is_none() {
            // Housekeeping of a serving projector: retired builds past their keep time.
            match super::builds::drop_expired(&self.pool, name).await {
                Ok(dropped) if !dropped.is_empty() => {
                    tracing::info!(?dropped, "retired builds dropped after their keep time");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "dropping retired builds failed"),
            }
        }
        let (schema, version) =
            schema::prepare(&self.pool, &self.projection, self.config.version).await?;
        if self.config.bulk {
            super::bulk::begin(&self.pool, &self.projection, &schema).await?;
        }
        let stored = offsets::load(&self.pool, name, version).await?;
        let group = self.config.group_id(name, version);
        let assigned =
            consumer::assign(&self.config, &group, self.projection.topics(), &stored).await?;
        let producer =
            fleetlog_runtime::kafka::producer(&self.config.kafka, &format!("projection-{name}"))?;
        Ok(Started {
            schema,
            version,
            stored,
            assigned,
            dlq: DlqSender::new(producer, name, self.config.dlq_timeout),
        })
    }
}

/// Everything [`ProjectionRuntime::start`] sets up.
struct Started {
    schema: String,
    version: u32,
    stored: StoredOffsets,
    assigned: Assigned,
    dlq: DlqSender,
}

impl<P: Projection> Running<'_, P> {
    /// Whether a bounded run reached its end offsets.
    fn reached(&self, stored: &StoredOffsets) -> bool {
        self.end.as_ref().is_some_and(|e| e.reached(stored))
    }

    async fn consume(
        &self,
        mut rx: mpsc::Receiver<Fetched>,
        stored: &mut StoredOffsets,
    ) -> Result<(), RuntimeError> {
        loop {
            if self.end.as_ref().is_some_and(|e| e.reached(stored)) {
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
            let mut batch = match fetched {
                Fetched::Records(batch) => batch,
                Fetched::CaughtUp(positions) => {
                    if !self.skip_with_retries(&positions, stored).await? {
                        return Ok(());
                    }
                    continue;
                }
            };
            if let Some(end) = &self.end {
                batch.retain(|r| r.offset < end.bound(&r.topic, r.partition));
                if batch.is_empty() {
                    continue;
                }
            }
            if !self.commit_with_retries(&batch, stored).await? {
                return Ok(());
            }
        }
    }

    /// Move the stored offsets up to `positions` where the consumer passed records it never
    /// returns (transaction markers, aborted records), so a caught-up projection shows no
    /// lag; retried like a batch. `Ok(false)` when shutdown came first.
    async fn skip_with_retries(
        &self,
        positions: &[(TopicPartition, i64)],
        stored: &mut StoredOffsets,
    ) -> Result<bool, RuntimeError> {
        let advances: Vec<Advance> = positions
            .iter()
            .filter_map(|((topic, partition), position)| {
                let bound = self
                    .end
                    .as_ref()
                    .map_or(i64::MAX, |e| e.bound(topic, *partition));
                let next = (*position).min(bound);
                let current = stored.get(&(topic.clone(), *partition)).copied();
                (next > current.unwrap_or(0)).then(|| Advance {
                    topic: topic.clone(),
                    partition: *partition,
                    next_offset: next,
                    last_timestamp_ms: None,
                })
            })
            .collect();
        if advances.is_empty() {
            return Ok(true);
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            match batch::skip(&self.ctx, &advances, stored).await {
                Ok(()) => {
                    for a in &advances {
                        stored.insert((a.topic.clone(), a.partition), a.next_offset);
                    }
                    consumer::commit_advisory(&self.consumer, &advances);
                    return Ok(true);
                }
                Err(err @ (RuntimeError::OffsetConflict { .. } | RuntimeError::Retired { .. })) => {
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "offset skip failed; retrying");
                    tokio::select! {
                        () = self.shutdown.cancelled() => return Ok(false),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Process `batch` until it commits; `Ok(false)` when shutdown came first.
    async fn commit_with_retries(
        &self,
        batch: &[SourceRecord],
        stored: &mut StoredOffsets,
    ) -> Result<bool, RuntimeError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            match batch::process(&self.ctx, batch, stored).await {
                Ok(outcome) => {
                    self.committed(&outcome, started.elapsed(), stored);
                    return Ok(true);
                }
                Err(err @ (RuntimeError::OffsetConflict { .. } | RuntimeError::Retired { .. })) => {
                    return Err(err);
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "batch failed; retrying");
                    tokio::select! {
                        () = self.shutdown.cancelled() => return Ok(false),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn committed(&self, outcome: &BatchOutcome, elapsed: Duration, stored: &mut StoredOffsets) {
        let name = self.ctx.projection.name();
        for a in &outcome.advances {
            stored.insert((a.topic.clone(), a.partition), a.next_offset);
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
