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

/// The outcome of one readiness check, as served by `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// `true` when every dependency answered.
    pub ready: bool,
    /// `"ok"` or the error the database gave.
    pub database: String,
    /// `"ok"` or the error the broker gave.
    pub broker: String,
}

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
                Ok(Ok(_)) => "ok".to_owned(),
                Ok(Err(err)) => err.to_string(),
                Err(_) => "timed out".to_owned(),
            }
        };
        let broker = async {
            let probe = self.broker.clone();
            let timeout = self.timeout;
            match tokio::task::spawn_blocking(move || probe.check_blocking(timeout)).await {
                Ok(Ok(brokers)) if brokers > 0 => "ok".to_owned(),
                Ok(Ok(_)) => "no brokers in metadata".to_owned(),
                Ok(Err(err)) => err.to_string(),
                Err(err) => err.to_string(),
            }
        };
        let (database, broker) = tokio::join!(db, broker);
        ReadinessReport {
            ready: database == "ok" && broker == "ok",
            database,
            broker,
        }
    }
}
