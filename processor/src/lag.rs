//! Lag: every few seconds, per partition held, the broker's high watermark against the
//! stored next offset, written to `projection_lag` and exported as metrics.

use fleetlog_runtime::detached_drop::DetachedDrop;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::claims::Claims;
use super::error::RuntimeError;
use super::metrics as names;
use super::rebalance::ProcessorConsumer;
use super::schema::version_i32;

const WATERMARK_TIMEOUT: Duration = Duration::from_secs(5);

/// Refreshes the lag of one running projection.
pub(crate) struct LagReporter {
    pub(crate) pool: PgPool,
    pub(crate) consumer: Arc<DetachedDrop<ProcessorConsumer>>,
    pub(crate) projection: &'static str,
    pub(crate) version: u32,
    /// The partitions held now (they move with rebalances).
    pub(crate) claims: Claims,
    pub(crate) interval: Duration,
}

type LagRow = (String, i32, i64, Option<f64>);

impl LagReporter {
    /// Refresh until `stop` is cancelled; failures are logged and retried next tick.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {
                    if let Err(err) = self.refresh(&stop).await {
                        if stop.is_cancelled() {
                            return;
                        }
                        tracing::warn!(error = %err, projection = self.projection, "lag refresh failed");
                    }
                }
            }
        }
    }

    /// One refresh: watermarks, `projection_lag`, gauges.
    #[tracing::instrument(skip(self), fields(projection = self.projection))]
    pub(crate) async fn refresh(&self, stop: &CancellationToken) -> Result<(), RuntimeError> {
        let watermarks = self.watermarks(stop).await?;
        let rows: Vec<LagRow> = sqlx::query_as(include_str!("../sql/refresh_lag.sql"))
            .bind(self.projection)
            .bind(version_i32(self.version))
            .bind(watermarks.iter().map(|w| w.0.as_str()).collect::<Vec<_>>())
            .bind(watermarks.iter().map(|w| w.1).collect::<Vec<_>>())
            .bind(watermarks.iter().map(|w| w.2).collect::<Vec<_>>())
            .bind(watermarks.iter().map(|w| w.3).collect::<Vec<_>>())
            .fetch_all(&self.pool)
            .await?;
        for (topic, partition, lag_records, lag_seconds) in rows {
            let labels = [
                ("projection", self.projection.to_owned()),
                ("topic", topic),
                ("partition", partition.to_string()),
            ];
            metrics::gauge!(names::LAG_RECORDS, &labels).set(lag_records as f64);
            if let Some(seconds) = lag_seconds {
                metrics::gauge!(names::LAG_SECONDS, &labels).set(seconds.max(0.0));
            }
        }
        let parked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projection_parked WHERE projection = $1 AND version = $2",
        )
        .bind(self.projection)
        .bind(version_i32(self.version))
        .fetch_one(&self.pool)
        .await?;
        metrics::gauge!(names::PARKED_KEYS, "projection" => self.projection).set(parked as f64);
        Ok(())
    }

    /// `(topic, partition, low, high)` per assigned partition, from the broker; given up
    /// between two partitions once `stop` is cancelled (the stopping runtime closes the
    /// consumer once this lets go of it).
    async fn watermarks(
        &self,
        stop: &CancellationToken,
    ) -> Result<Vec<(String, i32, i64, i64)>, RuntimeError> {
        let consumer = Arc::clone(&self.consumer);
        let partitions = self.claims.partitions();
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || {
            partitions
                .into_iter()
                .map(|(topic, p)| {
                    if stop.is_cancelled() {
                        return Err(RuntimeError::ConsumerStopped);
                    }
                    let (low, high) = consumer.fetch_watermarks(&topic, p, WATERMARK_TIMEOUT)?;
                    Ok((topic, p, low, high))
                })
                .collect()
        })
        .await
        .map_err(|_| RuntimeError::ConsumerStopped)?
    }
}
