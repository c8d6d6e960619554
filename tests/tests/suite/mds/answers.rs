//! Every MDS endpoint's live answers for one fleet: valid against the spec, in its units,
//! with trips and states that follow its rules, hours not over, not final or before we
//! operated, required parameters, paging, and who may call (`Accept`, tokens).

use std::collections::BTreeSet;

use chrono::Utc;
use fleetlog_api::auth::{AuthSettings, Role};
use fleetlog_api::mds::{MEDIA_TYPE, MdsConfig};
use fleetlog_runtime::settings::MdsSettings;
use fleetlog_schemas::events::{
    Actor, ActorRole, FleetEventBody, GeoPoint, ReservationCancelled, ReservationMade, RideEnded,
    RideRequested, RideStarted, VehicleState,
};
use fleetlog_tests::test_stack::{LAT, LON, Projected, T0, TestStack};
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::{Client, SECRET, hour_of, validate};

#[tokio::test]
async fn mds_answers_validate_against_the_spec_and_follow_its_rules() {
    let mut s = TestStack::builder()
        .projection(Projected::Fleet)
        .projection(Projected::Rides)
        .start()
        .await;
    let (riding, idle) = (Uuid::new_v4(), Uuid::new_v4());
    let (dev_riding, dev_idle) = ("359000000000101", "359000000000102");
    s.scooter(riding, dev_riding, "S9", Some(80)).await;
    s.scooter(idle, dev_idle, "S9", Some(50)).await;
    s.state(
        idle,
        T0 + 5_000,
        VehicleState::Available,
        VehicleState::OutOfService,
    )
    .await;

    // A ride in the hour of T0 on `riding`: 40 s in, 6 min long.
    let (ride, rider) = (Uuid::new_v4(), Uuid::new_v4());
    let at = |lat_off: i32| GeoPoint {
        lat_e7: LAT + lat_off,
        lon_e7: LON,
    };
    let requested = RideRequested {
        vehicle_id: riding,
        ride_id: ride,
        rider_id: rider,
        reservation_id: None,
        unlock_command_id: Uuid::new_v4(),
    };
    s.fleet(
        riding,
        T0 + 30_000,
        FleetEventBody::RideRequested(requested),
    )
    .await;
    let started = RideStarted {
        vehicle_id: riding,
        ride_id: ride,
        rider_id: rider,
        start_position: Some(at(0)),
    };
    s.fleet(riding, T0 + 40_000, FleetEventBody::RideStarted(started))
        .await;
    s.state(
        riding,
        T0 + 40_000,
        VehicleState::Available,
        VehicleState::InRide,
    )
    .await;
    for k in 1..=3 {
        s.point(
            dev_riding,
            T0 + 40_000 + k * 60_000,
            (LAT + 1_000 * i32::try_from(k).unwrap(), LON),
            18,
            Some(79),
        )
        .await;
    }
    let ended = RideEnded {
        vehicle_id: riding,
        ride_id: ride,
        rider_id: rider,
        duration_ms: 360_400,
        distance_m: 333,
        fare_minor: 250,
        currency: "EUR".into(),
        end_position: Some(at(3_000)),
        forced: false,
    };
    s.fleet(riding, T0 + 400_400, FleetEventBody::RideEnded(ended))
        .await;
    s.state(
        riding,
        T0 + 400_400,
        VehicleState::InRide,
        VehicleState::Available,
    )
    .await;

    // A reservation made and cancelled in the last minutes (for /events/recent).
    let now = Utc::now().timestamp_millis();
    let reservation = Uuid::new_v4();
    let made = ReservationMade {
        vehicle_id: riding,
        reservation_id: reservation,
        rider_id: rider,
        expires_at_ms: now + 600_000,
    };
    s.fleet(riding, now - 120_000, FleetEventBody::ReservationMade(made))
        .await;
    let cancelled = ReservationCancelled {
        vehicle_id: riding,
        reservation_id: reservation,
        rider_id: rider,
        cancelled_by: Actor {
            id: rider.to_string(),
            role: ActorRole::Rider,
        },
        reason: None,
    };
    s.fleet(
        riding,
        now - 60_000,
        FleetEventBody::ReservationCancelled(cancelled),
    )
    .await;
    s.settle().await;

    // The API: hours close at once; one vehicle per page so paging is exercised.
    let mds = MdsConfig::new(
        &MdsSettings {
            hour_close_delay_s: 0,
            page_size: 1,
            ..MdsSettings::default()
        },
        25,
    )
    .unwrap();
    let auth = AuthSettings {
        jwt_secret: Some(SECRET.into()),
        ..AuthSettings::default()
    };
    let state = fleetlog_tests::api::state(&s.app, auth).with_mds(mds.clone());
    let admin = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, role) VALUES ($1, $2, 'x', 'admin')",
    )
    .bind(admin)
    .bind(format!("{admin}@example.com"))
    .execute(&s.app.pool)
    .await
    .unwrap();
    let issued = fleetlog_api::auth::provider::issue(&s.app.pool, "city", None, admin)
        .await
        .unwrap();
    let rider_token = state.auth.access_token(rider, Role::Rider).unwrap();
    let operator_token = state.auth.access_token(admin, Role::Operator).unwrap();
    let (base, _stop) = fleetlog_tests::api::serve(fleetlog_api::router(state)).await;
    let client = Client {
        base,
        http: reqwest::Client::new(),
        token: issued.token.token.clone(),
    };

    let hour = hour_of(T0);
    let recent = format!(
        "/mds/events/recent?start_time={}&end_time={}",
        now - 600_000,
        now + 1
    );
    let paths = vec![
        "/mds/vehicles".to_owned(),
        format!("/mds/vehicles/{riding}"),
        "/mds/vehicles/status".to_owned(),
        format!("/mds/vehicles/status/{riding}"),
        format!("/mds/trips?end_time={hour}"),
        format!("/mds/events/historical?event_time={hour}"),
        recent.clone(),
        format!("/mds/telemetry?telemetry_time={hour}"),
    ];
    client.wait_for_data_age().await;
    let report = validate(&client, &paths).await;
    let bodies: Vec<&Value> = report["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["body"])
        .collect();
    let statuses: Vec<i64> = report["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    // Paging: one vehicle per page, every vehicle once, the last page's next is null.
    let vehicle_pages: Vec<&&Value> = report["responses"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&bodies)
        .filter(|(r, _)| {
            r["path"].as_str().unwrap().starts_with("/mds/vehicles")
                && !r["path"].as_str().unwrap().contains("status")
                // Not the one-vehicle lookup; a page's `after=` may name the vehicle.
                && !r["path"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("/mds/vehicles/{riding}"))
        })
        .map(|(_, b)| b)
        .collect();
    let listed: BTreeSet<String> = vehicle_pages
        .iter()
        .flat_map(|b| b["vehicles"].as_array().unwrap().iter())
        .map(|v| v["device_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from([riding.to_string(), idle.to_string()])
    );
    assert_eq!(vehicle_pages.len(), 2, "two pages of one");
    assert!(vehicle_pages.last().unwrap()["links"]["next"].is_null());

    let (_, v) = client.get(&format!("/mds/vehicles/{riding}")).await;
    let vehicle = &v["vehicles"][0];
    assert_eq!(vehicle["vehicle_id"], format!("QR-{dev_riding}"));
    assert_eq!(vehicle["vehicle_type"], "scooter_standing");
    assert_eq!(v["version"], "2.0.0");
    assert!(v["ttl"].as_i64().unwrap() <= 300_000);

    // Trips: units of the spec.
    let (_, t) = client.get(&format!("/mds/trips?end_time={hour}")).await;
    let trips = t["trips"].as_array().unwrap();
    assert_eq!(trips.len(), 1, "{t}");
    let trip = &trips[0];
    assert_eq!(trip["trip_id"], ride.to_string());
    assert_eq!(trip["device_id"], riding.to_string());
    assert_eq!(trip["start_time"], T0 + 40_000);
    assert_eq!(trip["end_time"], T0 + 400_400);
    assert_eq!(trip["duration"], 360, "seconds");
    assert_eq!(trip["distance"], 333, "metres");
    assert_eq!(trip["actual_cost"], 250, "minor units");
    assert_eq!(trip["currency"], "EUR");
    assert_eq!(trip["end_location"]["lat"], f64::from(LAT + 3_000) / 1e7);
    assert_eq!(trip["end_location"]["lng"], f64::from(LON) / 1e7);

    // Events of the hour: per vehicle in time order, the micromobility transitions.
    let (_, e) = client
        .get(&format!("/mds/events/historical?event_time={hour}"))
        .await;
    let of = |vehicle: Uuid| -> Vec<(String, String)> {
        e["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["device_id"] == vehicle.to_string())
            .map(|x| {
                (
                    x["event_types"][0].as_str().unwrap().to_owned(),
                    x["vehicle_state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        of(riding),
        vec![
            pair("provider_drop_off", "available"),
            pair("trip_start", "on_trip"),
            pair("trip_end", "available")
        ]
    );
    assert_eq!(
        of(idle),
        vec![
            pair("provider_drop_off", "available"),
            pair("maintenance", "non_operational")
        ]
    );
    for x in e["events"].as_array().unwrap() {
        if x["event_types"][0].as_str().unwrap().starts_with("trip_") {
            assert_eq!(x["trip_ids"], serde_json::json!([ride]), "{x}");
        }
    }

    // Telemetry of the hour: the registration fixes and the ride's points, ride points
    // carrying the trip, speed in m/s.
    let (_, tm) = client
        .get(&format!("/mds/telemetry?telemetry_time={hour}"))
        .await;
    let points = tm["telemetry"].as_array().unwrap();
    let in_ride: Vec<_> = points.iter().filter(|p| !p["trip_ids"].is_null()).collect();
    assert_eq!(in_ride.len(), 3, "{tm}");
    assert!(in_ride.iter().all(|p| p["location"]["speed"] == 5.0));
    assert!(points.iter().all(|p| p["journey_id"].is_null()));

    // Recent events: the reservation made and cancelled.
    let recent_events = client.all(&recent, "events").await;
    let kinds: Vec<&str> = recent_events
        .iter()
        .map(|x| x["event_types"][0].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reservation_start", "reservation_cancel"]);

    // Status: the newest event and point.
    let (_, st) = client.get(&format!("/mds/vehicles/status/{riding}")).await;
    assert_eq!(
        st["vehicles_status"][0]["last_event"]["event_types"][0],
        "reservation_cancel"
    );

    // Hours: not over → 404; before we operated → 404; not final → 202; missing → 400.
    let (code, _) = client
        .get(&format!("/mds/trips?end_time={}", hour_of(now)))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = client
        .get(&format!(
            "/mds/events/historical?event_time={}",
            hour_of(T0 - 3_600_000)
        ))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, body) = client.get("/mds/trips").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "end_time");
    let (code, body) = client.get("/mds/events/recent?start_time=1").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = client
        .get(&format!("/mds/vehicles/{}", Uuid::new_v4()))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, body) = client.get("/mds/vehicles/not-a-uuid").await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("device_id"))
    );

    // An API whose hours close two hours after their end: the last hour is 202, T0's 200.
    let slow = MdsConfig::new(
        &MdsSettings {
            hour_close_delay_s: 7_200,
            ..MdsSettings::default()
        },
        25,
    )
    .unwrap();
    let auth = AuthSettings {
        jwt_secret: Some(SECRET.into()),
        ..AuthSettings::default()
    };
    let slow_state = fleetlog_tests::api::state(&s.app, auth).with_mds(slow);
    let (slow_base, _slow_stop) =
        fleetlog_tests::api::serve(fleetlog_api::router(slow_state)).await;
    let slow_client = Client {
        base: slow_base,
        http: reqwest::Client::new(),
        token: client.token.clone(),
    };
    let last_hour = hour_of(now - 3_600_000);
    for path in ["/mds/trips?end_time=", "/mds/events/historical?event_time="] {
        let (code, body) = slow_client.get(&format!("{path}{last_hour}")).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{path}: {body}");
        let (code, _) = slow_client.get(&format!("{path}{hour}")).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }

    // Accept and tokens.
    for accept in [
        None,
        Some("application/json"),
        Some("application/vnd.mds+json;version=1.2"),
    ] {
        let (code, body) = client
            .get_with("/mds/vehicles", Some(&client.token), accept)
            .await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE, "{accept:?}");
        assert_eq!(body["error"]["code"], "not_acceptable");
    }
    for token in [&rider_token, &operator_token] {
        let (code, body) = client
            .get_with("/mds/vehicles", Some(token), Some(MEDIA_TYPE))
            .await;
        assert_eq!(code, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (code, _) = client.get_with("/mds/trips", None, Some(MEDIA_TYPE)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}
