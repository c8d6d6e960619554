//! The projector's life: prepare the versioned schema, join the build's consumer group (or
//! claim a fixed set of partitions), then consume batch after batch until shutdown (or the
//! end offsets, or a switch that retires the version) — each batch committed with its
//! offsets in one transaction, retried (never skipped) while it fails.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use fleetlog_runtime::Settings;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::batch::BatchContext;
use super::claims::{Claims, Holdings};
use super::config::RuntimeConfig;
use super::consume::{EndOffsets, Running};
use super::consumer::{self, Assigned, BatchLimits};
use super::dlq::DlqSender;
use super::error::RuntimeError;
use super::lag::LagReporter;
use super::metrics as names;
use super::projection::Projection;
use super::rebalance::{ClaimingContext, ProcessorConsumer};
use super::schema;
use fleetlog_runtime::detached_drop::DetachedDrop;

const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest a stopping projector waits for its consumer to close (and leave its group).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a stopping projector waits for its lag reporter's request in flight.
const LAG_STOP: Duration = Duration::from_secs(2);

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
        let stop = shutdown.child_token();
        let Some(started) = self.start_with_retries(&stop).await? else {
            return Ok(());
        };
        let Started {
            schema,
            version,
            assigned,
            dlq,
        } = started;
        let mut holdings = Holdings::default();
        let limits = BatchLimits {
            max_records: self.config.batch_max_records,
            max_wait: self.config.batch_max_wait,
        };
        let (rx, fetcher) =
            consumer::spawn_fetcher(Arc::clone(&assigned.consumer), limits, stop.clone());
        let mut lag = tokio::spawn(
            LagReporter {
                pool: self.pool.clone(),
                consumer: Arc::clone(&assigned.consumer),
                projection: self.projection.name(),
                version,
                claims: assigned.claims.clone(),
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
            claims: assigned.claims,
            in_group: assigned.fixed.is_none(),
            shutdown,
            end: self.config.end_offsets.as_ref().map(|end| EndOffsets {
                end,
                partitions: assigned.fixed.unwrap_or_default(),
            }),
        };
        tracing::info!(%schema, version, bulk = self.config.bulk, "projection running");
        let mut result = running.consume(rx, &mut holdings).await;
        if result.is_ok() && self.config.bulk && running.reached(&holdings.stored) {
            result = super::bulk::finish(&self.pool, &self.projection, version, &schema).await;
        }
        stop.cancel();
        let _ = fetcher.await;
        // The lag reporter lets go of the consumer between two watermark requests; one
        // may take seconds while the broker is slow, so it is waited for only briefly.
        if tokio::time::timeout(LAG_STOP, &mut lag).await.is_err() {
            lag.abort();
        }
        close(running.consumer).await;
        tracing::info!(ok = result.is_ok(), version, "projection stopped");
        result
    }

    /// [`Self::start`], retried with backoff while it fails transiently; `None` when
    /// shutdown came first.
    async fn start_with_retries(
        &self,
        stop: &CancellationToken,
    ) -> Result<Option<Started>, RuntimeError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.start(stop).await {
                Ok(started) => return Ok(Some(started)),
                Err(err) if err.is_transient() => {
                    tracing::warn!(error = %err, retry_in = ?backoff, "start failed; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return Ok(None),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Prepare the schema, then join the consumer group (or claim the fixed partitions).
    async fn start(&self, stop: &CancellationToken) -> Result<Started, RuntimeError> {
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
        let context = ClaimingContext {
            runtime: tokio::runtime::Handle::current(),
            pool: self.pool.clone(),
            projection: name,
            version,
            owner: self.config.owner.clone(),
            claims: Claims::default(),
            stop: stop.clone(),
        };
        let group =
            RuntimeConfig::group_id(&schema::deployment_id(&self.pool).await?, name, version);
        let assigned =
            consumer::start(&self.config, &group, self.projection.topics(), context).await?;
        let producer =
            fleetlog_runtime::kafka::producer(&self.config.kafka, &format!("projection-{name}"))?;
        Ok(Started {
            schema,
            version,
            assigned,
            dlq: DlqSender::new(producer, name, self.config.dlq_timeout),
        })
    }
}

/// Everything [`ProjectionRuntime::start`] sets up.
struct Started {
    schema: String,
    version: u32,
    assigned: Assigned,
    dlq: DlqSender,
}

/// Close the consumer before returning, so that a member of a consumer group leaves it at
/// once and its partitions go to the others without waiting for the session timeout.
/// Bounded: past [`CLOSE_TIMEOUT`], or while a blocking lag request still shares the
/// consumer, it closes detached.
async fn close(consumer: Arc<DetachedDrop<ProcessorConsumer>>) {
    match Arc::try_unwrap(consumer) {
        Ok(consumer) => {
            if !consumer.drop_within(CLOSE_TIMEOUT).await {
                tracing::warn!(timeout = ?CLOSE_TIMEOUT, "the consumer did not close in time; closing detached");
            }
        }
        Err(_) => tracing::debug!("the consumer is still shared; closing detached"),
    }
}
