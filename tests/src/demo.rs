//! What `make run` starts — `fleetlog up` and `fleetlog demo` — as real processes on a
//! broker of their own and free ports, with the demo's output readable line by line.

#![allow(
    clippy::unwrap_used,
    reason = "test harness: a failed unwrap is a failed test"
)]

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::TestApp;
use crate::broker::{TestBroker, isolated_app};
use crate::process::{ChildGuard, fleetlog, isolate_ports, wait_for_status};

/// A running `make run`.
pub struct Demo {
    _broker: TestBroker,
    /// Its database and settings.
    pub app: TestApp,
    _up: ChildGuard,
    /// The `fleetlog demo` process.
    pub demo: ChildGuard,
    /// Base URL of the API.
    pub api: String,
    /// The demo's standard output, line by line (the banner).
    pub stdout: mpsc::Receiver<String>,
    /// The demo's log, line by line.
    pub stderr: mpsc::Receiver<String>,
    /// When the demo was started.
    pub started: Instant,
}

/// Lines of a child's stream, read on a thread.
fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Wait until GBFS (`api`'s public `vehicle_status`) lists at least `n` vehicles, each
/// reported since its registration.
///
/// # Panics
/// When it does not within `timeout`.
pub async fn wait_until_gbfs_lists(api: &str, n: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let url = format!("{api}/gbfs/3.0/vehicle_status.json");
    loop {
        let listed = match reqwest::get(&url).await {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|feed| feed["data"]["vehicles"].as_array().map(Vec::len))
                .unwrap_or(0),
            Err(_) => 0,
        };
        if listed >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GBFS lists {listed} vehicles, not {n}, after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Lines from `rx` up to and including the first containing `until`.
///
/// # Panics
/// When no such line comes within `timeout`.
pub fn read_until(rx: &mpsc::Receiver<String>, until: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    let mut text = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                if line.contains(until) {
                    return text;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {until:?} within {timeout:?}; got:\n{text}");
}

/// `fleetlog up` (MDS hours closing `hour_close_delay_s` after their end) and `fleetlog
/// demo <demo_args>`, as `make run` starts them.
///
/// # Panics
/// When the stack does not come up.
pub async fn start(hour_close_delay_s: u64, demo_args: &[&str]) -> Demo {
    let (broker, mut app) = isolated_app().await;
    isolate_ports(&mut app.settings);
    let mut up = fleetlog(&app.settings);
    up.arg("up")
        .env(
            "FLEETLOG_AUTH__JWT_SECRET",
            "demo-test-secret-of-at-least-32-bytes",
        )
        .env(
            "FLEETLOG_MDS__HOUR_CLOSE_DELAY_S",
            hour_close_delay_s.to_string(),
        )
        .env("FLEETLOG_COMMANDS__TICK_INTERVAL_MS", "200");
    let up = ChildGuard::spawn(up);
    let api = format!("http://{}", app.settings.http.api_addr);
    let ready = wait_for_status(&format!("{api}/readyz"), 200, Duration::from_secs(90)).await;
    assert_eq!(ready, Some(200), "fleetlog up became ready");
    let started = Instant::now();
    let mut demo = fleetlog(&app.settings);
    demo.arg("demo")
        .args(demo_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut demo = ChildGuard(demo.spawn().expect("fleetlog demo starts"));
    let stdout = lines(demo.0.stdout.take().unwrap());
    let stderr = lines(demo.0.stderr.take().unwrap());
    Demo {
        _broker: broker,
        app,
        _up: up,
        demo,
        api,
        stdout,
        stderr,
        started,
    }
}
