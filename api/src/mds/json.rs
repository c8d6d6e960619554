//! Read-model rows as MDS 2.0 objects, in MDS units: times in ms, `lat`/`lng` in degrees,
//! speed in m/s, durations in s, distances in m, money in integer minor units.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::config::MdsConfig;
use super::read::{EventRow, TelemetryRow, TripRow, VehicleRow};

fn degrees(e7: i32) -> f64 {
    f64::from(e7) / 1e7
}

fn gps(lat_e7: i32, lon_e7: i32) -> Map<String, Value> {
    let mut gps = Map::new();
    gps.insert("lat".into(), json!(degrees(lat_e7)));
    gps.insert("lng".into(), json!(degrees(lon_e7)));
    gps
}

fn battery(object: &mut Map<String, Value>, pct: Option<i32>) {
    if let Some(pct) = pct.filter(|p| (0..=100).contains(p)) {
        object.insert("battery_percent".into(), json!(pct));
    }
}

/// A `Vehicle` (micromobility: a standing electric scooter).
pub fn vehicle(config: &MdsConfig, row: &VehicleRow) -> Value {
    let mut v = json!({
        "device_id": row.vehicle_id,
        "provider_id": config.provider_id,
        "vehicle_id": row.qr_code.clone().unwrap_or_else(|| row.vehicle_id.to_string()),
        "vehicle_type": "scooter_standing",
        "propulsion_types": ["electric"],
        "maximum_speed": config.max_speed_kmh,
    });
    if let Some(model) = row.model.as_deref().filter(|m| !m.is_empty()) {
        let model: String = model.chars().take(255).collect();
        v["vehicle_attributes"] = json!({ "model": model });
    }
    v
}

/// An `Event`.
pub fn event(config: &MdsConfig, row: &EventRow) -> Value {
    let mut e = Map::new();
    e.insert("device_id".into(), json!(row.vehicle_id));
    e.insert("provider_id".into(), json!(config.provider_id));
    e.insert("event_id".into(), json!(row.event_id));
    e.insert("vehicle_state".into(), json!(row.vehicle_state));
    e.insert("event_types".into(), json!([row.event_type]));
    e.insert("timestamp".into(), json!(row.ts));
    e.insert(
        "location".into(),
        Value::Object(gps(row.lat_e7, row.lon_e7)),
    );
    battery(&mut e, row.battery_pct);
    if let Some(trip) = row.trip_id {
        e.insert("trip_ids".into(), json!([trip]));
    }
    Value::Object(e)
}

/// A `Telemetry` point.
pub fn telemetry(config: &MdsConfig, row: &TelemetryRow) -> Value {
    let mut location = gps(row.lat_e7, row.lon_e7);
    location.insert("heading".into(), json!(row.heading_deg));
    location.insert(
        "speed".into(),
        json!((f64::from(row.speed_kmh) / 3.6 * 100.0).round() / 100.0),
    );
    let mut t = Map::new();
    t.insert("device_id".into(), json!(row.vehicle_id));
    t.insert("provider_id".into(), json!(config.provider_id));
    t.insert("telemetry_id".into(), json!(row.event_id));
    t.insert("timestamp".into(), json!(row.device_time_ms));
    t.insert(
        "trip_ids".into(),
        row.trip_id.map_or(Value::Null, |trip| json!([trip])),
    );
    t.insert("journey_id".into(), Value::Null);
    t.insert("location".into(), Value::Object(location));
    battery(&mut t, row.battery_pct);
    Value::Object(t)
}

/// A `Trip`.
pub fn trip(config: &MdsConfig, row: &TripRow) -> Value {
    let mut t = json!({
        "provider_id": config.provider_id,
        "device_id": row.vehicle_id,
        "trip_id": row.ride_id,
        "start_time": row.start_ms,
        "end_time": row.end_ms,
        "start_location": gps(row.start_lat_e7, row.start_lon_e7),
        "end_location": gps(row.end_lat_e7, row.end_lon_e7),
        "duration": (row.duration_ms.max(0) + 500) / 1000,
        "distance": row.distance_m.max(0),
    });
    if let Some(fare) = row.fare_minor {
        t["actual_cost"] = json!(fare.max(0));
        t["currency"] = json!(row.currency.as_deref().unwrap_or("USD"));
    }
    t
}

/// A `Vehicle Status`: the vehicle's newest event and telemetry point.
pub fn status(config: &MdsConfig, id: Uuid, event: &EventRow, point: &TelemetryRow) -> Value {
    json!({
        "device_id": id,
        "provider_id": config.provider_id,
        "last_event": self::event(config, event),
        "last_telemetry": telemetry(config, point),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MdsConfig {
        MdsConfig::default()
    }

    #[test]
    fn units_are_the_specs() {
        let id = Uuid::from_u128(7);
        let point = TelemetryRow {
            event_id: Uuid::from_u128(1),
            vehicle_id: id,
            device_time_ms: 1_793_797_200_000,
            lat_e7: 375_665_000,
            lon_e7: 1_269_780_000,
            speed_kmh: 18,
            heading_deg: 90,
            battery_pct: Some(77),
            trip_id: None,
        };
        let t = telemetry(&config(), &point);
        assert_eq!(t["location"]["lat"], 37.5665);
        assert_eq!(t["location"]["lng"], 126.978);
        assert_eq!(t["location"]["speed"], 5.0);
        assert_eq!(t["trip_ids"], Value::Null);
        assert_eq!(t["journey_id"], Value::Null);
        assert_eq!(t["battery_percent"], 77);

        let trip_row = TripRow {
            ride_id: Uuid::from_u128(2),
            vehicle_id: id,
            start_ms: 0,
            end_ms: 61_600,
            start_lat_e7: 0,
            start_lon_e7: 0,
            end_lat_e7: 10,
            end_lon_e7: 10,
            duration_ms: 61_600,
            distance_m: 120,
            fare_minor: Some(150),
            currency: Some("EUR".into()),
        };
        let t = trip(&config(), &trip_row);
        assert_eq!(t["duration"], 62);
        assert_eq!(t["distance"], 120);
        assert_eq!(t["actual_cost"], 150);
        assert_eq!(t["currency"], "EUR");
    }
}
