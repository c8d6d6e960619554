//! Typed settings: defaults, then environment overrides.
//!
//! Order (later wins): built-in defaults → `DATABASE_URL`, `KAFKA_BROKERS`,
//! `SCHEMA_REGISTRY_URL` → `FLEETLOG_*` variables, nested with `__`
//! (e.g. `FLEETLOG_KAFKA__LINGER_MS=10`, `FLEETLOG_LOG__JSON=true`).
//! Unknown `FLEETLOG_*` keys are an error, so a typo never goes unnoticed.

use figment::Figment;
use figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

pub use crate::api_settings::ApiSettings;
pub use crate::auth_settings::AuthSettings;
pub use crate::gateway_settings::{AdmissionPolicy, GatewaySettings};
pub use crate::kafka_settings::KafkaSettings;

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
    /// The API's live-stream limits.
    pub api: ApiSettings,
    /// Log output.
    pub log: LogSettings,
    /// The scooter gateway.
    pub gateway: GatewaySettings,
    /// The projection runtime.
    pub projections: ProjectionSettings,
    /// Accounts and tokens of the API.
    pub auth: AuthSettings,
    /// The commands processor's rules and prices.
    pub commands: CommandSettings,
    /// The public GBFS feeds of the API.
    pub gbfs: GbfsSettings,
    /// The MDS 2.0 provider API.
    pub mds: MdsSettings,
    /// Who may write to the schema registry.
    pub registry: RegistrySettings,
    /// The operator console's map.
    pub console: ConsoleSettings,
    /// How long running work may take to finish after a shutdown signal, in milliseconds.
    pub shutdown_grace_ms: u64,
}

/// HTTP listen addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// API, `/healthz`, `/readyz`, `/metrics`.
    pub api_addr: String,
    /// Schema registry REST API.
    pub registry_addr: String,
    /// PostgreSQL connections of the API's own pool (opened as needed), so queries never
    /// wait behind the projections' transactions in `fleetlog up`.
    pub api_db_connections: u32,
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
            api: ApiSettings::default(),
            log: LogSettings::default(),
            gateway: GatewaySettings::default(),
            projections: ProjectionSettings::default(),
            auth: AuthSettings::default(),
            commands: CommandSettings::default(),
            gbfs: GbfsSettings::default(),
            mds: MdsSettings::default(),
            registry: RegistrySettings::default(),
            console: ConsoleSettings::default(),
            shutdown_grace_ms: 10_000,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            api_addr: "0.0.0.0:8080".into(),
            registry_addr: "0.0.0.0:8081".into(),
            api_db_connections: 32,
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

/// The projection runtime: batching, retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectionSettings {
    /// Most records applied in one transaction.
    pub batch_max_records: usize,
    /// Longest a batch waits to fill, in milliseconds.
    pub batch_max_wait_ms: u64,
    /// Attempts at a failing record before it goes to the dead-letter topic.
    pub max_retries: u32,
}

impl Default for ProjectionSettings {
    fn default() -> Self {
        Self {
            batch_max_records: 5000,
            batch_max_wait_ms: 50,
            max_retries: 3,
        }
    }
}

/// The commands processor: decider rules, the unlock saga's deadlines, and ride prices
/// (`FLEETLOG_COMMANDS__*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommandSettings {
    /// Minimum battery to reserve or start a ride, in percent.
    pub min_battery_pct: i32,
    /// How long a reservation holds a vehicle, in seconds.
    pub reservation_ttl_s: u32,
    /// How long a device may take to confirm an unlock, in seconds.
    pub unlock_timeout_s: u32,
    /// How long a device may take to confirm a lock, in seconds.
    pub lock_timeout_s: u32,
    /// Charged once per ride, in minor units of `currency`.
    pub unlock_fee_minor: i64,
    /// Charged per started minute of ride, in minor units of `currency`.
    pub per_minute_minor: i64,
    /// ISO 4217 currency code of the prices.
    pub currency: String,
    /// How often due reservations and saga deadlines are checked, in milliseconds.
    pub tick_interval_ms: u64,
}

impl Default for CommandSettings {
    fn default() -> Self {
        Self {
            min_battery_pct: 15,
            reservation_ttl_s: 600,
            unlock_timeout_s: 30,
            lock_timeout_s: 30,
            unlock_fee_minor: 100,
            per_minute_minor: 25,
            currency: "EUR".into(),
            tick_interval_ms: 500,
        }
    }
}

/// The public GBFS feeds (`/gbfs/…`, `FLEETLOG_GBFS__*`): what `system_information` says,
/// the feeds' `ttl`, the vehicles' range, and the secret behind the rotating public vehicle
/// ids. Prices and the battery a ride needs come from [`CommandSettings`]. `Debug` and
/// serialisation never show the secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GbfsSettings {
    /// `system_id`: globally unique and stable for the life of the system.
    pub system_id: String,
    /// Public name of the system.
    pub name: String,
    /// The one language of the feeds (BCP 47, e.g. `en`, `ko`, `en-US`).
    pub language: String,
    /// IANA time zone of the system (e.g. `Asia/Seoul`).
    pub timezone: String,
    /// Hours of operation in OpenStreetMap `opening_hours` syntax (3.0).
    pub opening_hours: String,
    /// Where feed consumers report problems with the feeds.
    pub feed_contact_email: String,
    /// Public URL of `/gbfs` (e.g. `https://api.example.com/gbfs`; GBFS 3.0 requires
    /// HTTPS) used in the feeds' links. Unset: `http://` + the request's `Host` + `/gbfs`.
    pub base_url: Option<String>,
    /// `ttl` of every feed but vehicle status, in seconds.
    pub ttl_s: u32,
    /// `ttl` of `vehicle_status` / `free_bike_status`, in seconds (at most 300: GBFS data
    /// must never be more than 5 minutes stale).
    pub status_ttl_s: u32,
    /// Range of a vehicle on a full battery, in metres (every model alike);
    /// `current_range_meters` is this times the battery level.
    pub max_range_m: u32,
    /// Top speed of the vehicles, in km/h (`max_permitted_speed`).
    pub max_speed_kmh: u32,
    /// Key of the public vehicle ids, at least 16 bytes. Unset: a random key per process
    /// (logged as a warning), so ids change when the API restarts and differ between API
    /// processes. Set it wherever more than one API process serves GBFS.
    #[serde(skip_serializing)]
    pub id_secret: Option<String>,
}

impl Default for GbfsSettings {
    fn default() -> Self {
        Self {
            system_id: "fleetlog".into(),
            name: "fleetlog".into(),
            language: "en".into(),
            timezone: "Asia/Seoul".into(),
            opening_hours: "24/7".into(),
            feed_contact_email: "gbfs@example.com".into(),
            base_url: None,
            ttl_s: 300,
            status_ttl_s: 15,
            max_range_m: 40_000,
            max_speed_kmh: 25,
            id_secret: None,
        }
    }
}

impl std::fmt::Debug for GbfsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GbfsSettings")
            .field("system_id", &self.system_id)
            .field("name", &self.name)
            .field("language", &self.language)
            .field("timezone", &self.timezone)
            .field("opening_hours", &self.opening_hours)
            .field("feed_contact_email", &self.feed_contact_email)
            .field("base_url", &self.base_url)
            .field("ttl_s", &self.ttl_s)
            .field("status_ttl_s", &self.status_ttl_s)
            .field("max_range_m", &self.max_range_m)
            .field("max_speed_kmh", &self.max_speed_kmh)
            .field("id_secret", &self.id_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The MDS 2.0 provider API (`/mds/…`, `FLEETLOG_MDS__*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MdsSettings {
    /// Our `provider_id` (a lowercase UUID, as registered in MDS's `providers.csv`).
    pub provider_id: String,
    /// How long after its end an hour of `/mds/trips` and `/mds/events/historical` is
    /// answered `202` (not final yet: late device data and projection lag), in seconds.
    pub hour_close_delay_s: u64,
    /// `ttl` of `/mds/vehicles` and `/mds/vehicles/status`, in milliseconds (≤ 300000).
    pub ttl_ms: u32,
    /// Most items on one page of `/mds/vehicles`, `/mds/vehicles/status` and
    /// `/mds/events/recent` (the `links.next` URL gives the next page).
    pub page_size: u32,
}

impl Default for MdsSettings {
    fn default() -> Self {
        Self {
            provider_id: "5f7114d1-4091-46ee-b492-e55875f7de00".into(),
            hour_close_delay_s: 900,
            ttl_ms: 15_000,
            page_size: 1000,
        }
    }
}

/// The schema registry's write access (`FLEETLOG_REGISTRY__*`). Reads are always open;
/// writes need HTTP Basic auth with this user and password, which clients (and fleetlog's
/// own `topics create`) put in `SCHEMA_REGISTRY_URL`'s user info. `Debug` and serialisation
/// never show the password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySettings {
    /// The user name of the admin credential.
    pub admin_user: String,
    /// The password of the admin credential. Unset: writes are off for everyone but the
    /// registry process's own schema registration (it uses a random password).
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            admin_user: "admin".into(),
            admin_password: None,
        }
    }
}

impl std::fmt::Debug for RegistrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrySettings")
            .field("admin_user", &self.admin_user)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The operator console's map (`FLEETLOG_CONSOLE__*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Raster tile URL template of the map's base layer, `http(s)://…/{z}/{x}/{y}.png`
    /// (Leaflet's placeholders, `{s}` allowed); its origin is added to the console's
    /// `img-src`. Unset: an offline grid, and the console fetches nothing from another host.
    pub tile_url: Option<String>,
    /// Attribution shown on the map under the tiles (plain text), e.g.
    /// `© OpenStreetMap contributors`.
    pub tile_attribution: String,
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
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
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
    fn gbfs_settings_come_from_the_environment_and_never_show_the_secret() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FLEETLOG_GBFS__SYSTEM_ID", "acme_seoul");
            jail.set_env("FLEETLOG_GBFS__STATUS_TTL_S", "30");
            jail.set_env(
                "FLEETLOG_GBFS__ID_SECRET",
                "a-very-secret-key-of-32-bytes!!!",
            );
            let s = Settings::load().expect("valid");
            assert_eq!(s.gbfs.system_id, "acme_seoul");
            assert_eq!(s.gbfs.status_ttl_s, 30);
            assert_eq!(s.gbfs.ttl_s, 300);
            assert_eq!(
                s.gbfs.id_secret.as_deref(),
                Some("a-very-secret-key-of-32-bytes!!!")
            );
            let shown = format!("{s:?} {}", serde_json::to_string(&s).expect("json"));
            assert!(!shown.contains("a-very-secret"), "{shown}");
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
