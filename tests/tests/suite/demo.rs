//! `fleetlog demo` beside `fleetlog up`, as `make run` starts them, on a broker of their
//! own: within 60 s GBFS `vehicle_status` lists at least 20 vehicles; the banner names the
//! console login, the API docs, GBFS, MDS with a working provider token, and metrics; the
//! riders' rides reach the MDS trips read model and `/mds/trips` serves them once their
//! hour has closed (here with `FLEETLOG_MDS__HOUR_CLOSE_DELAY_S=0`: `404 hour_not_past`
//! before the hour ends, `200` with the trip after); a low-battery scooter is refused
//! (`battery_low`); and
//! a second setup reuses everything instead of failing on duplicates.
//!
//! Needs the broker tools (`tests/src/broker.rs`), PostgreSQL and the built binary.

use std::time::{Duration, Instant};

use fleetlog_tests::demo::{self, read_until};
use fleetlog_tests::process::fleetlog;
use serde_json::Value;

const SCOOTERS: &str = "24";
const HOUR_MS: i64 = 3_600_000;

async fn get(url: &str, token: Option<&str>, mds: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if mds {
        req = req.header("Accept", fleetlog_api::mds::MEDIA_TYPE);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_run_is_a_living_demo_with_vehicles_rides_and_mds_trips() {
    let args = ["--scooters", SCOOTERS, "--riders", "2", "--ride-s", "3"];
    let mut run = demo::start(
        0,
        &[&args[..], &["--pause-s", "2", "--interval-s", "1"]].concat(),
    )
    .await;
    let (api, started) = (run.api.clone(), run.started);
    let (stdout, stderr) = (&run.stdout, &run.stderr);

    // The banner: where to look, the login, an MDS token.
    let banner = read_until(stdout, "riders ", Duration::from_secs(60));
    for expected in [
        &format!("console     {api}/console/"),
        "log in as operator@demo.fleetlog.dev / fleetlog-demo",
        &format!("API docs    {api}/openapi.json"),
        &format!("GBFS        {api}/gbfs/gbfs.json"),
        &format!("MDS         {api}/mds/vehicles"),
        &format!("metrics     {api}/metrics"),
        "DEMO-0000…DEMO-0023 (24 registered now, 0 before; 2 with a low battery)",
    ] {
        assert!(banner.contains(expected), "{expected:?} in\n{banner}");
    }
    let provider = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("Authorization: Bearer "))
        .expect("a provider token in the banner")
        .to_owned();
    let (status, vehicles) = get(&format!("{api}/mds/vehicles"), Some(&provider), true).await;
    assert_eq!(status, 200, "the banner's provider token works: {vehicles}");

    // Within 60 s of the start, GBFS lists at least 20 vehicles.
    let left = Duration::from_secs(60).saturating_sub(started.elapsed());
    fleetlog_tests::demo::wait_until_gbfs_lists(&api, 20, left).await;

    // A low-battery scooter (the first rider scans one; others find them nearby) is
    // refused for its battery.
    let refused = read_until(stderr, "battery_low", Duration::from_secs(60));
    let line = refused.lines().last().unwrap_or_default();
    assert!(line.contains("demo rider refused"), "{line}");

    // Rides end and become MDS trips.
    let deadline = Instant::now() + Duration::from_secs(180);
    let read_models = fleetlog_api::read_model::ReadModels::new(run.app.pool.clone());
    let trip = loop {
        let now = chrono::Utc::now().timestamp_millis();
        let trips = fleetlog_api::mds::read::trips(&read_models, now - 2 * HOUR_MS, now + HOUR_MS)
            .await
            .expect("trips read model");
        if let Some(trip) = trips.into_iter().next() {
            break trip;
        }
        assert!(Instant::now() < deadline, "no trip within 3 minutes");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let hour = trip.end_ms - trip.end_ms.rem_euclid(HOUR_MS);
    let label = chrono::DateTime::from_timestamp_millis(hour)
        .expect("an hour")
        .format("%Y-%m-%dT%H");
    let url = format!("{api}/mds/trips?end_time={label}");
    let (status, body) = get(&url, Some(&provider), true).await;
    if chrono::Utc::now().timestamp_millis() < hour + HOUR_MS {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("hour_not_past")),
            "the trip's hour is not over yet: {body}"
        );
    } else {
        assert_eq!(status, 200, "{body}");
        let ids: Vec<&str> = body["trips"]
            .as_array()
            .expect("trips")
            .iter()
            .filter_map(|t| t["trip_id"].as_str())
            .collect();
        assert!(ids.contains(&trip.ride_id.to_string().as_str()), "{body}");
    }

    // A second setup reuses what exists.
    let again = fleetlog(&run.app.settings)
        .args(["demo", "--setup-only", "--scooters", SCOOTERS])
        .output()
        .expect("fleetlog demo --setup-only runs");
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(text.contains("(0 registered now, 24 before;"), "{text}");
    let _ = run.demo.terminate(Duration::from_secs(15));
}
