//! Running the real `fleetlog` binary from tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetlog_runtime::Settings;

/// Path of the `fleetlog` binary: `FLEETLOG_BINARY_PATH` is not used (the `FLEETLOG_`
/// prefix is reserved for settings); `TEST_FLEETLOG_BIN` or `target/debug/fleetlog`.
pub fn fleetlog_bin() -> PathBuf {
    if let Ok(path) = std::env::var("TEST_FLEETLOG_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    );
    target.join("debug").join("fleetlog")
}

/// A `fleetlog` command whose environment carries `settings`.
pub fn fleetlog(settings: &Settings) -> Command {
    let mut cmd = Command::new(fleetlog_bin());
    cmd.env("DATABASE_URL", &settings.database_url)
        .env("KAFKA_BROKERS", &settings.kafka.brokers)
        .env("SCHEMA_REGISTRY_URL", &settings.schema_registry_url)
        .env("FLEETLOG_HTTP__API_ADDR", &settings.http.api_addr)
        .env("FLEETLOG_HTTP__REGISTRY_ADDR", &settings.http.registry_addr)
        .env(
            "FLEETLOG_GATEWAY__TELTONIKA_ADDR",
            &settings.gateway.teltonika_addr,
        )
        .env("FLEETLOG_GATEWAY__OMNI_ADDR", &settings.gateway.omni_addr)
        .env("FLEETLOG_GATEWAY__GT06_ADDR", &settings.gateway.gt06_addr)
        .env("FLEETLOG_GATEWAY__GATEWAY_ID", &settings.gateway.gateway_id)
        .env(
            "FLEETLOG_SHUTDOWN_GRACE_MS",
            settings.shutdown_grace_ms.to_string(),
        )
        .env(
            "FLEETLOG_REGISTRY__ADMIN_USER",
            &settings.registry.admin_user,
        );
    if let Some(key) = &settings.auth.totp_key {
        cmd.env("FLEETLOG_AUTH__TOTP_KEY", key);
    }
    if let Some(password) = &settings.registry.admin_password {
        cmd.env("FLEETLOG_REGISTRY__ADMIN_PASSWORD", password);
    }
    cmd
}

/// Give every listener of `settings` its own free loopback port (API, registry, the
/// three gateway listeners) and point `SCHEMA_REGISTRY_URL` at that registry, so tests
/// can run side by side and beside `make run`. The registry gets a random admin password,
/// which `SCHEMA_REGISTRY_URL` carries (registering schemas is a write).
pub fn isolate_ports(settings: &mut Settings) {
    let port = || format!("127.0.0.1:{}", free_port());
    settings.http.api_addr = port();
    settings.http.registry_addr = port();
    settings.registry.admin_password = Some(crate::unique_name("registry-admin"));
    settings.schema_registry_url =
        fleetlog_registry::access::WriteAccess::from_settings(&settings.registry)
            .authorise_url(&format!("http://{}", settings.http.registry_addr));
    settings.gateway.teltonika_addr = port();
    settings.gateway.omni_addr = port();
    settings.gateway.gt06_addr = port();
    settings.gateway.gateway_id = crate::unique_name("gw");
}

/// A child process killed when dropped, so a failing test leaves nothing behind.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Start `cmd` with its output discarded unless `TEST_LOG` is set.
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub fn spawn(mut cmd: Command) -> Self {
        if std::env::var_os("TEST_LOG").is_none() {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        Self(cmd.spawn().expect("spawn child process"))
    }

    /// Send SIGTERM and wait up to `timeout` for the exit status.
    ///
    /// A graceful stop is asked of a process that listens for it: the signal is sent once
    /// the child catches SIGTERM (its supervisor exists), so a child just spawned is not
    /// killed by the default action instead (that raced in the projection kill test).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while !catches_sigterm(self.0.id()) && Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// Whether process `pid` has a handler for SIGTERM (bit 15 of `SigCgt` in Linux's
/// `/proc/<pid>/status`). Where that cannot be read, assumed so.
fn catches_sigterm(pid: u32) -> bool {
    const SIGTERM: u32 = 15;
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_none_or(|mask| mask & (1 << (SIGTERM - 1)) != 0)
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Poll `url` until it answers `status` or `timeout` passes; returns the last status seen.
pub async fn wait_for_status(url: &str, status: u16, timeout: Duration) -> Option<u16> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(resp) = client.get(url).timeout(Duration::from_secs(5)).send().await {
            last = Some(resp.status().as_u16());
            if last == Some(status) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last
}
