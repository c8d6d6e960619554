//! Typed settings: defaults, then environment overrides.
//!
//! Order (later wins): built-in defaults → `DATABASE_URL`, `KAFKA_BROKERS`,
//! `SCHEMA_REGISTRY_URL` → `FLEETLOG_*` variables, nested with `__`
//! (e.g. `FLEETLOG_KAFKA__LINGER_MS=10`, `FLEETLOG_LOG__JSON=true`).
//! Unknown `FLEETLOG_*` keys are an error, so a typo never goes unnoticed.

use figment::Figment;
use figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

/// Every setting of every fleetlog service. Passed down explicitly, never global.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// PostgreSQL connection string (`DATABASE_URL`).
    pub database_url: String,
    /// Base URL of the Confluent-compatible schema registry (`SCHEMA_REGISTRY_URL`).
    pub schema_registry_url: String,
    /// Broker connection and client presets.
    pub kafka: KafkaSettings,
    /// HTTP listeners.
    pub http: HttpSettings,
    /// Log output.
    pub log: LogSettings,
    /// How long running work may take to finish after a shutdown signal, in milliseconds.
    pub shutdown_grace_ms: u64,
}

/// Broker connection and the client presets built from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma separated (`KAFKA_BROKERS`).
    pub brokers: String,
    /// `client.id` prefix of every client this process opens.
    pub client_id: String,
    /// Producer batching delay (`linger.ms`).
    pub linger_ms: u32,
    /// How long a produce may wait for the broker before it fails (`message.timeout.ms`).
    pub message_timeout_ms: u32,
    /// Partitions of every topic created by `fleetlog topics create`.
    pub partitions: i32,
    /// Partitions of the dead-letter topics.
    pub dlq_partitions: i32,
    /// Replication factor of created topics (1 for the single local broker).
    pub replication_factor: i32,
}

/// HTTP listen addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// API, `/healthz`, `/readyz`, `/metrics`.
    pub api_addr: String,
    /// Schema registry REST API.
    pub registry_addr: String,
}

/// Log output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
    /// `tracing` filter directive used when `RUST_LOG` is not set.
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/fleetlog".into(),
            schema_registry_url: "http://127.0.0.1:8081".into(),
            kafka: KafkaSettings::default(),
            http: HttpSettings::default(),
            log: LogSettings::default(),
            shutdown_grace_ms: 10_000,
        }
    }
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            client_id: "fleetlog".into(),
            linger_ms: 5,
            message_timeout_ms: 300_000,
            partitions: 4,
            dlq_partitions: 1,
            replication_factor: 1,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            api_addr: "0.0.0.0:8080".into(),
            registry_addr: "0.0.0.0:8081".into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            json: false,
            filter: "info,sqlx=warn,rdkafka=warn".into(),
        }
    }
}

/// Settings could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(#[from] Box<figment::Error>);

impl Settings {
    /// Defaults overridden by the process environment.
    ///
    /// # Errors
    /// When a variable has the wrong type or an unknown `FLEETLOG_*` key is set.
    pub fn load() -> Result<Self, SettingsError> {
        Self::figment()
            .extract()
            .map_err(|e| SettingsError(Box::new(e)))
    }

    /// The layered configuration source, exposed for tests and `--print-settings`.
    pub fn figment() -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(
                Env::raw()
                    .only(&["SCHEMA_REGISTRY_URL"])
                    .map(|_| "schema_registry_url".into()),
            )
            .merge(
                Env::raw()
                    .only(&["KAFKA_BROKERS"])
                    .map(|_| "kafka.brokers".into()),
            )
            .merge(Env::prefixed("FLEETLOG_").split("__"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_variables_and_prefixed_ones_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://db/x");
            jail.set_env("KAFKA_BROKERS", "k1:9092,k2:9092");
            jail.set_env("FLEETLOG_KAFKA__LINGER_MS", "42");
            jail.set_env("FLEETLOG_LOG__JSON", "true");
            let s = Settings::load().expect("valid");
            assert_eq!(s.database_url, "postgres://db/x");
            assert_eq!(s.kafka.brokers, "k1:9092,k2:9092");
            assert_eq!(s.kafka.linger_ms, 42);
            assert!(s.log.json);
            assert_eq!(s.http.api_addr, "0.0.0.0:8080");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_prefixed_variable_is_an_error_that_names_it() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FLEETLOG_KAFKA__LINGERMS", "42");
            let err = Settings::load().expect_err("typo must fail");
            assert!(err.to_string().contains("lingerms"), "{err}");
            Ok(())
        });
    }
}
