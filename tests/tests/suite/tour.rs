//! `docs/tour.md`, run: what `make run` starts (`fleetlog up` and `fleetlog demo`, on a
//! broker of their own and free ports), then every `sh` block of the tour, in order, in one
//! `bash -euo pipefail` session — but the `make run` line, which is this stack — with the
//! tour's API address replaced by the stack's, the built `fleetlog` and the test venv's
//! `python3` (with `duckdb`) first on `PATH`. Each step's output is checked.
//!
//! Needs the broker tools, PostgreSQL, the built binary, `curl`, `jq` and the Python tools
//! of `tests/python/requirements.txt` (`TEST_PYTHON`, or `tests/python/.venv/bin/python`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetlog_tests::demo::{self, read_until};
use fleetlog_tests::process::fleetlog_bin;
use fleetlog_tests::python::python;
use fleetlog_tests::unique_name;

/// Where the tour's commands expect the API.
const TOUR_API: &str = "http://127.0.0.1:8080";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `sh` block of `markdown`, in order, without the `make run` line.
fn shell_blocks(markdown: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, "make run") => script.push_str("# make run: the stack the test started\n"),
            (true, text) => {
                script.push_str(text);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

#[test]
fn the_tour_keeps_make_run_out_and_every_other_command_in() {
    let tour = std::fs::read_to_string(repo().join("docs/tour.md")).expect("docs/tour.md");
    let script = shell_blocks(&tour);
    assert!(script.contains("# make run: the stack the test started"));
    for command in [
        "login()",
        "vehicle_status.json",
        "fleetlog trace",
        "fleetlog export",
        "duckdb",
    ] {
        assert!(script.contains(command), "{command} in the tour");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_the_tour_runs_and_shows_what_it_promises() {
    let python = python();
    let args = ["--scooters", "24", "--riders", "2", "--ride-s", "3"];
    let extra = ["--pause-s", "2", "--interval-s", "1"];
    let run = demo::start(900, &[&args[..], &extra[..]].concat()).await;
    read_until(&run.stdout, "riders ", Duration::from_secs(60));
    // A reader starts the tour long after `make run`; here the first rider must have signed
    // up before the tour logs in as them.
    read_until(
        &run.stderr,
        "rider-1@demo.fleetlog.dev",
        Duration::from_secs(60),
    );
    // And the fleet has reported since its registration (the tour's GBFS count).
    demo::wait_until_gbfs_lists(&run.api, 20, Duration::from_secs(90)).await;

    let tour = std::fs::read_to_string(repo().join("docs/tour.md")).expect("docs/tour.md");
    let script = shell_blocks(&tour).replace(TOUR_API, &run.api);
    let dir = std::env::temp_dir().join(unique_name("fleetlog-tour"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("tour.sh"), &script).expect("script");
    let bins = [
        python.parent().expect("venv bin").to_path_buf(),
        fleetlog_bin().parent().expect("target dir").to_path_buf(),
    ];
    let path = std::env::join_paths(bins.iter().cloned().chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let s = &run.app.settings;
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["300", "bash", "-euo", "pipefail", "tour.sh"])
        .current_dir(&dir)
        .env("PATH", path)
        .env("DATABASE_URL", &s.database_url)
        .env("KAFKA_BROKERS", &s.kafka.brokers)
        .env("SCHEMA_REGISTRY_URL", &s.schema_registry_url)
        .env("FLEETLOG_HTTP__API_ADDR", &s.http.api_addr)
        .env("FLEETLOG_HTTP__REGISTRY_ADDR", &s.http.registry_addr);
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("joined")
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the tour failed ({}):\n{stdout}\n{stderr}",
        output.status
    );

    eprintln!("{stdout}");
    // 2: the operator logged in.
    assert!(
        stdout.contains(r#"{"email":"operator@demo.fleetlog.dev","role":"admin"}"#),
        "{stdout}"
    );
    // 3: GBFS lists the fleet; both zones.
    let listed = stdout
        .lines()
        .find_map(|l| l.trim().parse::<u32>().ok())
        .expect("the GBFS count");
    assert!(listed >= 20, "GBFS listed {listed}\n{stdout}");
    assert!(stdout.contains("SERVICE_AREA  Central Seoul"), "{stdout}");
    assert!(stdout.contains("NO_PARKING  Seoul Plaza"), "{stdout}");
    // 4: an ended ride with its fare.
    assert!(
        stdout.contains("\"ride_id\"") && stdout.contains("\"fare_minor\""),
        "{stdout}"
    );
    // 5: the trace from the rider's command to the scooter's reply.
    for topic in [
        "app.commands.v1",
        "scooter.downlink.v1",
        "scooter.replies.v1",
    ] {
        assert!(stdout.contains(topic), "{topic} in the trace:\n{stdout}");
    }
    // 6: the export, and DuckDB's answers.
    assert!(stdout.contains("exported "), "{stdout}");
    assert!(
        stdout.contains("revenue") && stdout.contains("currency"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("│     0 │"),
        "no rides in the export:\n{stdout}"
    );
    assert!(
        stdout.contains("avg_battery_pct") && stdout.contains("scooters"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
