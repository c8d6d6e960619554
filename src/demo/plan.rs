//! What the demo sets up, as data: the vehicles behind the simulated scooters (stable ids,
//! QR codes, models), the two zones in Seoul, the demo accounts. No I/O, so re-runs
//! compute the same ids and the setup is idempotent.

use fleetlog_ingest::protocol::Protocol;
use fleetlog_ingest::simulator::{SEOUL_CITY_HALL, SimulateArgs};
use serde_json::{Value, json};
use uuid::Uuid;

/// Login of the demo operator (role `admin`: it also issues the MDS provider token).
pub(crate) const OPERATOR_EMAIL: &str = "operator@demo.fleetlog.dev";
/// Its password, printed in the banner: a demo on a development machine.
pub(crate) const OPERATOR_PASSWORD: &str = "fleetlog-demo";
/// Password of the simulated riders (`rider-<n>@demo.fleetlog.dev`).
pub(crate) const RIDER_PASSWORD: &str = "fleetlog-demo-rider";
/// Models the vehicles are registered with, in turn.
const MODELS: [&str; 3] = ["Ninebot Max G30", "Okai ES400", "Segway E2 Plus"];
/// Namespace of the demo's stable UUIDs (vehicles and zones are `v5(namespace, name)`).
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1e_51c5_0d3e_4f7a_9b2c_d3e0_f1e0_0017);
/// Half the side of the service area square around City Hall, metres.
const SERVICE_AREA_HALF_M: f64 = 8_000.0;
/// Half the side of the no-parking square around Seoul Plaza, metres: small enough that
/// only some rides end in it.
const NO_PARKING_HALF_M: f64 = 400.0;
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;

/// One vehicle to register.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DemoVehicle {
    /// Stable vehicle id.
    pub(crate) vehicle_id: Uuid,
    /// The simulated device.
    pub(crate) device_id: String,
    /// `TELTONIKA`, `OMNI` or `GT06`.
    pub(crate) protocol: &'static str,
    /// Model name.
    pub(crate) model: &'static str,
    /// QR code (`DEMO-0007`).
    pub(crate) qr_code: String,
}

impl DemoVehicle {
    /// Body of `POST /v1/admin/vehicles`.
    pub(crate) fn body(&self) -> Value {
        json!({
            "vehicle_id": self.vehicle_id,
            "device_id": self.device_id,
            "protocol": self.protocol,
            "model": self.model,
            "qr_code": self.qr_code,
        })
    }
}

/// The vehicles of the simulated fleet `sim` describes.
pub(crate) fn vehicles(sim: &SimulateArgs) -> Vec<DemoVehicle> {
    (0..u64::from(sim.scooters))
        .map(|index| {
            let device_id = sim.id_base.saturating_add(index).to_string();
            let protocol = sim.protocol.protocol_of(index);
            DemoVehicle {
                vehicle_id: Uuid::new_v5(&NAMESPACE, format!("vehicle:{device_id}").as_bytes()),
                protocol: protocol_name(protocol),
                model: MODELS[(index % 3) as usize],
                qr_code: format!("DEMO-{index:04}"),
                device_id,
            }
        })
        .collect()
}

/// The API's name of a device protocol.
fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Teltonika => "TELTONIKA",
        Protocol::Omni => "OMNI",
        Protocol::Gt06 => "GT06",
    }
}

/// One zone to define with `PUT /v1/admin/zones/{zone_id}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DemoZone {
    /// Stable zone id.
    pub(crate) zone_id: Uuid,
    /// Its body.
    pub(crate) body: Value,
}

/// The service area (central Seoul) and the no-parking zone (Seoul Plaza and around).
pub(crate) fn zones() -> [DemoZone; 2] {
    let zone = |name: &str, kind: &str, half_m: f64| DemoZone {
        zone_id: Uuid::new_v5(&NAMESPACE, format!("zone:{name}").as_bytes()),
        body: json!({
            "kind": kind,
            "name": name,
            "geometry": {"type": "Polygon", "coordinates": [square(SEOUL_CITY_HALL, half_m)]},
        }),
    };
    [
        zone("Central Seoul", "SERVICE_AREA", SERVICE_AREA_HALF_M),
        zone("Seoul Plaza (no parking)", "NO_PARKING", NO_PARKING_HALF_M),
    ]
}

/// A closed ring `[lon, lat]` of the square `half_m` around `(lat, lon)`, counter-clockwise.
fn square((lat, lon): (f64, f64), half_m: f64) -> Vec<[f64; 2]> {
    let dlat = half_m / M_PER_DEG;
    let dlon = half_m / (M_PER_DEG * lat.to_radians().cos());
    vec![
        [lon - dlon, lat - dlat],
        [lon + dlon, lat - dlat],
        [lon + dlon, lat + dlat],
        [lon - dlon, lat + dlat],
        [lon - dlon, lat - dlat],
    ]
}

/// Login of simulated rider `n`.
pub(crate) fn rider_email(n: u32) -> String {
    format!("rider-{n}@demo.fleetlog.dev")
}

#[cfg(test)]
mod tests {
    use fleetlog_ingest::simulator::ProtocolChoice;

    use super::*;

    fn fleet() -> SimulateArgs {
        SimulateArgs {
            protocol: ProtocolChoice::Mixed,
            scooters: 4,
            ..SimulateArgs::default()
        }
    }

    #[test]
    fn vehicles_follow_the_simulated_fleet_with_stable_ids() {
        let v = vehicles(&fleet());
        let got: Vec<_> = v
            .iter()
            .map(|v| (v.device_id.as_str(), v.protocol, v.qr_code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("350000000000000", "TELTONIKA", "DEMO-0000"),
                ("350000000000001", "OMNI", "DEMO-0001"),
                ("350000000000002", "GT06", "DEMO-0002"),
                ("350000000000003", "TELTONIKA", "DEMO-0003"),
            ]
        );
        assert_eq!(
            vehicles(&fleet()),
            v,
            "a re-run registers the same vehicles"
        );
        assert_eq!(v[0].body()["vehicle_id"], v[0].vehicle_id.to_string());
    }

    #[test]
    fn the_no_parking_zone_lies_inside_the_service_area_around_city_hall() {
        let [area, no_parking] = zones();
        assert_eq!(area.body["kind"], "SERVICE_AREA");
        assert_eq!(no_parking.body["kind"], "NO_PARKING");
        assert_ne!(area.zone_id, no_parking.zone_id);
        let ring = |z: &DemoZone| -> Vec<[f64; 2]> {
            serde_json::from_value(z.body["geometry"]["coordinates"][0].clone()).expect("ring")
        };
        let (outer, inner) = (ring(&area), ring(&no_parking));
        assert_eq!(outer.first(), outer.last(), "closed");
        let (lat, lon) = SEOUL_CITY_HALL;
        assert!(inner[0][0] < lon && inner[2][0] > lon && inner[0][1] < lat && inner[2][1] > lat);
        assert!(outer[0][0] < inner[0][0] && outer[2][1] > inner[2][1]);
    }
}
