//! `ApiState`: what every `/v1` handler shares.

use crate::read_model::ReadModels;
use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::{Auth, AuthError, AuthSettings};
use crate::commands::CommandLog;
use crate::console::ConsoleConfig;
use crate::gbfs::GbfsConfig;
use crate::mds::MdsConfig;
use crate::ops::OpsState;
use crate::stream::StreamHub;
use fleetlog_runtime::settings::ApiSettings;
use tokio_util::sync::CancellationToken;

/// The API's shared state: the database, authentication, and the operational endpoints'
/// dependencies. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// The PostgreSQL pool (accounts, tokens, read models).
    pub pool: PgPool,
    /// The read models over `pool`: live schemas and lag, remembered per state.
    pub read_models: Arc<ReadModels>,
    /// Keys, limits and caches of authentication.
    pub auth: Arc<Auth>,
    /// What `/healthz`, `/readyz` and `/metrics` need.
    pub ops: OpsState,
    /// Where accepted commands are appended.
    pub commands: CommandLog,
    /// What the public GBFS feeds say about the system (defaults until [`Self::with_gbfs`]).
    pub gbfs: Arc<GbfsConfig>,
    /// What the MDS provider API says about us (defaults until [`Self::with_mds`]).
    pub mds: Arc<MdsConfig>,
    /// The console's map tiles and policy (the offline grid until [`Self::with_console`]).
    pub console: Arc<ConsoleConfig>,
    /// The live streams: their caps and the shared reader (default caps, and no shutdown
    /// token but the state's own drop, until [`Self::with_streams`]).
    pub streams: Arc<StreamHub>,
}

impl ApiState {
    /// State over `pool` with `auth` settings, appending commands through `commands`.
    ///
    /// # Errors
    /// When the auth settings are unusable (e.g. a JWT secret shorter than 32 bytes).
    pub fn new(
        pool: PgPool,
        ops: OpsState,
        auth: AuthSettings,
        commands: CommandLog,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            read_models: Arc::new(ReadModels::new(pool.clone())),
            pool,
            auth: Arc::new(Auth::new(auth)?),
            ops,
            gbfs: Arc::new(GbfsConfig::default()),
            mds: Arc::new(MdsConfig::default()),
            console: Arc::new(ConsoleConfig::default()),
            streams: Arc::new(StreamHub::new(
                commands.clone(),
                &ApiSettings::default(),
                &CancellationToken::new(),
            )),
            commands,
        })
    }

    /// The same state serving GBFS with `gbfs` (built from the `gbfs` and `commands`
    /// settings by [`GbfsConfig::new`]).
    #[must_use]
    pub fn with_gbfs(mut self, gbfs: GbfsConfig) -> Self {
        self.gbfs = Arc::new(gbfs);
        self
    }

    /// The same state serving MDS with `mds` (built by [`MdsConfig::new`]).
    #[must_use]
    pub fn with_mds(mut self, mds: MdsConfig) -> Self {
        self.mds = Arc::new(mds);
        self
    }

    /// The same state serving the console with `console` (built by
    /// [`ConsoleConfig::new`]).
    #[must_use]
    pub fn with_console(mut self, console: ConsoleConfig) -> Self {
        self.console = Arc::new(console);
        self
    }

    /// The same state with the stream caps of `settings`, its live streams and their
    /// shared reader ending when `shutdown` is cancelled.
    #[must_use]
    pub fn with_streams(mut self, settings: &ApiSettings, shutdown: &CancellationToken) -> Self {
        self.streams = Arc::new(StreamHub::new(self.commands.clone(), settings, shutdown));
        self
    }
}
