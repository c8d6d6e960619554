//! `Auth`: what the auth handlers and extractors share — settings, JWT keys, the login
//! limiter, the provider token cache and the bounded password hashing pool.

use tokio::sync::{OnceCell, Semaphore};
use uuid::Uuid;

use super::client_addr::TrustedProxies;
use super::jwt::{Claims, JwtKeys, now_unix};
use super::provider::{self, ProviderCache};
use super::rate_limit::{LoginLimiter, LoginLimits};
use super::request_limit::{Caller, RequestLimiter};
use super::tokens::random_bytes;
use super::totp_key::TotpKey;
use super::{AuthError, AuthSettings, Role, password};

/// Password hashes computed at once; each takes ~19 MiB and a core for tens of ms.
const CONCURRENT_HASHES: usize = 4;

/// Shared authentication state (one per process, behind an `Arc` in `ApiState`).
#[derive(Debug)]
pub struct Auth {
    settings: AuthSettings,
    keys: JwtKeys,
    limiter: LoginLimiter,
    providers: ProviderCache,
    requests: RequestLimiter<Caller>,
    totp_key: Option<TotpKey>,
    proxies: TrustedProxies,
    hashing: Semaphore,
    dummy_hash: OnceCell<String>,
}

impl Auth {
    /// Build from settings. Without a configured secret a random one is generated for
    /// this process, with a warning.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the configured secret is too short.
    pub fn new(settings: AuthSettings) -> Result<Self, AuthError> {
        let keys = match &settings.jwt_secret {
            Some(secret) => JwtKeys::from_secret(secret.as_bytes())?,
            None => {
                tracing::warn!(
                    "FLEETLOG_AUTH__JWT_SECRET is not set: access tokens are signed with a \
                     random key for this process only (they stop working on restart and in \
                     other API processes)"
                );
                JwtKeys::from_secret(&random_bytes::<32>())?
            }
        };
        let totp_key = settings
            .totp_key
            .as_ref()
            .map(|key| TotpKey::from_secret(key.as_bytes()))
            .transpose()?;
        let proxies = TrustedProxies::parse(&settings.trusted_proxies)?;
        Ok(Self {
            proxies,
            totp_key,
            limiter: LoginLimiter::new(LoginLimits {
                per_email: settings.login_max_failures_per_email,
                per_ip: settings.login_max_failures_per_ip,
                totp_per_account: settings.login_max_totp_failures,
                window: settings.login_failure_window(),
                max_delay: std::time::Duration::from_secs(settings.login_max_delay_s),
            }),
            providers: ProviderCache::new(std::time::Duration::from_secs(
                settings.provider_token_cache_s,
            )),
            requests: RequestLimiter::new(settings.requests_per_s),
            keys,
            settings,
            hashing: Semaphore::new(CONCURRENT_HASHES),
            dummy_hash: OnceCell::new(),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The JWT keys.
    pub fn keys(&self) -> &JwtKeys {
        &self.keys
    }

    /// The key of TOTP secrets at rest, when configured.
    pub fn totp_key(&self) -> Option<&TotpKey> {
        self.totp_key.as_ref()
    }

    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub fn proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// The login failure limits.
    pub fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    /// The provider token cache.
    pub fn providers(&self) -> &ProviderCache {
        &self.providers
    }

    /// Count a request of `caller` (see [`super::request_limit`]).
    ///
    /// # Errors
    /// How long to wait when `caller` is over `requests_per_s`.
    pub fn request_allowed(&self, caller: Caller) -> Result<(), std::time::Duration> {
        if self.settings.requests_per_s == 0 {
            return Ok(());
        }
        self.requests.check(caller, std::time::Instant::now())
    }

    /// The identity `token` names when it verifies without I/O: an access token with a
    /// valid signature and lifetime, or a provider token recently looked up. `None`
    /// otherwise (the handler's extractor then does the full check).
    pub fn verified_identity(&self, token: &str) -> Option<Uuid> {
        if provider::is_provider_token(token) {
            return self.providers.cached(token);
        }
        self.keys.decode(token).ok().map(|claims| claims.sub)
    }

    /// A signed access token for `sub` as `role` at token version 0 (an account that never
    /// changed its password), valid for the configured lifetime.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when signing fails.
    pub fn access_token(&self, sub: Uuid, role: Role) -> Result<String, AuthError> {
        self.access_token_at(sub, role, 0)
    }

    /// A signed access token for `sub` as `role` at token `version`, valid for the
    /// configured lifetime.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when signing fails.
    pub fn access_token_at(
        &self,
        sub: Uuid,
        role: Role,
        version: i32,
    ) -> Result<String, AuthError> {
        self.keys.encode(&Claims {
            ver: version,
            ..Claims::new(sub, role, now_unix(), self.settings.access_ttl())
        })
    }

    /// Hash a new password on the blocking pool.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when hashing fails.
    pub async fn hash_password(&self, password: String) -> Result<String, AuthError> {
        self.blocking(move || password::hash(&password)).await?
    }

    /// Verify `password` against `phc`, or against a dummy hash when there is no account,
    /// so that both cases take about as long.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the blocking pool fails.
    pub async fn verify_password(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, AuthError> {
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => (self.dummy_hash().await?.to_owned(), false),
        };
        let matched = self
            .blocking(move || password::verify(&password, &phc))
            .await?;
        Ok(real && matched)
    }

    async fn dummy_hash(&self) -> Result<&str, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let random = format!("{:x}", u128::from_le_bytes(random_bytes::<16>()));
                self.blocking(move || password::hash(&random)).await?
            })
            .await
            .map(String::as_str)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|err| AuthError::Internal(err.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|err| AuthError::Internal(format!("password hashing task: {err}")))
    }
}
