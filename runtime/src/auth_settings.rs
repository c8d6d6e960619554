//! `AuthSettings`: token lifetimes, the JWT secret and login limits.
//!
//! The `auth` section of [`crate::Settings`], overridden by
//! `FLEETLOG_AUTH__JWT_SECRET`, `FLEETLOG_AUTH__ACCESS_TTL_S`, `FLEETLOG_AUTH__REFRESH_TTL_S`,
//! `FLEETLOG_AUTH__SESSION_MAX_S`,
//! `FLEETLOG_AUTH__TOTP_ISSUER`, `FLEETLOG_AUTH__TOTP_KEY`, `FLEETLOG_AUTH__LOGIN_MAX_FAILURES_PER_EMAIL`,
//! `FLEETLOG_AUTH__LOGIN_MAX_FAILURES_PER_IP`, `FLEETLOG_AUTH__LOGIN_FAILURE_WINDOW_S`,
//! `FLEETLOG_AUTH__LOGIN_MAX_TOTP_FAILURES`, `FLEETLOG_AUTH__LOGIN_MAX_DELAY_S`,
//! `FLEETLOG_AUTH__TRUSTED_PROXIES`,
//! `FLEETLOG_AUTH__PROVIDER_TOKEN_CACHE_S` and `FLEETLOG_AUTH__PROVIDER_TOKEN_DEFAULT_DAYS`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Authentication settings. `Debug` and serialisation never show the JWT secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 key for access tokens, at least 32 bytes. Unset: a random key per process
    /// (logged as a warning) — tokens then die with the process and are not accepted by
    /// other API processes. Set it in any deployment with more than one API process.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<String>,
    /// Key TOTP secrets are encrypted with at rest, at least 32 bytes. Unset: accounts with
    /// TOTP cannot be created (and encrypted secrets cannot be read).
    #[serde(skip_serializing)]
    pub totp_key: Option<String>,
    /// Access token lifetime, in seconds (default 900).
    pub access_ttl_s: u64,
    /// Refresh token lifetime, in seconds (default 30 days), renewed on each rotation.
    pub refresh_ttl_s: u64,
    /// Absolute lifetime of a login's refresh family, in seconds (default 90 days): past
    /// it refreshing fails however often the tokens rotated, and the user logs in again.
    pub session_max_s: u64,
    /// Issuer shown by authenticator apps for TOTP accounts.
    pub totp_issuer: String,
    /// Failed logins per email within the window before each further attempt waits a
    /// progressive delay (per process).
    pub login_max_failures_per_email: u32,
    /// Failed logins per client address within the window before 429 (per process).
    pub login_max_failures_per_ip: u32,
    /// The sliding window of the login limits, in seconds (default 900).
    pub login_failure_window_s: u64,
    /// Wrong TOTP codes per account within the window before the progressive delay.
    pub login_max_totp_failures: u32,
    /// The longest progressive delay of an email or account over its limit, in seconds
    /// (the delay doubles from 1 s per further failure up to this; never a lock).
    pub login_max_delay_s: u64,
    /// Addresses or CIDR blocks of reverse proxies (comma separated) whose
    /// `X-Forwarded-For` is believed; empty: the TCP peer is always the client.
    pub trusted_proxies: String,
    /// How long a provider token lookup is cached, in seconds: a revocation takes up to
    /// this long to reach other API processes.
    pub provider_token_cache_s: u64,
    /// Lifetime of a provider token when the request gives none, in days.
    pub provider_token_default_days: u32,
    /// Requests per second one bearer token (or, without one, one client address) may
    /// make; more get `429` with `Retry-After`. 0 turns the limit off.
    pub requests_per_s: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            totp_key: None,
            access_ttl_s: 15 * 60,
            refresh_ttl_s: 30 * 24 * 3600,
            session_max_s: 90 * 24 * 3600,
            totp_issuer: "fleetlog".into(),
            login_max_failures_per_email: 5,
            login_max_failures_per_ip: 20,
            login_failure_window_s: 15 * 60,
            login_max_totp_failures: 5,
            login_max_delay_s: 60,
            trusted_proxies: String::new(),
            provider_token_cache_s: 30,
            provider_token_default_days: 365,
            requests_per_s: 200,
        }
    }
}

impl AuthSettings {
    /// Access token lifetime.
    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_s)
    }

    /// Refresh token lifetime.
    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_s)
    }

    /// Absolute lifetime of a refresh family.
    pub fn session_max(&self) -> Duration {
        Duration::from_secs(self.session_max_s)
    }

    /// The login limits' window.
    pub fn login_failure_window(&self) -> Duration {
        Duration::from_secs(self.login_failure_window_s)
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("totp_key", &self.totp_key.as_ref().map(|_| "<redacted>"))
            .field("access_ttl_s", &self.access_ttl_s)
            .field("refresh_ttl_s", &self.refresh_ttl_s)
            .field("session_max_s", &self.session_max_s)
            .field("totp_issuer", &self.totp_issuer)
            .field(
                "login_max_failures_per_email",
                &self.login_max_failures_per_email,
            )
            .field("login_max_failures_per_ip", &self.login_max_failures_per_ip)
            .field("login_failure_window_s", &self.login_failure_window_s)
            .field("login_max_totp_failures", &self.login_max_totp_failures)
            .field("login_max_delay_s", &self.login_max_delay_s)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("provider_token_cache_s", &self.provider_token_cache_s)
            .field(
                "provider_token_default_days",
                &self.provider_token_default_days,
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_neither_printed_nor_serialised() {
        let settings = AuthSettings {
            jwt_secret: Some("s3cret-s3cret-s3cret-s3cret-s3cret".into()),
            totp_key: Some("t0tp-s3cret-t0tp-s3cret-t0tp-s3cret".into()),
            ..AuthSettings::default()
        };
        assert!(!format!("{settings:?}").contains("s3cret"));
        let json = serde_json::to_string(&settings).expect("serialises");
        assert!(!json.contains("s3cret"), "{json}");
    }
}
