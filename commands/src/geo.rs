//! Plane geometry on WGS 84 points in degrees × 10^7: point in polygon and haversine
//! distance.
//!
//! Point in polygon is exact: ray casting with `i128` cross products on the integer
//! coordinates (x = longitude, y = latitude), so a point on an edge is recognised without
//! rounding. A polygon is closed: its boundary belongs to it, on the outer ring and on the
//! holes alike. Rings may repeat their first point at the end or not. Polygons crossing the
//! antimeridian are not supported (split them in two).
//!
//! PostgreSQL applies the same two rules for the API's zone filter and nearby search
//! (`fleetlog_point_in_rings`, `fleetlog_haversine_m`, migration `0009_one_geometry_rule.sql`);
//! `tests/tests/suite/foundation/geometry.rs` checks that both agree, boundary points included.
//!
//! Written here rather than taken from the `geo` crate: the two functions are shorter than
//! that crate's dependency tree, and `geo` works on `f64`, not on our e7 integers.

use fleetlog_schemas::events::GeoPoint;

/// Mean Earth radius in metres (IUGG), the usual radius for the haversine formula.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Where a point lies relative to one ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingPosition {
    /// Strictly inside.
    Inside,
    /// On an edge or a vertex.
    Boundary,
    /// Strictly outside.
    Outside,
}

/// Whether `point` is a plausible fix: latitude within ±90°, longitude within ±180°, and not
/// the `(0, 0)` that devices report when they have no fix.
pub fn is_plausible(point: GeoPoint) -> bool {
    let lat_ok = (-900_000_000..=900_000_000).contains(&point.lat_e7);
    let lon_ok = (-1_800_000_000..=1_800_000_000).contains(&point.lon_e7);
    lat_ok && lon_ok && !(point.lat_e7 == 0 && point.lon_e7 == 0)
}

/// Where `point` lies relative to `ring` (ray casting towards +x, exact integer math).
///
/// A ring with fewer than three distinct points has no inside: the point is on its
/// boundary if it lies on one of its segments, otherwise outside.
pub fn ring_position(ring: &[GeoPoint], point: GeoPoint) -> RingPosition {
    let (px, py) = (i128::from(point.lon_e7), i128::from(point.lat_e7));
    let mut inside = false;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        let (ax, ay) = (i128::from(a.lon_e7), i128::from(a.lat_e7));
        let (bx, by) = (i128::from(b.lon_e7), i128::from(b.lat_e7));
        let cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax);
        let within_x = ax.min(bx) <= px && px <= ax.max(bx);
        let within_y = ay.min(by) <= py && py <= ay.max(by);
        if cross == 0 && within_x && within_y {
            return RingPosition::Boundary;
        }
        if (ay > py) != (by > py) {
            // The edge straddles the horizontal line through the point; it crosses the ray
            // when the point is left of the edge, taken upwards.
            let left_of_edge = if by > ay { cross > 0 } else { cross < 0 };
            if left_of_edge {
                inside = !inside;
            }
        }
    }
    if inside {
        RingPosition::Inside
    } else {
        RingPosition::Outside
    }
}

/// Whether the polygon `rings` (outer ring first, then holes) contains `point`, boundary
/// included. An empty polygon contains nothing.
pub fn polygon_contains(rings: &[Vec<GeoPoint>], point: GeoPoint) -> bool {
    let Some((outer, holes)) = rings.split_first() else {
        return false;
    };
    if ring_position(outer, point) == RingPosition::Outside {
        return false;
    }
    holes
        .iter()
        .all(|hole| ring_position(hole, point) != RingPosition::Inside)
}

/// Great-circle distance between two points in metres (haversine, mean Earth radius).
pub fn haversine_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let to_rad = |e7: i32| (f64::from(e7) / 1e7).to_radians();
    let (lat1, lat2) = (to_rad(a.lat_e7), to_rad(b.lat_e7));
    let d_lat = lat2 - lat1;
    let d_lon = to_rad(b.lon_e7) - to_rad(a.lon_e7);
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// [`haversine_m`] in whole millimetres, rounded; what ride tracks accumulate so that
/// the sum stays exact and comparable.
pub fn haversine_mm(a: GeoPoint, b: GeoPoint) -> i64 {
    // At most half the Earth's circumference (~2e10 mm): the cast cannot overflow.
    (haversine_m(a, b) * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint {
            lat_e7: (lat * 1e7).round() as i32,
            lon_e7: (lon * 1e7).round() as i32,
        }
    }

    /// A 1° × 1° square with corners (0,0) and (1,1) in (lat, lon), offset so it is
    /// plausible, with a hole from 0.4 to 0.6.
    fn square_with_hole() -> Vec<Vec<GeoPoint>> {
        let outer = vec![p(10.0, 10.0), p(10.0, 11.0), p(11.0, 11.0), p(11.0, 10.0)];
        let hole = vec![
            p(10.4, 10.4),
            p(10.4, 10.6),
            p(10.6, 10.6),
            p(10.6, 10.4),
            p(10.4, 10.4),
        ];
        vec![outer, hole]
    }

    #[test]
    fn a_point_inside_the_outer_ring_and_outside_the_hole_is_contained() {
        assert!(polygon_contains(&square_with_hole(), p(10.2, 10.2)));
    }

    #[test]
    fn a_point_inside_a_hole_is_not_contained() {
        assert!(!polygon_contains(&square_with_hole(), p(10.5, 10.5)));
    }

    #[test]
    fn a_point_outside_the_outer_ring_is_not_contained() {
        assert!(!polygon_contains(&square_with_hole(), p(12.0, 10.5)));
        assert!(!polygon_contains(&square_with_hole(), p(10.5, 9.99)));
    }

    #[test]
    fn points_on_edges_and_vertices_of_the_outer_ring_are_contained() {
        let rings = square_with_hole();
        assert!(polygon_contains(&rings, p(10.0, 10.5)));
        assert!(polygon_contains(&rings, p(10.5, 11.0)));
        assert!(polygon_contains(&rings, p(11.0, 11.0)));
        assert_eq!(
            ring_position(&rings[0], p(10.0, 10.0)),
            RingPosition::Boundary
        );
    }

    #[test]
    fn a_point_on_the_edge_of_a_hole_is_contained_because_the_boundary_belongs_to_the_polygon() {
        assert!(polygon_contains(&square_with_hole(), p(10.4, 10.5)));
    }

    #[test]
    fn a_concave_ring_is_handled() {
        // A "U" open to the north: the notch between lon 10.3 and 10.7 above lat 10.3.
        let u = vec![
            p(10.0, 10.0),
            p(10.0, 11.0),
            p(11.0, 11.0),
            p(11.0, 10.7),
            p(10.3, 10.7),
            p(10.3, 10.3),
            p(11.0, 10.3),
            p(11.0, 10.0),
        ];
        assert_eq!(ring_position(&u, p(10.8, 10.5)), RingPosition::Outside);
        assert_eq!(ring_position(&u, p(10.8, 10.1)), RingPosition::Inside);
        assert_eq!(ring_position(&u, p(10.1, 10.5)), RingPosition::Inside);
        // A ray through a vertex must not count twice.
        assert_eq!(ring_position(&u, p(10.3, 10.1)), RingPosition::Inside);
    }

    #[test]
    fn degenerate_and_empty_polygons_contain_nothing_but_their_segments() {
        assert!(!polygon_contains(&[], p(10.0, 10.0)));
        let line = vec![p(10.0, 10.0), p(10.0, 11.0)];
        assert_eq!(ring_position(&line, p(10.0, 10.5)), RingPosition::Boundary);
        assert_eq!(ring_position(&line, p(10.5, 10.5)), RingPosition::Outside);
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = haversine_m(p(0.0, 0.0), p(1.0, 0.0));
        assert!((d - 111_195.08).abs() < 1.0, "{d}");
    }

    #[test]
    fn berlin_to_paris_is_about_878_km() {
        let d = haversine_m(p(52.5200, 13.4050), p(48.8566, 2.3522));
        assert!((d - 877_460.0).abs() < 1_000.0, "{d}");
    }

    #[test]
    fn the_distance_from_a_point_to_itself_is_zero_and_distance_is_symmetric() {
        let (a, b) = (p(37.5665, 126.9780), p(37.5700, 126.9820));
        assert_eq!(haversine_mm(a, a), 0);
        assert_eq!(haversine_mm(a, b), haversine_mm(b, a));
    }

    #[test]
    fn antipodal_points_are_half_the_circumference_apart() {
        let d = haversine_m(p(0.0, 0.0), p(0.0, 180.0));
        assert!(
            (d - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1.0,
            "{d}"
        );
    }

    #[test]
    fn zero_zero_and_out_of_range_points_are_not_plausible() {
        assert!(!is_plausible(GeoPoint {
            lat_e7: 0,
            lon_e7: 0
        }));
        assert!(!is_plausible(GeoPoint {
            lat_e7: 900_000_001,
            lon_e7: 1
        }));
        assert!(is_plausible(p(37.5, 127.0)));
    }
}
