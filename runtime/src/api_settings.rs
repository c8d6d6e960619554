//! The API's own settings (`FLEETLOG_API__*`): how many live streams (`GET /v1/stream`)
//! one account and one API process may hold open. Part of [`crate::settings::Settings`],
//! re-exported there.

use serde::{Deserialize, Serialize};

/// The API's live-stream limits. `0` turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Open streams one account (or provider token) may hold on one API process; one more
    /// is answered `429 too_many_streams` (default 5: a phone and a few console tabs).
    pub stream_max_per_user: u32,
    /// Open streams one API process serves in all; one more is answered
    /// `429 too_many_streams` (default 2000).
    pub stream_max_per_process: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            stream_max_per_user: 5,
            stream_max_per_process: 2000,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail API returns its own error type"
)]
mod tests {
    use crate::Settings;

    #[test]
    fn stream_limits_come_from_fleetlog_api_variables() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FLEETLOG_API__STREAM_MAX_PER_USER", "2");
            let s = Settings::load().expect("valid");
            assert_eq!(s.api.stream_max_per_user, 2);
            assert_eq!(s.api.stream_max_per_process, 2000);
            Ok(())
        });
    }
}
