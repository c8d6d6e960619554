//! `AuthSettings` live with every other setting in `fleetlog_runtime::settings`.

pub use fleetlog_runtime::settings::AuthSettings;
