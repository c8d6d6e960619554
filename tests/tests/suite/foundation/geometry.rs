//! One geometry rule: PostgreSQL's `fleetlog_point_in_rings` and `fleetlog_haversine_m`
//! (migration `0009_one_geometry_rule.sql`, what the API's zone filter and nearby search
//! use) agree with the deciders' `fleetlog_commands::geo` on every vertex, edge midpoint and
//! hole edge of a few polygons, on points one unit off them, and on pseudo-random points.

use fleetlog_commands::geo::{haversine_m, polygon_contains};
use fleetlog_schemas::events::GeoPoint;
use fleetlog_tests::spawn_app;
use sqlx::PgPool;

fn pt(lat_e7: i32, lon_e7: i32) -> GeoPoint {
    GeoPoint { lat_e7, lon_e7 }
}

/// A square with a square hole, a triangle (slanted edges), a concave "L" and an open ring
/// (first point not repeated).
fn polygons() -> Vec<Vec<Vec<GeoPoint>>> {
    let (lat, lon) = (375_000_000, 1_269_000_000);
    let square = |half: i32| {
        vec![
            pt(lat - half, lon - half),
            pt(lat - half, lon + half),
            pt(lat + half, lon + half),
            pt(lat + half, lon - half),
            pt(lat - half, lon - half),
        ]
    };
    vec![
        vec![square(10_000), square(4_000)],
        vec![vec![
            pt(lat, lon),
            pt(lat + 3_000, lon + 9_000),
            pt(lat - 6_000, lon + 12_000),
            pt(lat, lon),
        ]],
        vec![vec![
            pt(lat, lon),
            pt(lat, lon + 8_000),
            pt(lat + 2_000, lon + 8_000),
            pt(lat + 2_000, lon + 2_000),
            pt(lat + 8_000, lon + 2_000),
            pt(lat + 8_000, lon),
            pt(lat, lon),
        ]],
        vec![vec![
            pt(lat - 5_000, lon - 5_000),
            pt(lat - 5_000, lon + 5_000),
            pt(lat + 5_000, lon),
        ]],
    ]
}

/// Points that test the rule: every vertex, edge midpoints, their neighbours one unit away,
/// and pseudo-random points around the polygon (a fixed linear congruential sequence).
fn probes(rings: &[Vec<GeoPoint>]) -> Vec<GeoPoint> {
    let mut out = Vec::new();
    for ring in rings {
        for (i, a) in ring.iter().enumerate() {
            let b = ring[(i + 1) % ring.len()];
            let half = |x: i32, y: i32| i32::try_from((i64::from(x) + i64::from(y)) / 2).unwrap();
            let mid = pt(half(a.lat_e7, b.lat_e7), half(a.lon_e7, b.lon_e7));
            for p in [*a, mid] {
                for (dy, dx) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] {
                    out.push(pt(p.lat_e7 + dy, p.lon_e7 + dx));
                }
            }
        }
    }
    let (lat, lon) = (375_000_000_i64, 1_269_000_000_i64);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..400 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let dy = i64::try_from((state >> 33) % 30_001).unwrap() - 15_000;
        let dx = i64::try_from((state >> 13) % 30_001).unwrap() - 15_000;
        out.push(pt(
            i32::try_from(lat + dy).unwrap(),
            i32::try_from(lon + dx).unwrap(),
        ));
    }
    out
}

async fn sql_contains(pool: &PgPool, rings: &[Vec<GeoPoint>], points: &[GeoPoint]) -> Vec<bool> {
    let rings = serde_json::to_value(rings).unwrap();
    let lats: Vec<i64> = points.iter().map(|p| i64::from(p.lat_e7)).collect();
    let lons: Vec<i64> = points.iter().map(|p| i64::from(p.lon_e7)).collect();
    sqlx::query_scalar(
        "SELECT fleetlog_point_in_rings(lat, lon, $3) FROM unnest($1::bigint[], $2::bigint[])
         WITH ORDINALITY AS p(lat, lon, i) ORDER BY i",
    )
    .bind(&lats)
    .bind(&lons)
    .bind(&rings)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn sql_and_the_deciders_agree_on_points_in_zones_boundaries_included() {
    let app = spawn_app().await;
    let mut boundary_points = 0;
    for (k, rings) in polygons().iter().enumerate() {
        let points = probes(rings);
        let in_sql = sql_contains(&app.pool, rings, &points).await;
        for (p, sql) in points.iter().zip(in_sql) {
            let rust = polygon_contains(rings, *p);
            assert_eq!(
                sql, rust,
                "polygon {k}, point {p:?}: SQL {sql}, deciders {rust}"
            );
        }
        // Every vertex is in its polygon under both rules (holes' vertices too).
        boundary_points += rings.iter().map(Vec::len).sum::<usize>();
        for vertex in rings.iter().flatten() {
            assert!(
                polygon_contains(rings, *vertex),
                "polygon {k}, vertex {vertex:?}"
            );
        }
    }
    assert!(boundary_points > 20);
    // No rings: nothing is inside.
    assert_eq!(sql_contains(&app.pool, &[], &[pt(0, 0)]).await, vec![false]);
}

#[tokio::test]
async fn sql_and_the_deciders_measure_the_same_great_circle_distances() {
    let app = spawn_app().await;
    let pairs = [
        (
            pt(375_665_000, 1_269_780_000),
            pt(375_665_000, 1_269_780_000),
        ),
        (
            pt(375_665_000, 1_269_780_000),
            pt(375_700_000, 1_269_900_000),
        ),
        (pt(525_200_000, 134_050_000), pt(488_566_000, 23_522_000)),
        (pt(0, 0), pt(0, 1_800_000_000)),
        (
            pt(-337_000_000, -707_000_000),
            pt(406_000_000, -739_000_000),
        ),
    ];
    for (a, b) in pairs {
        let deg = |e7: i32| f64::from(e7) / 1e7;
        let sql: f64 = sqlx::query_scalar("SELECT fleetlog_haversine_m($1, $2, $3, $4)")
            .bind(deg(a.lat_e7))
            .bind(deg(a.lon_e7))
            .bind(deg(b.lat_e7))
            .bind(deg(b.lon_e7))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let rust = haversine_m(a, b);
        assert!(
            (sql - rust).abs() <= 1e-6 * rust.max(1.0),
            "{a:?} → {b:?}: SQL {sql} m, deciders {rust} m"
        );
    }
}
