//! Readiness: is the broker reachable, is the database reachable?

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

use crate::kafka::BrokerProbe;

/// The dependencies `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pool: PgPool,
    broker: Arc<BrokerProbe>,
    timeout: Duration,
}

/// The outcome of one readiness check, as served by `/readyz` (to anyone who can reach the
/// port): each dependency is `"ok"`, `"unavailable"` or `"timed out"`. The errors behind
/// them (which may name hosts, users or databases) go to the log only.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// `true` when every dependency answered.
    pub ready: bool,
    /// `"ok"`, `"unavailable"` or `"timed out"`.
    pub database: &'static str,
    /// `"ok"`, `"unavailable"` or `"timed out"`.
    pub broker: &'static str,
}

/// A dependency answered.
const OK: &str = "ok";
/// A dependency failed (the error is logged, not served).
const UNAVAILABLE: &str = "unavailable";

impl Readiness {
    /// Checks against `pool` and `broker`, each bounded by `timeout`.
    pub fn new(pool: PgPool, broker: BrokerProbe, timeout: Duration) -> Self {
        Self {
            pool,
            broker: Arc::new(broker),
            timeout,
        }
    }

    /// Ask both dependencies, concurrently.
    pub async fn check(&self) -> ReadinessReport {
        let db = async {
            match tokio::time::timeout(
                self.timeout,
                sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool),
            )
            .await
            {
                Ok(Ok(_)) => OK,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "readiness: database unavailable");
                    UNAVAILABLE
                }
                Err(_) => "timed out",
            }
        };
        let broker = async {
            let probe = self.broker.clone();
            let timeout = self.timeout;
            match tokio::task::spawn_blocking(move || probe.check_blocking(timeout)).await {
                Ok(Ok(brokers)) if brokers > 0 => OK,
                Ok(Ok(_)) => {
                    tracing::warn!("readiness: no brokers in metadata");
                    UNAVAILABLE
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "readiness: broker unavailable");
                    UNAVAILABLE
                }
                Err(err) => {
                    tracing::warn!(error = %err, "readiness: broker probe failed");
                    UNAVAILABLE
                }
            }
        };
        let (database, broker) = tokio::join!(db, broker);
        ReadinessReport {
            ready: database == OK && broker == OK,
            database,
            broker,
        }
    }
}
