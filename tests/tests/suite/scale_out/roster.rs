//! The processes of the scale-out test: every service as the built `fleetlog` binary,
//! each instance on ports of its own kept across restarts (its listeners and its
//! operational endpoints), so a restarted gateway is where the scooters look for it.
//!
//! Each instance logs (across its restarts) to a file of its own; when the test fails,
//! the warnings and errors of every instance are printed, and the files are kept.

use std::fmt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_tests::process::{ChildGuard, fleetlog, free_port};

/// The product's JWT key (the API signs and checks operator tokens with it).
pub(super) const JWT_SECRET: &str = "scale-out-test-secret-of-at-least-32-bytes";
/// `session.timeout.ms` of every consumer group member: the broker's minimum.
const SESSION_TIMEOUT_MS: &str = "6000";
/// Lifetime of lock, unlock and locate commands: long enough to outlive a restart of
/// every part on the way (processor handover, broker election, a gateway's reconnects).
pub(super) const COMMAND_TIMEOUT_S: i64 = 20;

/// What an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Gateway,
    Decoder,
    Commands,
    FleetProjector,
    /// The rides projection holds the command outcomes the API answers with.
    RidesProjector,
    Api,
}

impl Role {
    fn args(self) -> &'static [&'static str] {
        match self {
            Self::Gateway => &["gateway"],
            Self::Decoder => &["decoder"],
            Self::Commands => &["commands"],
            Self::FleetProjector => &["projector", "fleet"],
            Self::RidesProjector => &["projector", "rides"],
            Self::Api => &["api"],
        }
    }
}

/// One instance: its role, the environment it always starts with, and its process.
pub(super) struct Instance {
    pub role: Role,
    index: usize,
    env: Vec<(String, String)>,
    child: Option<ChildGuard>,
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}-{}", self.role, self.index)
    }
}

impl Instance {
    /// Stop it gracefully (SIGTERM) and wait, at most `timeout`, for its exit status.
    pub(super) fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.terminate(timeout);
        self.child = None;
        status
    }

    fn command(&self, settings: &Settings) -> Command {
        let mut cmd = fleetlog(settings);
        cmd.args(self.role.args());
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }
}

/// Every instance of the test, started and restarted from one place.
pub(super) struct Roster {
    settings: Settings,
    pub instances: Vec<Instance>,
    logs: PathBuf,
}

impl Roster {
    /// Two gateways, decoders, commands processors and fleet projectors, one rides
    /// projector and one API on `settings` (broker, database, registry), the gateways
    /// knowing `devices`; not started.
    pub(super) fn new(settings: &Settings, devices: &[String]) -> Self {
        let layout = [
            (Role::Gateway, 2),
            (Role::Decoder, 2),
            (Role::Commands, 2),
            (Role::FleetProjector, 2),
            (Role::RidesProjector, 1),
            (Role::Api, 1),
        ];
        let mut instances = Vec::new();
        for (role, count) in layout {
            for index in 0..count {
                let port = || format!("127.0.0.1:{}", free_port());
                let mut env = vec![
                    ("FLEETLOG_HTTP__API_ADDR", port()),
                    (
                        "FLEETLOG_KAFKA__CLIENT_ID",
                        settings.kafka.client_id.clone(),
                    ),
                    ("FLEETLOG_KAFKA__INSTANCE_ID", format!("{role:?}-{index}")),
                    (
                        "FLEETLOG_KAFKA__SESSION_TIMEOUT_MS",
                        SESSION_TIMEOUT_MS.into(),
                    ),
                    ("FLEETLOG_KAFKA__REPLICATION_FACTOR", "3".into()),
                    ("FLEETLOG_AUTH__JWT_SECRET", JWT_SECRET.into()),
                    (
                        "FLEETLOG_COMMANDS__UNLOCK_TIMEOUT_S",
                        COMMAND_TIMEOUT_S.to_string(),
                    ),
                    (
                        "FLEETLOG_COMMANDS__LOCK_TIMEOUT_S",
                        COMMAND_TIMEOUT_S.to_string(),
                    ),
                ];
                if role == Role::Gateway {
                    env.extend([
                        (
                            "FLEETLOG_GATEWAY__GATEWAY_ID",
                            fleetlog_tests::unique_name(&format!("gw{index}")),
                        ),
                        ("FLEETLOG_GATEWAY__TELTONIKA_ADDR", port()),
                        ("FLEETLOG_GATEWAY__OMNI_ADDR", port()),
                        ("FLEETLOG_GATEWAY__GT06_ADDR", port()),
                        ("FLEETLOG_GATEWAY__KNOWN_DEVICES", devices.join(",")),
                    ]);
                }
                instances.push(Instance {
                    role,
                    index,
                    env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    child: None,
                });
            }
        }
        let logs = std::env::temp_dir().join(fleetlog_tests::unique_name("scale-out-logs"));
        std::fs::create_dir_all(&logs).unwrap();
        Self {
            settings: settings.clone(),
            instances,
            logs,
        }
    }

    fn log_of(&self, i: usize) -> PathBuf {
        self.logs.join(format!("{}.log", self.instances[i]))
    }

    fn env_of(&self, role: Role, key: &str) -> Vec<String> {
        self.instances
            .iter()
            .filter(|i| i.role == role)
            .filter_map(|i| i.env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
            .collect()
    }

    /// The gateways' Teltonika listeners.
    pub(super) fn gateways(&self) -> Vec<String> {
        self.env_of(Role::Gateway, "FLEETLOG_GATEWAY__TELTONIKA_ADDR")
    }

    /// The API's base URL.
    pub(super) fn api(&self) -> String {
        let addr = self.env_of(Role::Api, "FLEETLOG_HTTP__API_ADDR");
        format!("http://{}", addr[0])
    }

    /// Start every instance not running.
    pub(super) fn start_all(&mut self) {
        for i in 0..self.instances.len() {
            if self.instances[i].child.is_none() {
                self.start(i);
            }
        }
    }

    /// Start instance `i`.
    pub(super) fn start(&mut self, i: usize) {
        let mut cmd = self.instances[i].command(&self.settings);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_of(i))
            .unwrap();
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.instances[i].child = Some(ChildGuard(cmd.spawn().unwrap()));
    }

    /// SIGKILL instance `i` (and reap it).
    pub(super) fn kill(&mut self, i: usize) {
        self.instances[i].child = None;
    }

    /// The instances that die in the test: all but the API.
    pub(super) fn killable(&self) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| self.instances[i].role != Role::Api)
            .collect()
    }

    /// Instances that exited by themselves (none should: a part that gives up on a
    /// broker or database outage is a finding), as their names and exit statuses.
    pub(super) fn exited(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for instance in &mut self.instances {
            let name = instance.to_string();
            if let Some(child) = instance.child.as_mut()
                && let Ok(Some(status)) = child.0.try_wait()
            {
                out.push(format!("{name} {status}"));
            }
        }
        out
    }
}

impl Drop for Roster {
    /// On a failure, print every instance's warnings and errors (the last 20 each, refused
    /// connections to killed brokers aside) and keep
    /// the logs; otherwise remove them.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.logs);
            return;
        }
        for i in 0..self.instances.len() {
            let text = std::fs::read_to_string(self.log_of(i)).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                // A killed broker's refused connections: expected, and many.
                .filter(|l| !l.contains("Connection refused") && !l.contains("Disconnected"))
                .collect();
            eprintln!(
                "--- {} ({} warnings and errors; log {}):\n{}",
                self.instances[i],
                lines.len(),
                self.log_of(i).display(),
                lines[lines.len().saturating_sub(20)..].join("\n")
            );
        }
    }
}
