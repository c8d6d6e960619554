//! A Tansu broker of the test's own, for tests that stop and restart a broker.
//!
//! The binary comes from `TANSU_BIN` (set by `make test`) or the Makefile's cache path.
//! Storage is SQLite in a fresh directory, so a restart keeps what was stored. Like
//! `scripts/lib.sh start_broker`, the storage gets the index on `header (topition,
//! offset_id)` that Tansu 0.6.0 lacks (without it fetching slows down as the log grows;
//! see `docs/operations.md`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port};

/// A broker process on `127.0.0.1:<port>` with its own storage directory.
pub struct TestBroker {
    /// The port it listens on (kept across restarts).
    pub port: u16,
    dir: PathBuf,
    child: Option<ChildGuard>,
}

fn tansu_bin() -> PathBuf {
    std::env::var("TANSU_BIN").map_or_else(
        |_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            PathBuf::from(home).join(".cache/fleetlog/tansu-0.6.0/bin/tansu")
        },
        PathBuf::from,
    )
}

impl TestBroker {
    /// Start a broker on a free port with fresh storage and wait until it accepts
    /// connections.
    ///
    /// # Panics
    /// When the broker cannot be started.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(crate::unique_name("fleetlog-broker"));
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut broker = Self {
            port: free_port(),
            dir,
            child: None,
        };
        // A port taken between `free_port` and the broker's bind: another port, twice.
        for _ in 0..2 {
            if broker.try_restart() {
                return broker;
            }
            broker.child = None;
            broker.port = free_port();
        }
        broker.restart();
        broker
    }

    /// `127.0.0.1:<port>`, for `KAFKA_BROKERS`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kill the broker (SIGKILL: nothing is flushed that was not already durable).
    pub fn kill(&mut self) {
        self.child = None;
    }

    /// Start it again on the same port and storage.
    ///
    /// # Panics
    /// When the broker does not accept connections within 10 s.
    pub fn restart(&mut self) {
        assert!(
            self.try_restart(),
            "test broker did not start on port {}",
            self.port
        );
    }

    /// Start the broker; whether it accepted connections and made its tables in 10 s.
    fn try_restart(&mut self) -> bool {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(tansu_bin());
        cmd.current_dir(&self.dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdin(Stdio::null());
        self.child = Some(ChildGuard::spawn(cmd));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Something else may answer on a port taken before the broker's bind:
                // then no broker makes its tables.
                return try_index_headers(&self.dir.join("tansu.db"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Add the index on `header (topition, offset_id)` to Tansu's SQLite storage at `db` once
/// the broker has created its tables (through Python's sqlite3, which `make test`
/// installs; SQLite lets a second process change the schema).
///
/// # Panics
/// When the index cannot be created within about 10 s.
pub fn index_headers(db: &std::path::Path) {
    assert!(
        try_index_headers(db),
        "index on Tansu's header table created"
    );
}

/// Creates the header index once Tansu's tables exist (about 10 s of tries).
const INDEX_SCRIPT: &str = r"
import sqlite3, sys, time
for _ in range(200):
    try:
        c = sqlite3.connect(sys.argv[1], timeout=10)
        c.execute('CREATE INDEX IF NOT EXISTS header_topition_offset_idx ON header (topition, offset_id)')
        c.commit()
        sys.exit(0)
    except sqlite3.OperationalError:
        time.sleep(0.05)
sys.exit(1)
";

/// [`index_headers`], false when no header table appeared in 10 s.
fn try_index_headers(db: &std::path::Path) -> bool {
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .args(["-c", INDEX_SCRIPT])
        .arg(db)
        .status()
        .expect("python3 runs")
        .success()
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.child = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh migrated database (see [`crate::spawn_app`]) wired to a broker of its own with
/// every topic of the catalogue created and a unique client id, so fixed topic names hold
/// only this test's records. Keep the broker alive for the test's length.
///
/// # Panics
/// When the broker, the database or the topics cannot be set up.
pub async fn isolated_app() -> (TestBroker, crate::TestApp) {
    let mut app = crate::spawn_app().await;
    app.settings.kafka.client_id = crate::unique_name("fleetlog");
    // A fresh broker that does not create the topics in time (seen when several start at
    // once in the full suite: its port taken between `free_port` and its bind, or a slow
    // start) is replaced by another on a new port, at most twice.
    let mut last_error = String::new();
    for attempt in 1..=3 {
        let broker = TestBroker::start();
        app.settings.kafka.brokers = broker.address();
        let admin = fleetlog_runtime::kafka::admin(&app.settings.kafka).expect("admin client");
        let created = tokio::time::timeout(
            Duration::from_secs(30),
            fleetlog_runtime::kafka::create_topics(&admin, &fleetlog_schemas::topics::all(2, 1), 1),
        )
        .await;
        match created {
            Ok(Ok(_)) => return (broker, app),
            Ok(Err(err)) => last_error = err.to_string(),
            Err(_) => last_error = "no answer in 30 s".into(),
        }
        eprintln!(
            "test broker on port {} (attempt {attempt}): topics not created: {last_error}",
            broker.port
        );
    }
    panic!("topics created on none of three fresh brokers: {last_error}");
}
