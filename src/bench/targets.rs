//! The processes `fleetlog bench ingest` puts under load: our gateway (`fleetlog gateway`)
//! and the Node.js bridge of the original design (`node bridge.js PORT BROKERS TOPIC`), each
//! its own process so its CPU and RSS are its own.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use fleetlog_runtime::Settings;

/// A process that accepts Teltonika devices on one address.
pub(crate) struct Target {
    child: Child,
    /// Its Teltonika listener.
    pub(crate) addr: SocketAddr,
}

/// Our gateway, as `fleetlog gateway`.
pub(crate) type GatewayProcess = Target;

impl Target {
    /// Its process id (for `/proc`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Target {
    /// SIGTERM and up to 10 s to stop cleanly (closing its broker connections), then SIGKILL.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

/// Wait until `addr` accepts a connection (at most 30 s) while `child` runs.
fn listening(mut child: Child, addr: SocketAddr, what: &str) -> anyhow::Result<Target> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!("{what} exited while starting ({status})");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("{what} did not start listening on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Target { child, addr })
}

/// Start `fleetlog gateway` (this executable) with its frame-rate limit off.
///
/// # Errors
/// When it cannot start or does not listen within 30 s.
pub(crate) fn spawn_gateway(
    settings: &Settings,
    registry_url: &str,
) -> anyhow::Result<GatewayProcess> {
    let teltonika = free_addr()?;
    let child = Command::new(std::env::current_exe()?)
        .arg("gateway")
        .env("KAFKA_BROKERS", &settings.kafka.brokers)
        .env("DATABASE_URL", &settings.database_url)
        .env("SCHEMA_REGISTRY_URL", registry_url)
        .env("FLEETLOG_HTTP__API_ADDR", free_addr()?)
        .env("FLEETLOG_GATEWAY__TELTONIKA_ADDR", &teltonika)
        // The benchmark's connections come from a few loopback addresses.
        .env("FLEETLOG_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS", "0")
        .env("FLEETLOG_GATEWAY__OMNI_ADDR", free_addr()?)
        .env("FLEETLOG_GATEWAY__GT06_ADDR", free_addr()?)
        .env(
            "FLEETLOG_GATEWAY__GATEWAY_ID",
            format!("bench-{}", std::process::id()),
        )
        .env("FLEETLOG_GATEWAY__MAX_FRAMES_PER_SEC", "0")
        // The benchmark's devices are no registered vehicles: admitted as known, so the
        // end-to-end phase has frames to decode (and the peer checks no device either).
        .env("FLEETLOG_GATEWAY__ADMISSION", "open")
        .env("FLEETLOG_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting fleetlog gateway")?;
    listening(child, teltonika.parse()?, "fleetlog gateway")
}

/// Start the Node.js bridge in `dir` (its `bridge.js` with `node_modules` installed),
/// producing to `topic`; its counters (stderr) go to `dir/bridge.log`.
///
/// # Errors
/// When `node` cannot start or the bridge does not listen within 30 s.
pub(crate) fn spawn_node_peer(dir: &Path, brokers: &str, topic: &str) -> anyhow::Result<Target> {
    let addr: SocketAddr = free_addr()?.parse()?;
    let log = std::fs::File::create(dir.join("bridge.log"))
        .with_context(|| format!("creating {}", dir.join("bridge.log").display()))?;
    let child = Command::new("node")
        .arg("bridge.js")
        .arg(addr.port().to_string())
        .arg(brokers)
        .arg(topic)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting node (Node.js 20+ is needed for the peer)")?;
    listening(child, addr, "the Node.js peer")
}
