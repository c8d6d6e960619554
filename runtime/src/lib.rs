//! Shared runtime plumbing used by every fleetlog service.
//!
//! Nothing here knows about scooters: it is the ground every service stands on —
//! typed [`settings`] (defaults, then `FLEETLOG_*` and the well-known variables),
//! [`telemetry`] (tracing logs and the Prometheus recorder), [`shutdown`] (one
//! cancellation token per process with a grace period), the [`kafka`] client presets
//! (`acks=all` idempotent producer, manual-offset consumer, admin), the one [`producer`]
//! every service appends through (queue-full retry, delivery wait, flush), the [`db`] pool
//! and migrations, and [`health`] probes behind `/readyz`.
//!
//! In the flow of `docs/architecture.md` it sits under every box: the gateway, the
//! decoder, the deciders, the projections, the API and the registry all start here.

pub mod api_settings;
pub mod auth_settings;
pub mod db;
pub mod detached_drop;
pub mod gateway_settings;
pub mod health;
pub mod kafka;
pub mod kafka_settings;
pub mod producer;
pub mod redact;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

pub use settings::Settings;
pub use shutdown::Shutdown;
