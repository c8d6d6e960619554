//! `geofencing_zones.json` from the fleet read model's zones: one GeoJSON `MultiPolygon`
//! feature per zone, with the rules our deciders apply.
//!
//! | zone | 3.0 rule | 2.3 rule |
//! |---|---|---|
//! | `NO_PARKING` | start ✓, end ✗, through ✓ | `ride_allowed` ✗ (2.3 cannot allow the start alone), through ✓ |
//! | `SLOW` | start ✓, end ✓\*, through ✓, `maximum_speed_kph` | `ride_allowed` ✓\*, through ✓, `maximum_speed_kph` |
//! | `SERVICE_AREA` | start ✓, end ✓, through ✓ | `ride_allowed` ✓, through ✓ |
//! | 3.0 `global_rules` (outside every zone) | start ✓, end ✓ unless a service area exists, through ✓ | — |
//!
//! \* A ride may end in a slow zone only inside a service area (when any exists): the
//! slow zone says ✓ when every vertex of its outer ring lies in one service area, ✗
//! otherwise (an approximation for service areas that are not convex).
//!
//! Features are ordered no-parking, slow, service area (GBFS: where zones overlap the
//! earlier one wins), then by name and id. 3.0 rings follow the right-hand rule (outer
//! counter-clockwise, holes clockwise); in 2.3 the winding carries meaning, so service
//! areas (where riding is allowed) are counter-clockwise and the restricted zones
//! clockwise, holes the other way. Coordinates are `[lon, lat]` with 6 decimals.

use fleetlog_commands::geo::polygon_contains;
use fleetlog_schemas::events::GeoPoint;
use serde_json::{Value, json};

use super::feeds::{Ctx, Version, degrees};
use super::read::ZoneRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    NoParking,
    Slow,
    ServiceArea,
}

fn kind(zone: &ZoneRow) -> Option<Kind> {
    match zone.kind.as_str() {
        "NO_PARKING" => Some(Kind::NoParking),
        "SLOW" => Some(Kind::Slow),
        "SERVICE_AREA" => Some(Kind::ServiceArea),
        _ => None,
    }
}

/// Twice the signed area of `ring` (x = lon, y = lat): positive when counter-clockwise.
fn signed_area2(ring: &[GeoPoint]) -> i128 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i128::from(a.lon_e7) * i128::from(b.lat_e7)
                - i128::from(b.lon_e7) * i128::from(a.lat_e7)
        })
        .sum()
}

/// `ring` closed, wound counter-clockwise when `ccw` (clockwise otherwise), as GeoJSON
/// positions; `None` when it is not a ring (fewer than 4 positions once closed).
fn ring(points: &[GeoPoint], ccw: bool) -> Option<Vec<Value>> {
    let mut points = points.to_vec();
    if points.first() != points.last() {
        points.push(*points.first()?);
    }
    if points.len() < 4 {
        return None;
    }
    if (signed_area2(&points) > 0) != ccw {
        points.reverse();
    }
    Some(
        points
            .iter()
            .map(|p| json!([degrees(p.lon_e7), degrees(p.lat_e7)]))
            .collect(),
    )
}

/// The polygon of `zone` (outer ring wound `outer_ccw`, holes the other way).
fn polygon(zone: &ZoneRow, outer_ccw: bool) -> Option<Value> {
    let (outer, holes) = zone.rings.split_first()?;
    let mut rings = vec![Value::Array(ring(outer, outer_ccw)?)];
    rings.extend(
        holes
            .iter()
            .filter_map(|h| ring(h, !outer_ccw))
            .map(Value::Array),
    );
    Some(json!({"type": "MultiPolygon", "coordinates": [rings]}))
}

impl Ctx<'_> {
    /// `geofencing_zones.json`.
    pub fn geofencing_zones(&self, zones: &[ZoneRow]) -> Value {
        let mut zones: Vec<(Kind, &ZoneRow)> =
            zones.iter().filter_map(|z| Some((kind(z)?, z))).collect();
        zones.sort_by(|a, b| (a.0, &a.1.name, a.1.zone_id).cmp(&(b.0, &b.1.name, b.1.zone_id)));
        let areas: Vec<&ZoneRow> = zones
            .iter()
            .filter(|(k, _)| *k == Kind::ServiceArea)
            .map(|(_, z)| *z)
            .collect();
        let may_end_in = |zone: &ZoneRow| {
            areas.is_empty()
                || zone.rings.first().is_some_and(|outer| {
                    areas
                        .iter()
                        .any(|a| outer.iter().all(|p| polygon_contains(&a.rings, *p)))
                })
        };
        let features: Vec<Value> = zones
            .iter()
            .filter_map(|&(kind, zone)| {
                let end = match kind {
                    Kind::NoParking => false,
                    Kind::Slow => may_end_in(zone),
                    Kind::ServiceArea => true,
                };
                let speed = (kind == Kind::Slow)
                    .then_some(zone.speed_limit_kmh)
                    .flatten()
                    .map(|kmh| kmh.max(0));
                let (mut rule, outer_ccw) = match self.version {
                    Version::V3_0 => (
                        json!({"ride_start_allowed": true, "ride_end_allowed": end,
                               "ride_through_allowed": true}),
                        true,
                    ),
                    Version::V2_3 => (
                        json!({"ride_allowed": end, "ride_through_allowed": true}),
                        kind == Kind::ServiceArea,
                    ),
                };
                if let Some(kmh) = speed {
                    rule["maximum_speed_kph"] = json!(kmh);
                }
                Some(json!({
                    "type": "Feature",
                    "geometry": polygon(zone, outer_ccw)?,
                    "properties": {"name": self.text(&zone.name), "rules": [rule]},
                }))
            })
            .collect();
        let collection = json!({"type": "FeatureCollection", "features": features});
        match self.version {
            Version::V2_3 => json!({ "geofencing_zones": collection }),
            Version::V3_0 => json!({
                "geofencing_zones": collection,
                "global_rules": [{
                    "ride_start_allowed": true,
                    "ride_end_allowed": areas.is_empty(),
                    "ride_through_allowed": true,
                }],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbfs::config::GbfsConfig;
    use uuid::Uuid;

    fn pt(lat_e7: i32, lon_e7: i32) -> GeoPoint {
        GeoPoint { lat_e7, lon_e7 }
    }

    /// A square with its corner at (lat, lon), listed clockwise (as seen on a map).
    fn square(n: u128, kind: &str, lat: i32, lon: i32, size: i32) -> ZoneRow {
        ZoneRow {
            zone_id: Uuid::from_u128(n),
            kind: kind.into(),
            name: format!("{kind} {n}"),
            rings: vec![vec![
                pt(lat, lon),
                pt(lat + size, lon),
                pt(lat + size, lon + size),
                pt(lat, lon + size),
                pt(lat, lon),
            ]],
            speed_limit_kmh: (kind == "SLOW").then_some(12),
        }
    }

    fn positions(feature: &Value) -> Vec<GeoPoint> {
        feature["geometry"]["coordinates"][0][0]
            .as_array()
            .expect("ring")
            .iter()
            .map(|p| {
                pt(
                    (p[1].as_f64().expect("lat") * 1e7).round() as i32,
                    (p[0].as_f64().expect("lon") * 1e7).round() as i32,
                )
            })
            .collect()
    }

    #[test]
    fn zones_become_features_with_the_rules_of_the_deciders() {
        let config = GbfsConfig::default();
        let ctx = Ctx {
            config: &config,
            version: Version::V3_0,
            base: "http://h/gbfs",
        };
        let zones = [
            square(1, "SERVICE_AREA", 375_000_000, 1_269_000_000, 1_000_000),
            square(2, "SLOW", 375_100_000, 1_269_100_000, 100_000),
            square(3, "NO_PARKING", 375_200_000, 1_269_200_000, 100_000),
            square(4, "SLOW", 385_000_000, 1_279_000_000, 100_000),
            square(5, "SOMETHING_NEW", 375_000_000, 1_269_000_000, 10),
        ];
        let doc = ctx.geofencing_zones(&zones);
        let features = doc["geofencing_zones"]["features"]
            .as_array()
            .expect("features");
        let names: Vec<&str> = features
            .iter()
            .filter_map(|f| f["properties"]["name"][0]["text"].as_str())
            .collect();
        assert_eq!(
            names,
            ["NO_PARKING 3", "SLOW 2", "SLOW 4", "SERVICE_AREA 1"]
        );
        let rule = |i: usize| features[i]["properties"]["rules"][0].clone();
        assert_eq!(rule(0)["ride_end_allowed"], json!(false));
        assert_eq!(
            rule(1)["ride_end_allowed"],
            json!(true),
            "slow zone inside the area"
        );
        assert_eq!(rule(1)["maximum_speed_kph"], json!(12));
        assert_eq!(
            rule(2)["ride_end_allowed"],
            json!(false),
            "slow zone outside every area"
        );
        assert_eq!(rule(3)["ride_end_allowed"], json!(true));
        assert!(rule(3).get("maximum_speed_kph").is_none());
        assert_eq!(doc["global_rules"][0]["ride_end_allowed"], json!(false));
        for f in features {
            assert!(
                signed_area2(&positions(f)) > 0,
                "3.0 outer rings are counter-clockwise"
            );
            assert_eq!(f["geometry"]["type"], json!("MultiPolygon"));
        }
        assert_eq!(
            features[3]["geometry"]["coordinates"][0][0][0],
            json!([126.9, 37.5])
        );

        let ctx = Ctx {
            version: Version::V2_3,
            ..ctx
        };
        let doc = ctx.geofencing_zones(&zones);
        let features = doc["geofencing_zones"]["features"]
            .as_array()
            .expect("features");
        assert_eq!(
            features[0]["properties"]["rules"][0],
            json!({"ride_allowed": false, "ride_through_allowed": true})
        );
        assert!(
            signed_area2(&positions(&features[0])) < 0,
            "2.3 restricted zones are clockwise"
        );
        assert!(
            signed_area2(&positions(&features[3])) > 0,
            "2.3 service areas are counter-clockwise"
        );
        assert!(doc.get("global_rules").is_none());
    }

    #[test]
    fn without_a_service_area_rides_may_end_anywhere_but_in_no_parking_zones() {
        let config = GbfsConfig::default();
        let ctx = Ctx {
            config: &config,
            version: Version::V3_0,
            base: "http://h/gbfs",
        };
        let doc = ctx.geofencing_zones(&[square(2, "SLOW", 375_100_000, 1_269_100_000, 100_000)]);
        assert_eq!(doc["global_rules"][0]["ride_end_allowed"], json!(true));
        assert_eq!(
            doc["geofencing_zones"]["features"][0]["properties"]["rules"][0]["ride_end_allowed"],
            json!(true)
        );
        let empty = ctx.geofencing_zones(&[]);
        assert_eq!(empty["geofencing_zones"]["features"], json!([]));
    }

    #[test]
    fn rings_are_closed_and_degenerate_ones_left_out() {
        let open = [pt(0, 0), pt(10, 0), pt(10, 10)];
        let closed = ring(&open, true).expect("ring");
        assert_eq!(closed.len(), 4);
        assert_eq!(closed.first(), closed.last());
        assert!(ring(&[pt(0, 0), pt(1, 1)], true).is_none());
        assert!(ring(&[], true).is_none());
    }
}
