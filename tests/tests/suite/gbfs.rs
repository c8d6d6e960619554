//! GBFS 2.3 and 3.0 end to end: fleet events, sessions and telemetry with real envelopes,
//! encoded with the wire codec through the real registry, produced to a broker of the
//! test's own and projected by the fleet and rides projections; the API served in-process
//! on top.
//!
//! - Every file of both versions, crawled from the entry points as a client would, validates
//!   against the official JSON Schema of its version (`tests/specs/gbfs/`, unmodified
//!   copies) with Python `jsonschema` and format checks (`tests/python/validate_gbfs.py`),
//!   plus the cross-file rules of MobilityData's validator — for a fleet and for an empty
//!   system.
//! - What the schemas cannot say: vehicles on a trip, out of service or without a position
//!   are absent, reserved ones are `is_reserved`; public ids are never the device or
//!   vehicle id, stay the same between fetches and across a reservation, and change after
//!   a trip; a vehicle whose trip the rides read model has not seen end yet stays hidden;
//!   `ttl` equals `Cache-Control: max-age`; vehicle feeds carry `X-Fleetlog-Data-Age-Ms`
//!   and a `last_updated` that matches it; unknown files are 404 in the §9 shape.
//!
//! Needs the broker (`make test` starts Apache Kafka), PostgreSQL (`DATABASE_URL`) and the Python tools of
//! `tests/python/requirements.txt` (`TEST_PYTHON`, or `tests/python/.venv/bin/python`).
//!
//! Here: the validator, the API served in-process and the fetch the tests share; the tests
//! in `gbfs/fleet.rs` and `gbfs/empty_system.rs`.

mod empty_system;
mod fleet;

use std::collections::BTreeSet;
use std::path::Path;

use fleetlog_api::auth::AuthSettings;
use fleetlog_api::gbfs::GbfsConfig;
use fleetlog_runtime::settings::GbfsSettings;
use fleetlog_tests::TestApp;
use fleetlog_tests::python::python;
use serde_json::Value;
use tokio_util::sync::DropGuard;

const SECRET: &str = "gbfs-test-secret-of-enough-bytes";

/// Run the validator on `entries` (crawling what they link to); its report, and whether
/// it found everything valid.
async fn validate(entries: Vec<String>) -> (Value, bool) {
    let python = python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("python/validate_gbfs.py");
    let specs = root.join("specs/gbfs");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg("--specs")
            .arg(specs)
            .args(entries)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "validator said no JSON ({}): {stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.success())
}

/// `(version, name)` of every file the validator checked.
fn checked(report: &Value) -> BTreeSet<(String, String)> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["url"].is_string())
        .map(|f| {
            (
                f["version"].as_str().unwrap_or("?").to_owned(),
                f["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn every_file() -> BTreeSet<(String, String)> {
    let v23 = [
        "gbfs",
        "gbfs_versions",
        "system_information",
        "vehicle_types",
        "free_bike_status",
        "geofencing_zones",
        "system_pricing_plans",
    ];
    let v30 = [
        "gbfs",
        "gbfs_versions",
        "manifest",
        "system_information",
        "vehicle_types",
        "vehicle_status",
        "geofencing_zones",
        "system_pricing_plans",
    ];
    let pairs = |v: &str, names: &[&str]| {
        names
            .iter()
            .map(|n| (v.to_owned(), (*n).to_owned()))
            .collect::<Vec<_>>()
    };
    pairs("2.3", &v23)
        .into_iter()
        .chain(pairs("3.0", &v30))
        .collect()
}

fn gbfs_config(app: &TestApp) -> GbfsConfig {
    let settings = GbfsSettings {
        id_secret: Some(SECRET.into()),
        ..GbfsSettings::default()
    };
    GbfsConfig::new(&settings, &app.settings.commands).unwrap()
}

/// The API over `app` serving GBFS with the test's key; its base URL.
async fn api(app: &TestApp) -> (String, DropGuard) {
    let state =
        fleetlog_tests::api::state(app, AuthSettings::default()).with_gbfs(gbfs_config(app));
    fleetlog_tests::api::serve(fleetlog_api::router(state)).await
}

/// A GBFS file: status, headers and body.
struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn get(base: &str, path: &str) -> Fetched {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap();
    Fetched {
        status,
        headers,
        body,
    }
}
