//! The fleet as riders and operators query it, against `fleetlog up` with simulated
//! scooters: vehicles nearby (available ones, nearest first, with battery and range), by
//! QR code; the operator's fleet list with filters and cursors, vehicle and device detail
//! with recent commands, and the trace of a command as JSON.

use std::time::{Duration, Instant};

use fleetlog_api::auth::Role;
use fleetlog_tests::test_stack::{ID_BASE, TestStack};
use serde_json::{Value, json};

#[tokio::test]
async fn riders_find_available_scooters_nearby_and_operators_see_the_fleet_in_detail() {
    let stack = TestStack::builder().product(3).start().await;
    let (_, operator) = stack.token(Role::Operator);
    let (_, rider) = stack.token(Role::Rider);
    let mut vehicles = Vec::new();
    for i in 0..3 {
        vehicles.push(stack.register(&operator, i).await);
    }
    stack.wait_reporting(&operator, 3).await;
    // One of them is reserved: it disappears from the nearby search.
    assert_eq!(
        stack.reserve_when_online(&rider, &vehicles[0]).await["status"],
        "accepted"
    );
    let (status, detail) = stack
        .get(&operator, &format!("/v1/admin/vehicles/{}", vehicles[1]))
        .await;
    assert_eq!(status, 200, "{detail}");
    let (lat, lon) = (
        detail["position"]["lat"].as_f64().unwrap(),
        detail["position"]["lon"].as_f64().unwrap(),
    );
    assert_eq!(detail["device_id"], (ID_BASE + 1).to_string());
    assert_eq!(detail["recent_commands"][0]["kind"], "register_vehicle");
    assert_eq!(detail["recent_commands"][0]["status"], "accepted");

    // Nearby, from the second scooter's position: it comes first, at distance ~0, and
    // nothing is nearer; the reserved one is not found even standing on it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let near = loop {
        let path = format!("/v1/vehicles/nearby?lat={lat}&lon={lon}&radius_m=5000&limit=10");
        let (status, page) = stack.get(&rider, &path).await;
        assert_eq!(status, 200, "{page}");
        // The reservation was decided; the fleet read model shows it a moment later.
        let reserved_shown = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["vehicle_id"] == vehicles[0].as_str());
        if page["items"][0]["vehicle_id"] == vehicles[1].as_str() && !reserved_shown {
            break page;
        }
        assert!(Instant::now() < deadline, "nearby never settled: {page}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let items = near["items"].as_array().unwrap();
    assert!(items[0]["distance_m"].as_i64().unwrap() < 100, "{near}");
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["distance_m"].as_i64() <= w[1]["distance_m"].as_i64()),
        "nearest first: {near}"
    );
    assert!(
        items
            .iter()
            .all(|v| v["vehicle_id"] != vehicles[0].as_str()),
        "{near}"
    );
    assert!(items[0]["battery_pct"].as_i64().unwrap() >= 40);
    assert!(items[0]["range_m"].as_i64().unwrap() > 0);
    let (_, reserved_one) = stack
        .get(&operator, &format!("/v1/admin/vehicles/{}", vehicles[0]))
        .await;
    let path = format!(
        "/v1/vehicles/nearby?lat={}&lon={}&radius_m=50",
        reserved_one["position"]["lat"], reserved_one["position"]["lon"]
    );
    let (_, page) = stack.get(&rider, &path).await;
    let found: Vec<&Value> = page["items"].as_array().unwrap().iter().collect();
    assert!(
        found
            .iter()
            .all(|v| v["vehicle_id"] != vehicles[0].as_str()),
        "{page}"
    );

    let (status, by_qr) = stack.get(&rider, "/v1/vehicles/by-qr/QR-2").await;
    assert_eq!(
        (status, by_qr["vehicle_id"].as_str()),
        (200, Some(vehicles[2].as_str()))
    );
    let (status, _) = stack.get(&rider, "/v1/vehicles/by-qr/NOPE").await;
    assert_eq!(status, 404);
    let (status, err) = stack.get(&rider, "/v1/vehicles/nearby?lat=91&lon=0").await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("lat")));
    let (status, _) = stack.get(&rider, "/v1/admin/vehicles").await;
    assert_eq!(status, 403);

    // The fleet list: filters and a cursor that walks every vehicle once.
    let (_, reserved) = stack
        .get(&operator, "/v1/admin/vehicles?state=reserved")
        .await;
    let reserved: Vec<&Value> = reserved["items"].as_array().unwrap().iter().collect();
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0]["vehicle_id"], vehicles[0].as_str());
    let mut seen = Vec::new();
    let mut path = "/v1/admin/vehicles?limit=2".to_owned();
    loop {
        let (status, page) = stack.get(&operator, &path).await;
        assert_eq!(status, 200, "{page}");
        for v in page["items"].as_array().unwrap() {
            seen.push(v["vehicle_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/admin/vehicles?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut want = vehicles.clone();
    want.sort();
    assert_eq!(seen, want);
    let (status, err) = stack
        .get(&operator, "/v1/admin/vehicles?state=flying")
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("state"))
    );

    // A small zone around the second scooter: the zones list shows it, and the fleet list
    // filtered by it holds that scooter alone (scooters stand still while locked).
    let (d_lat, d_lon) = (0.0003, 0.0004); // about 35 m each way
    let ring = json!([
        [lon - d_lon, lat - d_lat],
        [lon + d_lon, lat - d_lat],
        [lon + d_lon, lat + d_lat],
        [lon - d_lon, lat + d_lat],
        [lon - d_lon, lat - d_lat]
    ]);
    let zone_body = json!({"kind": "NO_PARKING", "name": "around QR-1",
        "geometry": {"type": "Polygon", "coordinates": [ring]}});
    let (status, created) = stack
        .post(&operator, "/v1/admin/zones", Some(zone_body))
        .await;
    assert_eq!(status, 202, "{created}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let zone = loop {
        let (status, zones) = stack.get(&operator, "/v1/admin/zones").await;
        assert_eq!(status, 200, "{zones}");
        if let Some(z) = zones["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["name"] == "around QR-1")
        {
            break z.clone();
        }
        assert!(Instant::now() < deadline, "zone never listed: {zones}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(zone["kind"], "NO_PARKING");
    assert_eq!(zone["rings"][0].as_array().unwrap().len(), 5, "{zone}");
    let zone_id = zone["zone_id"].as_str().unwrap();
    let (status, inside) = stack
        .get(&operator, &format!("/v1/admin/vehicles?zone={zone_id}"))
        .await;
    assert_eq!(status, 200, "{inside}");
    let inside: Vec<&str> = inside["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vehicle_id"].as_str().unwrap())
        .collect();
    assert_eq!(inside, vec![vehicles[1].as_str()]);
    let (status, err) = stack
        .get(
            &operator,
            &format!("/v1/admin/vehicles?zone={}", uuid::Uuid::nil()),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("zone"))
    );
    let (status, _) = stack.get(&rider, "/v1/admin/zones").await;
    assert_eq!(status, 403);

    // A device, and one not registered to any vehicle.
    let (status, device) = stack
        .get(&operator, &format!("/v1/admin/devices/{}", ID_BASE + 2))
        .await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["registered"], true);
    assert_eq!(device["online"], true);
    // Degrees and RFC 3339 times, as in every /v1 answer; not the read model's columns.
    let lat = device["position"]["lat"].as_f64().expect("lat in degrees");
    let lon = device["position"]["lon"].as_f64().expect("lon in degrees");
    assert!(
        (36.5..38.5).contains(&lat) && (126.0..128.0).contains(&lon),
        "{device}"
    );
    assert!(device["last_report_received_at"].is_string(), "{device}");
    for column in ["lat_e7", "lon_e7", "received_at_ms", "updated_at"] {
        assert!(device.get(column).is_none(), "{column} in {device}");
    }
    let (status, _) = stack
        .get(&operator, "/v1/admin/devices/000000000000000")
        .await;
    assert_eq!(status, 404);

    // The trace of the reservation command, as JSON.
    let command = detail_command(&stack, &operator, &vehicles[0]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, trace) = stack
            .get(&operator, &format!("/v1/admin/trace/{command}"))
            .await;
        assert_eq!(status, 200, "{trace}");
        assert_eq!(trace["roots"][0]["topic"], "app.commands.v1");
        // The decision joins the command's chain once the lineage has read it.
        if !trace["roots"][0]["children"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "trace without a decision: {trace}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, err) = stack.get(&operator, "/v1/admin/trace/not-an-id").await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("id")));
}

/// The newest command of `vehicle` (its reservation).
async fn detail_command(stack: &TestStack, token: &str, vehicle: &str) -> String {
    let (_, detail) = stack
        .get(token, &format!("/v1/admin/vehicles/{vehicle}"))
        .await;
    detail["recent_commands"][0]["command_id"]
        .as_str()
        .unwrap()
        .to_owned()
}
