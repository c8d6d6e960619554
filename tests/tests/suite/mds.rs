//! MDS 2.0 provider API end to end: fleet events and telemetry with real envelopes through
//! the registry and a broker of the test's own, projected by the fleet and rides projections
//! (`fleetlog_tests::test_stack::TestStack`), the API served in-process on top.
//!
//! - Every endpoint's answers, fetched live (following `links.next`), validate against the
//!   MDS 2.0 OpenAPI models of `tests/specs/mds-2.0/` (unmodified copies, micromobility
//!   branch patched in memory as `SOURCE.txt` says) with Python `jsonschema`
//!   (`tests/python/validate_mds.py`).
//! - What the schemas cannot say: the spec's units (ms, `lng`, seconds, metres, cents), the
//!   trip's events carry its id, states follow the micromobility transitions per vehicle,
//!   hours not over are 404, hours not final 202 (so is every hour while the read models'
//!   data age is unknown: the test waits for `X-Fleetlog-Data-Age-Ms` first), hours before
//!   we operated 404, the hour parameters are required (400 naming them), paging covers
//!   every vehicle once.
//! - Wrong or missing `Accept` → 406; a rider or operator token → 403; none → 401.
//!
//! Here: the client and the validator; the test in `mds/answers.rs`.

mod answers;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetlog_api::mds::MEDIA_TYPE;
use reqwest::StatusCode;
use serde_json::Value;

const SECRET: &str = "mds-test-secret-mds-test-secret!!";

fn hour_of(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .unwrap()
        .format("%Y-%m-%dT%H")
        .to_string()
}

struct Client {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Client {
    async fn get_with(
        &self,
        path: &str,
        token: Option<&str>,
        accept: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_with(path, Some(&self.token), Some(MEDIA_TYPE))
            .await
    }

    /// Wait until answers carry `X-Fleetlog-Data-Age-Ms` (both projectors have reported
    /// their lag): until then no hour is final, and a client would retry the 202.
    async fn wait_for_data_age(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = self
                .http
                .get(format!("{}/mds/vehicles", self.base))
                .bearer_auth(&self.token)
                .header("accept", MEDIA_TYPE)
                .send()
                .await
                .unwrap();
            if response.headers().contains_key("x-fleetlog-data-age-ms") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no X-Fleetlog-Data-Age-Ms: the projectors never reported lag"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The `key` items of every page from `path` on, following `links.next`.
    async fn all(&self, path: &str, key: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(format!("{}{path}", self.base));
        while let Some(url) = next {
            let (code, page) = self.get(&url[self.base.len()..]).await;
            assert_eq!(code, StatusCode::OK, "{url}: {page}");
            items.extend(page[key].as_array().unwrap().iter().cloned());
            next = page["links"]["next"].as_str().map(str::to_owned);
        }
        items
    }
}

/// Run `tests/python/validate_mds.py` on `paths` (off the runtime, which serves the API);
/// its report.
async fn validate(client: &Client, paths: &[String]) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = std::process::Command::new(fleetlog_tests::python::python());
    command
        .arg(root.join("python/validate_mds.py"))
        .arg("--specs")
        .arg(root.join("specs/mds-2.0"))
        .args(["--base", &client.base, "--token", &client.token])
        .args(paths);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "validator output: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let failures: Vec<_> = report["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["errors"].as_array().unwrap().is_empty())
        .map(|r| (r["path"].clone(), r["errors"].clone()))
        .collect();
    assert!(failures.is_empty(), "MDS responses invalid: {failures:#?}");
    assert!(output.status.success());
    report
}
