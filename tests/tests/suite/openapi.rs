//! `/openapi.json` against the live API: the document passes `openapi-spec-validator`, and
//! `schemathesis` (valid and invalid requests generated from it, bounded in examples)
//! finds no 5xx and no answer that contradicts it — status code, content type, headers,
//! body — and no route documented with the bearer token that answers without it, over a
//! fleet projected by the real fleet and rides projections.
//!
//! Two runs: an admin token over every operation (rider-only routes answer it 403, as
//! documented), then a rider token over the rider routes. `/v1/stream` is left out: an SSE
//! answer never ends, and schemathesis would wait on it.
//!
//! Needs the broker (`make test` starts Apache Kafka), PostgreSQL (`DATABASE_URL`) and the Python tools of
//! `tests/python/requirements.txt` (`TEST_PYTHON`, or `tests/python/.venv/bin/python`).
//! `OPENAPI_CONTRACT_SEED` and `OPENAPI_CONTRACT_EXAMPLES` change the run.

use std::path::Path;
use std::time::{Duration, Instant};

use fleetlog_api::auth::{AuthSettings, Role};
use fleetlog_schemas::events::{
    FleetEventBody, GeoPoint, RideEnded, RideRequested, RideStarted, ZoneKind,
};
use fleetlog_tests::python::python;
use fleetlog_tests::test_stack::{LAT, LON, Projected, T0, TestStack};
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "openapi-test-secret-of-enough-bytes";
/// The longest the contract run may take before it counts as failed.
const BUDGET: Duration = Duration::from_secs(150);

/// Run `contract_openapi.py` against `base` with `token`; its exit status and output.
async fn contract(base: &str, token: &str, extra: &[&str]) -> (bool, String) {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/contract_openapi.py");
    let seed = std::env::var("OPENAPI_CONTRACT_SEED").unwrap_or_else(|_| "1".into());
    let examples = std::env::var("OPENAPI_CONTRACT_EXAMPLES").unwrap_or_else(|_| "20".into());
    let scratch = std::env::temp_dir().join(fleetlog_tests::unique_name("fleetlog-openapi"));
    std::fs::create_dir_all(&scratch).unwrap();
    let log = scratch.join("contract.log");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .args(["--base", base, "--token", token])
        .args(["--seed", &seed, "--max-examples", &examples])
        .args(extra)
        // schemathesis keeps state in `.schemathesis/` of its working directory.
        .current_dir(&scratch)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    // The API answers on this runtime: wait without blocking it.
    let deadline = Instant::now() + BUDGET;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the contract run took longer than {BUDGET:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&scratch);
    (status.success(), text)
}

/// Until the lineage projection has a live version (its tables exist).
async fn wait_for_lineage(pool: &sqlx::PgPool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live: Option<i32> = sqlx::query_scalar(
            "SELECT version FROM projection_versions WHERE projection = 'lineage' AND state = 'live'",
        )
        .fetch_optional(pool)
        .await
        .unwrap();
        if live.is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the lineage projection never went live"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn account(pool: &sqlx::PgPool, role: &str, id: Uuid) -> Uuid {
    sqlx::query("INSERT INTO accounts (id, email, password_hash, role) VALUES ($1, $2, 'x', $3)")
        .bind(id)
        .bind(format!("{id}@example.com"))
        .bind(role)
        .execute(pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn the_live_document_is_valid_and_the_api_keeps_to_it_under_generated_requests() {
    let mut s = TestStack::builder()
        .projection(Projected::Fleet)
        .projection(Projected::Rides)
        // The lineage projection too, so that traces answer (404 or 200) as in production.
        .projection(Projected::Lineage)
        .start()
        .await;
    let mut vehicles = Vec::new();
    for i in 0..3_u8 {
        let vehicle = Uuid::new_v4();
        let battery = [Some(80), Some(10), None][usize::from(i)];
        s.scooter(vehicle, &device(i), "Ninebot Max", battery).await;
        vehicles.push(vehicle);
    }
    s.zone(
        Uuid::new_v4(),
        T0,
        ZoneKind::ServiceArea,
        "Centre",
        100_000,
        None,
    )
    .await;
    let rider = Uuid::new_v4();
    let ride = Uuid::new_v4();
    ridden(&mut s, vehicles[1], ride, rider).await;
    s.settle().await;
    wait_for_lineage(&s.app.pool).await;

    let auth = AuthSettings {
        jwt_secret: Some(SECRET.into()),
        // The generated requests come faster than the default per-caller and login limits
        // allow (and a login answered 429 would test nothing).
        requests_per_s: 0,
        login_max_failures_per_email: 1_000_000,
        login_max_failures_per_ip: 1_000_000,
        ..AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&s.app, auth);
    let admin = account(&s.app.pool, "admin", Uuid::new_v4()).await;
    account(&s.app.pool, "rider", rider).await;
    let admin_token = state.auth.access_token(admin, Role::Admin).unwrap();
    let rider_token = state.auth.access_token(rider, Role::Rider).unwrap();
    let (base, _stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;

    // Resources that exist, which generated ids never hit.
    let command = reserve(&base, &rider_token, vehicles[0]).await;
    wait_for_trace(&base, &admin_token, &command).await;
    let (v0, v1) = (vehicles[0].to_string(), vehicles[1].to_string());
    let (ride, device) = (ride.to_string(), device(0));
    let qr = format!("QR-{device}");
    let known = json!([
        {"token": &admin_token, "method": "GET", "path": "/v1/me"},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/vehicles"},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/vehicles/{vehicle_id}",
         "path_parameters": {"vehicle_id": &v0}},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/vehicles/{vehicle_id}",
         "path_parameters": {"vehicle_id": &v1}},
        {"token": &admin_token, "method": "GET",
         "path": "/v1/admin/vehicles/{vehicle_id}/telemetry",
         "path_parameters": {"vehicle_id": &v0}, "query": {"minutes": 1440}},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/devices/{device_id}",
         "path_parameters": {"device_id": &device}},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/trace/{id}",
         "path_parameters": {"id": &command}},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/alarms"},
        {"token": &admin_token, "method": "GET", "path": "/v1/admin/projections"},
        {"token": &admin_token, "method": "GET", "path": "/v1/rides/{ride_id}",
         "path_parameters": {"ride_id": &ride}},
        {"token": &rider_token, "method": "GET", "path": "/v1/me/rides"},
        {"token": &rider_token, "method": "GET", "path": "/v1/commands/{command_id}",
         "path_parameters": {"command_id": &command}},
        {"token": &rider_token, "method": "GET", "path": "/v1/vehicles/by-qr/{qr_code}",
         "path_parameters": {"qr_code": &qr}},
        {"token": &rider_token, "method": "GET", "path": "/v1/vehicles/nearby",
         "query": {"lat": f64::from(LAT) / 1e7, "lon": f64::from(LON) / 1e7, "radius_m": 5000}},
    ]);
    let scratch = std::env::temp_dir().join(fleetlog_tests::unique_name("fleetlog-openapi"));
    std::fs::create_dir_all(&scratch).unwrap();
    let known_file = scratch.join("known.json");
    std::fs::write(&known_file, known.to_string()).unwrap();
    let known_arg = known_file.to_str().unwrap();

    let started = Instant::now();
    let admin_run = ["--exclude-path", "/v1/stream", "--known", known_arg];
    let (ok, report) = contract(&base, &admin_token, &admin_run).await;
    println!("admin run ({:?}):\n{report}", started.elapsed());
    assert!(ok, "admin run:\n{report}");
    assert!(
        report.contains("is a valid OpenAPI 3.1.0 document"),
        "{report}"
    );
    assert!(
        report.contains("known resources kept to the document: 14 of 14"),
        "{report}"
    );

    let started = Instant::now();
    let rider_routes = [
        "--include-path-regex",
        "^/v1/(vehicles/|me|rides/|commands/)",
    ];
    let (ok, report) = contract(&base, &rider_token, &rider_routes).await;
    println!("rider run ({:?}):\n{report}", started.elapsed());
    assert!(ok, "rider run:\n{report}");
    let _ = std::fs::remove_dir_all(&scratch);

    nul_bytes_are_client_errors(&base, &admin_token).await;
}

fn device(i: u8) -> String {
    format!("35630704244{i:04}")
}

/// A ride of `rider` on `vehicle`, requested, started and ended.
async fn ridden(s: &mut TestStack, vehicle: Uuid, ride: Uuid, rider: Uuid) {
    let at = |d: i32| GeoPoint {
        lat_e7: LAT + d,
        lon_e7: LON + d,
    };
    let requested = RideRequested {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        reservation_id: None,
        unlock_command_id: Uuid::new_v4(),
    };
    s.fleet(
        vehicle,
        T0 + 30_000,
        FleetEventBody::RideRequested(requested),
    )
    .await;
    let started = RideStarted {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        start_position: Some(at(0)),
    };
    s.fleet(vehicle, T0 + 40_000, FleetEventBody::RideStarted(started))
        .await;
    let ended = RideEnded {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        duration_ms: 360_000,
        distance_m: 333,
        fare_minor: 250,
        currency: "EUR".into(),
        end_position: Some(at(3_000)),
        forced: false,
    };
    s.fleet(vehicle, T0 + 400_000, FleetEventBody::RideEnded(ended))
        .await;
}

/// The rider reserves `vehicle`; the command id.
async fn reserve(base: &str, token: &str, vehicle: Uuid) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/vehicles/{vehicle}/reserve"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    body["command_id"].as_str().unwrap().to_owned()
}

/// Until the lineage projection has recorded `id`.
async fn wait_for_trace(base: &str, token: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let http = reqwest::Client::new();
    loop {
        let response = http
            .get(format!("{base}/v1/admin/trace/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never traced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// NUL in free text, which PostgreSQL cannot store and schemathesis seldom generates:
/// each answered 4xx in the §9 shape (each was a 500 once).
async fn nul_bytes_are_client_errors(base: &str, token: &str) {
    let http = reqwest::Client::new();
    let polygon = json!({"type": "Polygon",
        "coordinates": [[[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.1]]]});
    let requests = [
        (
            "POST",
            "/v1/auth/login",
            Some(json!({"email": "a\u{0}b@example.com", "password": "x"})),
        ),
        ("GET", "/v1/vehicles/by-qr/QR%00", None),
        ("GET", "/v1/admin/devices/35630%00", None),
        (
            "POST",
            "/v1/admin/provider-tokens",
            Some(json!({"name": "city\u{0}"})),
        ),
        (
            "POST",
            "/v1/admin/zones",
            Some(
                serde_json::json!({"kind": "NO_PARKING", "name": "Park\u{0}", "geometry": polygon}),
            ),
        ),
    ];
    for (method, path, body) in requests {
        let mut request = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_client_error(), "{method} {path}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
    }
}
