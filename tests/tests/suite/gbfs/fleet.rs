//! A fleet published in GBFS 2.3 and 3.0: every file of both versions validates, and what
//! the schemas cannot say holds (who is listed and how, public ids kept and rotated after a
//! trip, a trip the rides read model has not seen end, `ttl` and data age, geofencing zones
//! and their newer definitions).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fleetlog_api::gbfs::{IdKey, public_vehicle_id};
use fleetlog_schemas::events::{
    Actor, ActorRole, FleetEventBody, ReservationCancelled, ReservationMade, RideEnded,
    RideRequested, RideStarted, VehicleState, ZoneKind,
};
use fleetlog_tests::test_stack::{Projected, T0, TestStack};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SECRET, api, checked, every_file, get, validate};

/// `id field → vehicle` of a vehicle_status / free_bike_status document.
fn listed(doc: &Value, list: &str, id: &str) -> BTreeMap<String, Value> {
    doc["data"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[id].as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn rfc3339(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_fleet_is_published_in_gbfs_2_3_and_3_0_by_the_rules_of_the_spec() {
    let mut s = TestStack::builder()
        .projection(Projected::Fleet)
        .projection(Projected::Rides)
        .start()
        .await;
    let v = |_: &str| Uuid::new_v4();
    let (available, reserved, riding, out, low, silent, lagging) = (
        v("available"),
        v("reserved"),
        v("riding"),
        v("out"),
        v("low"),
        v("silent"),
        v("lagging"),
    );
    let device = |vehicle: Uuid| format!("35{}", &vehicle.simple().to_string()[..13]);
    s.scooter(available, &device(available), "ES4", Some(80))
        .await;
    s.scooter(reserved, &device(reserved), "ES4", Some(70))
        .await;
    s.scooter(riding, &device(riding), "Max G30", Some(60))
        .await;
    s.scooter(out, &device(out), "Max G30", Some(90)).await;
    s.scooter(low, &device(low), "ES4", Some(5)).await;
    s.scooter(silent, &device(silent), "ES4", None).await;
    s.scooter(lagging, &device(lagging), "ES4", Some(50)).await;
    let rider = Uuid::new_v4();
    let reservation = Uuid::new_v4();
    let made = ReservationMade {
        vehicle_id: reserved,
        reservation_id: reservation,
        rider_id: rider,
        expires_at_ms: T0 + 600_000,
    };
    s.fleet(reserved, T0 + 10, FleetEventBody::ReservationMade(made))
        .await;
    s.state(
        reserved,
        T0 + 10,
        VehicleState::Available,
        VehicleState::Reserved,
    )
    .await;
    let mut rides = BTreeMap::new();
    for vehicle in [riding, lagging] {
        let ride = Uuid::new_v4();
        rides.insert(vehicle, ride);
        let requested = RideRequested {
            vehicle_id: vehicle,
            ride_id: ride,
            rider_id: Uuid::new_v4(),
            reservation_id: None,
            unlock_command_id: Uuid::new_v4(),
        };
        s.fleet(vehicle, T0 + 20, FleetEventBody::RideRequested(requested))
            .await;
        s.state(
            vehicle,
            T0 + 20,
            VehicleState::Available,
            VehicleState::Reserved,
        )
        .await;
        let started = RideStarted {
            vehicle_id: vehicle,
            ride_id: ride,
            rider_id: rider,
            start_position: None,
        };
        s.fleet(vehicle, T0 + 30, FleetEventBody::RideStarted(started))
            .await;
        s.state(
            vehicle,
            T0 + 30,
            VehicleState::Reserved,
            VehicleState::InRide,
        )
        .await;
    }
    // The fleet read model sees `lagging` free again before the rides read model sees its
    // trip end (here: never, until later).
    s.state(
        lagging,
        T0 + 40,
        VehicleState::InRide,
        VehicleState::Available,
    )
    .await;
    s.state(
        out,
        T0 + 40,
        VehicleState::Available,
        VehicleState::OutOfService,
    )
    .await;
    let (area, plaza, stream) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    s.zone(
        area,
        T0,
        ZoneKind::ServiceArea,
        "Seoul centre",
        500_000,
        None,
    )
    .await;
    s.zone(
        plaza,
        T0,
        ZoneKind::NoParking,
        "City Hall plaza",
        20_000,
        None,
    )
    .await;
    s.zone(
        stream,
        T0 + 5,
        ZoneKind::Slow,
        "Cheonggyecheon",
        50_000,
        Some(15),
    )
    .await;
    // An older definition read later changes nothing.
    s.zone(stream, T0, ZoneKind::Slow, "stale", 50_000, Some(5))
        .await;
    s.settle().await;

    let (base, _api) = api(&s.app).await;
    let key = IdKey::from_secret(SECRET);
    let public =
        |vehicle: Uuid, trip: Option<Uuid>| public_vehicle_id(&key, vehicle, trip).to_string();

    // Who is listed, under which id, with which flags.
    let status = get(&base, "/gbfs/3.0/vehicle_status.json").await;
    assert_eq!(status.status, 200);
    let vehicles = listed(&status.body, "vehicles", "vehicle_id");
    let expected: BTreeSet<String> = [available, reserved, low]
        .into_iter()
        .map(|v| public(v, None))
        .collect();
    assert_eq!(
        vehicles.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "listed: available, reserved, low battery; not riding, out of service, silent, or \
         free in the fleet model while its trip is still open in the rides model: {:#}",
        status.body
    );
    let of = |vehicle: Uuid| vehicles[&public(vehicle, None)].clone();
    assert_eq!(of(available)["is_reserved"], json!(false));
    assert_eq!(of(available)["is_disabled"], json!(false));
    assert_eq!(of(available)["current_fuel_percent"], json!(0.8));
    assert_eq!(of(available)["current_range_meters"], json!(32000.0));
    assert_eq!(of(available)["vehicle_type_id"], json!("ES4"));
    assert_eq!(
        rfc3339(&of(available)["last_reported"]).timestamp_millis(),
        (T0 + 1200) / 1000 * 1000
    );
    assert_eq!(of(reserved)["is_reserved"], json!(true));
    assert_eq!(
        of(low)["is_disabled"],
        json!(true),
        "5 % is below the minimum"
    );
    let private: Vec<String> = [available, reserved, riding, out, low, silent, lagging]
        .into_iter()
        .flat_map(|v| [v.to_string(), v.simple().to_string(), device(v)])
        .collect();
    let text = status.body.to_string();
    for secret in &private {
        assert!(!text.contains(secret.as_str()), "{secret} leaked: {text}");
    }
    let again = get(&base, "/gbfs/3.0/vehicle_status.json").await;
    assert_eq!(
        listed(&again.body, "vehicles", "vehicle_id")
            .keys()
            .collect::<Vec<_>>(),
        vehicles.keys().collect::<Vec<_>>(),
        "ids are stable between fetches"
    );
    let bikes = get(&base, "/gbfs/2.3/free_bike_status.json").await;
    let bikes = listed(&bikes.body, "bikes", "bike_id");
    assert_eq!(
        bikes.keys().collect::<Vec<_>>(),
        vehicles.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        bikes[&public(available, None)]["last_reported"],
        json!((T0 + 1200) / 1000)
    );

    // ttl, Cache-Control, data age, last_updated.
    for (path, ttl) in [
        ("/gbfs/3.0/vehicle_status.json", 15),
        ("/gbfs/2.3/free_bike_status.json", 15),
        ("/gbfs/3.0/system_information.json", 300),
        ("/gbfs/2.3/geofencing_zones.json", 300),
        ("/gbfs/gbfs.json", 300),
    ] {
        let file = get(&base, path).await;
        assert_eq!(file.status, 200, "{path}");
        assert_eq!(file.body["ttl"], json!(ttl), "{path}");
        assert_eq!(
            file.header("cache-control"),
            Some(format!("public, max-age={ttl}").as_str()),
            "{path}"
        );
        assert!(
            file.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let (file, age) = loop {
        let file = get(&base, "/gbfs/3.0/vehicle_status.json").await;
        if let Some(age) = file.header("x-fleetlog-data-age-ms") {
            let age: i64 = age.parse().unwrap();
            break (file, age);
        }
        assert!(
            Instant::now() < deadline,
            "no X-Fleetlog-Data-Age-Ms once lag is reported"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        (0..60_000).contains(&age),
        "caught-up projections are fresh: {age} ms"
    );
    let expected_update = Utc::now().timestamp_millis() - age;
    let last_updated = rfc3339(&file.body["last_updated"]).timestamp_millis();
    assert!(
        (expected_update - last_updated).abs() <= 5_000,
        "last_updated {last_updated} is now minus the data age ({expected_update})"
    );
    let plain = get(&base, "/gbfs/3.0/system_pricing_plans.json").await;
    assert!(
        plain.header("x-fleetlog-data-age-ms").is_none(),
        "not from a read model"
    );

    // Zones.
    let zones = get(&base, "/gbfs/3.0/geofencing_zones.json").await;
    let features = zones.body["data"]["geofencing_zones"]["features"]
        .as_array()
        .unwrap();
    let rule = |name: &str| {
        features
            .iter()
            .find(|f| f["properties"]["name"][0]["text"] == name)
            .map(|f| f["properties"]["rules"][0].clone())
            .unwrap_or_else(|| panic!("no zone {name}: {features:#?}"))
    };
    assert_eq!(rule("City Hall plaza")["ride_end_allowed"], json!(false));
    assert_eq!(rule("Cheonggyecheon")["maximum_speed_kph"], json!(15));
    assert_eq!(rule("Cheonggyecheon")["ride_end_allowed"], json!(true));
    assert_eq!(rule("Seoul centre")["ride_end_allowed"], json!(true));
    assert_eq!(
        zones.body["data"]["global_rules"][0]["ride_end_allowed"],
        json!(false),
        "outside the service area rides cannot end"
    );
    let zones23 = get(&base, "/gbfs/2.3/geofencing_zones.json").await;
    assert_eq!(
        zones23.body["data"]["geofencing_zones"]["features"][0]["properties"]["rules"][0],
        json!({"ride_allowed": false, "ride_through_allowed": true})
    );

    // Every file of both versions against its official schema.
    let entries = ["gbfs.json", "gbfs_versions.json", "manifest.json"]
        .map(|f| format!("{base}/gbfs/{f}"))
        .to_vec();
    let (report, valid) = validate(entries).await;
    assert!(valid, "GBFS files invalid: {report:#}");
    assert_eq!(checked(&report), every_file(), "{report:#}");

    // The trip ends: the vehicle comes back under a new id; the lagging one shows once
    // its trip's end is read; a cancelled reservation keeps the id.
    for vehicle in [riding, lagging] {
        let ended = RideEnded {
            vehicle_id: vehicle,
            ride_id: rides[&vehicle],
            rider_id: rider,
            duration_ms: 120_000,
            distance_m: 800,
            fare_minor: 150,
            currency: "EUR".into(),
            end_position: None,
            forced: false,
        };
        s.fleet(vehicle, T0 + 60, FleetEventBody::RideEnded(ended))
            .await;
    }
    s.state(
        riding,
        T0 + 60,
        VehicleState::InRide,
        VehicleState::Available,
    )
    .await;
    let cancelled = ReservationCancelled {
        vehicle_id: reserved,
        reservation_id: reservation,
        rider_id: rider,
        cancelled_by: Actor {
            id: rider.to_string(),
            role: ActorRole::Rider,
        },
        reason: None,
    };
    s.fleet(
        reserved,
        T0 + 70,
        FleetEventBody::ReservationCancelled(cancelled),
    )
    .await;
    s.state(
        reserved,
        T0 + 70,
        VehicleState::Reserved,
        VehicleState::Available,
    )
    .await;
    // A newer definition replaces the zone.
    s.zone(
        stream,
        T0 + 80,
        ZoneKind::Slow,
        "Cheonggyecheon",
        50_000,
        Some(10),
    )
    .await;
    s.settle().await;
    let after = get(&base, "/gbfs/3.0/vehicle_status.json").await;
    let after = listed(&after.body, "vehicles", "vehicle_id");
    let expected: BTreeSet<String> = [
        public(available, None),
        public(reserved, None),
        public(low, None),
        public(riding, Some(rides[&riding])),
        public(lagging, Some(rides[&lagging])),
    ]
    .into();
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        !after.contains_key(&public(riding, None)),
        "the id from before the trip is gone"
    );
    assert_eq!(after[&public(reserved, None)]["is_reserved"], json!(false));
    let zones = get(&base, "/gbfs/3.0/geofencing_zones.json").await;
    let slow: Vec<&Value> = zones.body["data"]["geofencing_zones"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["rules"][0]
                .get("maximum_speed_kph")
                .is_some()
        })
        .collect();
    assert_eq!(slow.len(), 1, "one slow zone, defined three times");
    assert_eq!(
        slow[0]["properties"]["rules"][0]["maximum_speed_kph"],
        json!(10)
    );
    assert_eq!(
        slow[0]["properties"]["name"][0]["text"],
        json!("Cheonggyecheon")
    );
}
