//! The write side end to end, against `fleetlog up` and `fleetlog simulate` as real
//! processes on a broker of their own: a rider reserves, unlocks, rides and parks a
//! simulated scooter through the HTTP API and sees the fare; `fleetlog trace` shows the
//! command's chain down to the device's reply; fifty riders racing for one scooter get one
//! ride; an unlock the scooter never confirms fails and frees scooter and rider.

use std::time::{Duration, Instant};

use fleetlog_api::auth::Role;
use fleetlog_ingest::protocol::Protocol;
use fleetlog_ingest::simulator::SimScooter;
use fleetlog_tests::process::fleetlog;
use fleetlog_tests::test_stack::{ID_BASE, TestStack, rider_login};
use serde_json::{Value, json};

#[tokio::test]
async fn a_rider_reserves_unlocks_rides_and_parks_a_simulated_scooter_and_sees_the_fare() {
    let stack = TestStack::builder().product(1).start().await;
    let (_, operator) = stack.token(Role::Operator);
    let vehicle = stack.register(&operator, 0).await;
    let (_, rider) = rider_login(&stack).await;

    let reserved = stack.reserve_when_online(&rider, &vehicle).await;
    assert_eq!(reserved["status"], "accepted", "{reserved}");

    let started_at = Instant::now();
    let (start_id, start) = stack
        .run(
            &rider,
            &format!("/v1/vehicles/{vehicle}/start-ride"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        start["status"], "completed",
        "the scooter confirmed the unlock: {start}"
    );
    let unlock_latency = started_at.elapsed();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, end) = stack
        .run(&rider, &format!("/v1/vehicles/{vehicle}/end-ride"), None)
        .await;
    assert_eq!(
        end["status"], "completed",
        "the scooter confirmed the lock: {end}"
    );

    // The ride, priced: 100 to unlock + 25 per started minute (the defaults).
    let deadline = Instant::now() + Duration::from_secs(30);
    let ride = loop {
        let (status, page) = stack.get(&rider, "/v1/me/rides").await;
        assert_eq!(status, 200, "{page}");
        if page["items"][0]["state"] == "ended" {
            break page["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "ride never ended: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Read from the rides read model: the answer says how old its data may be.
    let mine = stack
        .http()
        .get(format!("{}/v1/me/rides", stack.api()))
        .bearer_auth(&rider)
        .send()
        .await
        .unwrap();
    let age: i64 = mine.headers()["x-fleetlog-data-age-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (0..60_000).contains(&age),
        "a caught-up rides read model is fresh: {age} ms"
    );
    assert_eq!(ride["vehicle_id"], vehicle.as_str());
    assert_eq!(ride["fare_minor"], 125, "{ride}");
    assert_eq!(ride["currency"], "EUR");
    assert!(ride["duration_ms"].as_i64().unwrap() >= 2_000, "{ride}");
    let (status, detail) = stack
        .get(
            &rider,
            &format!("/v1/rides/{}", ride["ride_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((status, &detail["fare_minor"]), (200, &json!(125)));
    // The detail's route: positions the scooter reported while it was ridden.
    let deadline = Instant::now() + Duration::from_secs(20);
    let route = loop {
        let (_, detail) = stack
            .get(
                &rider,
                &format!("/v1/rides/{}", ride["ride_id"].as_str().unwrap()),
            )
            .await;
        let route = detail["route"].as_array().cloned().unwrap_or_default();
        if !route.is_empty() {
            break route;
        }
        assert!(Instant::now() < deadline, "no route: {detail}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        route
            .iter()
            .all(|p| (37.0..38.2).contains(&p["lat"].as_f64().unwrap())),
        "{route:?}"
    );
    // The reservation became this ride.
    let (status, reservations) = stack.get(&rider, "/v1/me/reservations").await;
    assert_eq!(status, 200, "{reservations}");
    assert_eq!(
        reservations["items"][0]["state"], "converted",
        "{reservations}"
    );
    assert_eq!(reservations["items"][0]["ride_id"], ride["ride_id"]);
    let (status, err) = stack.get(&rider, "/v1/me/reservations?state=lost").await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("state"))
    );
    eprintln!("start-ride → completed in {unlock_latency:?}");

    // The command's chain: command → decision → downlink → device reply → ride started.
    let trace = trace_json(&stack, &start_id).await;
    let chain = flatten(&trace["roots"][0]);
    let topics: Vec<&str> = chain.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(topics[0], "app.commands.v1", "{topics:?}");
    for want in [
        "fleet.events.v1",
        "scooter.downlink.v1",
        "scooter.replies.v1",
    ] {
        assert!(topics.contains(&want), "{want} missing from {topics:?}");
    }
    // Something on fleet.events.v1 (RideStarted) hangs below the downlink.
    let downlink = find(&trace["roots"][0], "scooter.downlink.v1").unwrap();
    let below: Vec<String> = flatten(downlink).into_iter().map(|(t, _)| t).collect();
    assert!(below.iter().any(|t| t == "fleet.events.v1"), "{below:?}");
}

async fn trace_json(stack: &TestStack, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = fleetlog(&stack.app.settings)
            .args(["trace", id, "--json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            let trace: Value = serde_json::from_slice(&out.stdout).unwrap();
            let n = flatten(&trace["roots"][0]).len();
            // command, accepted, requested, downlink, 2 replies, started, state change
            if n >= 6 {
                return trace;
            }
        }
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(
            Instant::now() < deadline,
            "trace of {id} never complete: {text} {errors}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (topic, type) of a trace node and all below it, depth first.
fn flatten(node: &Value) -> Vec<(String, String)> {
    let mut out = vec![(
        node["topic"].as_str().unwrap_or_default().to_owned(),
        node["event_type"].as_str().unwrap_or_default().to_owned(),
    )];
    for child in node["children"].as_array().into_iter().flatten() {
        out.extend(flatten(child));
    }
    out
}

fn find<'a>(node: &'a Value, topic: &str) -> Option<&'a Value> {
    if node["topic"] == topic {
        return Some(node);
    }
    node["children"]
        .as_array()?
        .iter()
        .find_map(|child| find(child, topic))
}

#[tokio::test]
async fn fifty_riders_racing_for_one_scooter_get_exactly_one_ride() {
    let stack = TestStack::builder().product(1).start().await;
    let (_, operator) = stack.token(Role::Operator);
    let vehicle = stack.register(&operator, 0).await;
    // Wait until the scooter is bookable (then cancel: the race starts from free).
    let (_, probe) = stack.token(Role::Rider);
    assert_eq!(
        stack.reserve_when_online(&probe, &vehicle).await["status"],
        "accepted"
    );
    let (_, cancel) = stack
        .run(
            &probe,
            &format!("/v1/vehicles/{vehicle}/cancel-reservation"),
            None,
        )
        .await;
    assert_eq!(cancel["status"], "accepted", "{cancel}");

    let riders: Vec<String> = (0..50).map(|_| stack.token(Role::Rider).1).collect();
    let path = format!("/v1/vehicles/{vehicle}/start-ride");
    let posts = riders.iter().map(|token| stack.post(token, &path, None));
    let accepted = futures::future::join_all(posts).await;
    let ids: Vec<(String, String)> = accepted
        .into_iter()
        .zip(&riders)
        .map(|((status, body), token)| {
            assert_eq!(status, 202, "{body}");
            (
                token.clone(),
                body["command_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut outcomes = Vec::new();
    for (token, id) in &ids {
        let view = stack.settled(token, id).await;
        outcomes.push(view);
    }
    let winners = outcomes
        .iter()
        .filter(|v| v["status"] == "completed" || v["status"] == "accepted")
        .count();
    let rejected: Vec<&Value> = outcomes
        .iter()
        .filter(|v| v["status"] == "rejected")
        .collect();
    assert_eq!(winners, 1, "exactly one ride: {outcomes:?}");
    assert_eq!(rejected.len(), 49);
    assert!(
        rejected
            .iter()
            .all(|v| v["reason"]["code"].is_string() && v["reason"]["message"].is_string()),
        "every rejection says why: {rejected:?}"
    );
}

#[tokio::test]
async fn an_unlock_the_scooter_never_confirms_fails_and_frees_scooter_and_rider() {
    let stack = TestStack::builder().product(0).start().await;
    // A scooter that reports but never answers or obeys a command.
    let device = (ID_BASE + 77).to_string();
    let mut mute = SimScooter::new(Protocol::Teltonika, device.clone(), 3);
    let addr = stack.app.settings.gateway.teltonika_addr.clone();
    let reporter = tokio::spawn(async move {
        mute.connect(&addr).await.unwrap();
        mute.login().await.unwrap();
        loop {
            let _ = mute.send_report().await;
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    });
    let (_, operator) = stack.token(Role::Operator);
    let vehicle = stack.register(&operator, 77).await;
    let (_, rider) = stack.token(Role::Rider);
    assert_eq!(
        stack.reserve_when_online(&rider, &vehicle).await["status"],
        "accepted"
    );

    let (_, start) = stack
        .run(&rider, &format!("/v1/vehicles/{vehicle}/start-ride"), None)
        .await;
    assert_eq!(start["status"], "failed", "{start}");
    assert_eq!(start["reason"]["message"], "unlock_timed_out", "{start}");

    // Both are free again: the same rider can book the same scooter.
    let (_, again) = stack
        .run(&rider, &format!("/v1/vehicles/{vehicle}/reserve"), None)
        .await;
    assert_eq!(again["status"], "accepted", "{again}");
    reporter.abort();
}
