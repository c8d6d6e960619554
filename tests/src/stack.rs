//! In-process services for end-to-end tests: the schema registry and the gateway, on free
//! loopback ports, against the real broker and PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;

use fleetlog_ingest::gateway::{self, Listeners};
use fleetlog_registry::access::WriteAccess;
use fleetlog_runtime::Settings;
use fleetlog_schemas::wire::WireCodec;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestApp;

/// The schema registry alone on a free port over the test's database; its URL (carrying
/// the registry's admin credential, see [`registry_access`]) and the token that stops it.
/// Schemas are not registered.
///
/// # Panics
/// When it cannot bind.
pub async fn registry(app: &TestApp) -> (String, CancellationToken) {
    let token = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind registry");
    let access = registry_access();
    let url = access.authorise_url(&format!("http://{}", listener.local_addr().expect("addr")));
    tokio::spawn(fleetlog_registry::serve(
        listener,
        app.pool.clone(),
        access,
        token.clone(),
    ));
    (url, token)
}

/// The admin credential of the registries tests start: a fresh random one (test URLs carry
/// it in their user info; writes without it are refused).
pub fn registry_access() -> WriteAccess {
    WriteAccess::random("test-admin")
}

/// Services started by a test; stopped when dropped.
pub struct Services {
    /// Settings the services run with (registry URL and listener addresses filled in).
    pub settings: Settings,
    /// Teltonika listener.
    pub teltonika: SocketAddr,
    /// Omni listener.
    pub omni: SocketAddr,
    /// GT06 listener.
    pub gt06: SocketAddr,
    token: CancellationToken,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl Services {
    /// Start the registry (and register every schema), then the gateway configured by
    /// `configure`.
    ///
    /// # Panics
    /// When a service cannot start.
    pub async fn start(app: &TestApp, configure: impl FnOnce(&mut Settings)) -> Self {
        let token = CancellationToken::new();
        let mut settings = app.settings.clone();
        let registry = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind registry");
        let access = registry_access();
        settings.schema_registry_url =
            access.authorise_url(&format!("http://{}", registry.local_addr().expect("addr")));
        let mut tasks = vec![tokio::spawn(fleetlog_registry::serve(
            registry,
            app.pool.clone(),
            access,
            token.clone(),
        ))];
        fleetlog_schemas::registration::register_all(&settings.schema_registry_url)
            .await
            .expect("schemas registered");
        settings.gateway.gateway_id = crate::unique_name("gw");
        configure(&mut settings);
        let (teltonika, omni, gt06, task) = spawn_gateway(&mut settings, token.clone()).await;
        tasks.push(task);
        Self {
            settings,
            teltonika,
            omni,
            gt06,
            token,
            tasks,
        }
    }

    /// One more gateway process on the same broker, database and registry, with a gateway
    /// id of its own and its own listeners; stopped when dropped (or by
    /// [`Gateway::stop`]).
    pub async fn another_gateway(&self) -> Gateway {
        let mut settings = self.settings.clone();
        settings.gateway.gateway_id = crate::unique_name("gw");
        Gateway::start(&settings, self.token.child_token()).await
    }

    /// A codec on the test's registry.
    pub fn codec(&self) -> WireCodec {
        WireCodec::new(&self.settings.schema_registry_url)
    }
}

/// A gateway started by a test, on free loopback ports.
pub struct Gateway {
    /// Its settings (the listener addresses as bound).
    pub settings: Settings,
    /// Teltonika listener.
    pub teltonika: SocketAddr,
    /// Omni listener.
    pub omni: SocketAddr,
    /// GT06 listener.
    pub gt06: SocketAddr,
    token: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

type Spawned = (
    SocketAddr,
    SocketAddr,
    SocketAddr,
    JoinHandle<anyhow::Result<()>>,
);

/// A gateway on free loopback ports (written back into `settings` as `127.0.0.1:0`).
async fn spawn_gateway(settings: &mut Settings, token: CancellationToken) -> Spawned {
    for addr in [
        &mut settings.gateway.teltonika_addr,
        &mut settings.gateway.omni_addr,
        &mut settings.gateway.gt06_addr,
    ] {
        *addr = "127.0.0.1:0".into();
    }
    let listeners = Listeners::bind(&settings.gateway)
        .await
        .expect("gateway listeners");
    let (teltonika, omni, gt06) = listeners.local_addrs().expect("addrs");
    let producer =
        fleetlog_runtime::producer::Producer::from_settings(&settings.kafka, "test-gateway")
            .expect("producer");
    let codec = Arc::new(WireCodec::new(&settings.schema_registry_url));
    let gateway_settings = settings.clone();
    let task = tokio::spawn(async move {
        gateway::run(&gateway_settings, listeners, producer, codec, token).await
    });
    (teltonika, omni, gt06, task)
}

impl Gateway {
    async fn start(settings: &Settings, token: CancellationToken) -> Self {
        let mut settings = settings.clone();
        let (teltonika, omni, gt06, task) = spawn_gateway(&mut settings, token.clone()).await;
        Self {
            settings,
            teltonika,
            omni,
            gt06,
            token,
            task,
        }
    }

    /// Stop it as a shutdown signal would, and wait until it has stopped.
    ///
    /// # Panics
    /// When it failed.
    pub async fn stop(mut self) {
        self.token.cancel();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { Ok(()) }));
        task.await
            .expect("gateway task")
            .expect("gateway stopped cleanly");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.token.cancel();
        self.task.abort();
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.token.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}
