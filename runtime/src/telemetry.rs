//! Logs (`tracing`) and metrics (the `metrics` crate with a Prometheus exporter).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::settings::LogSettings;

/// Install the global `tracing` subscriber: human-readable by default, JSON lines when
/// `log.json` is set. `RUST_LOG` wins over `log.filter`. Safe to call more than once.
pub fn init_logs(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if log.json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second call (tests, `up` composing services) keeps the first subscriber.
    drop(result);
}

/// The process-wide Prometheus recorder; installed on first use, then shared.
///
/// Every metric of fleetlog is named `fleetlog_<thing>_<unit>` and described in the
/// crate that records it; `/metrics` renders this handle.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder was installed first; then ours renders empty,
            // which tests would notice.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}
