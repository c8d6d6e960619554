//! The API router served in-process on a free loopback port, over a test's database.

use std::time::Duration;

use fleetlog_api::ApiState;
use fleetlog_api::auth::AuthSettings;
use fleetlog_api::commands::CommandLog;
use fleetlog_api::ops::OpsState;
use fleetlog_runtime::health::Readiness;
use fleetlog_runtime::kafka::BrokerProbe;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::TestApp;

/// The API's state over `app`'s database and broker, with `auth` settings.
///
/// # Panics
/// When a client cannot be built.
pub fn state(app: &TestApp, auth: AuthSettings) -> ApiState {
    let probe = BrokerProbe::new(&app.settings.kafka).expect("broker probe");
    let ops = OpsState {
        readiness: Readiness::new(app.pool.clone(), probe, Duration::from_secs(1)),
        metrics: fleetlog_runtime::telemetry::metrics_handle(),
    };
    let commands = CommandLog::new(&app.settings.kafka, &app.settings.schema_registry_url)
        .expect("command log");
    ApiState::new(app.pool.clone(), ops, auth, commands).expect("api state")
}

/// Serve `router` (with connect info) until the guard drops; its base URL.
///
/// # Panics
/// When no port can be bound.
pub async fn serve(router: axum::Router) -> (String, DropGuard) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    tokio::spawn(fleetlog_api::server::run(listener, router, stop.clone()));
    (base, stop.drop_guard())
}
