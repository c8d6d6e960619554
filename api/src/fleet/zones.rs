//! `GET /v1/admin/zones`: every zone the operators defined (service area, no-parking, slow),
//! newest definition each, with its rings as `{lat, lon}` points.

use crate::read_model::{Aged, FLEET};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::read::Fleet;
use super::view::{Point, point, time};
use crate::auth::extract::RequireOperator;
use crate::error::ApiError;
use crate::state::ApiState;

/// One zone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Zone {
    zone_id: Uuid,
    kind: String,
    name: String,
    /// The outer ring first, then holes; each closed (first point repeated last).
    rings: Vec<Vec<Point>>,
    speed_limit_kmh: Option<i32>,
    defined_at: Option<DateTime<Utc>>,
}

/// The list, by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Zones {
    items: Vec<Zone>,
}

/// The stored `[[{"lat_e7", "lon_e7"}, …], …]` as points; malformed points are skipped.
fn rings(value: &serde_json::Value) -> Vec<Vec<Point>> {
    let e7 = |p: &serde_json::Value, k: &str| {
        p.get(k)
            .and_then(serde_json::Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
    };
    value
        .as_array()
        .map(|rings| {
            rings
                .iter()
                .map(|ring| {
                    ring.as_array()
                        .map(|pts| {
                            pts.iter()
                                .filter_map(|p| point(e7(p, "lat_e7"), e7(p, "lon_e7")))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /v1/admin/zones`.
#[utoipa::path(
    get, path = "/v1/admin/zones", tag = "fleet", operation_id = "list_zones",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The zones", body = Zones, headers(("X-Fleetlog-Data-Age-Ms" = i64))),
        (status = 503, description = "`read_model_unavailable`, or `timeout`"),
    )
)]
pub(crate) async fn list(
    State(state): State<ApiState>,
    RequireOperator(_): RequireOperator,
) -> Result<Aged<Json<Zones>>, ApiError> {
    let fleet = Fleet::live(&state.read_models).await?;
    let age = state.read_models.data_age(&[FLEET]).await?;
    let rows = fleet.zones().await?;
    let items = rows
        .into_iter()
        .map(|r| Zone {
            rings: rings(&r.rings),
            zone_id: r.zone_id,
            kind: r.kind,
            name: r.name,
            speed_limit_kmh: r.speed_limit_kmh,
            defined_at: time(Some(r.defined_at_ms)),
        })
        .collect();
    Ok(Aged(age, Json(Zones { items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_rings_become_points_and_junk_is_skipped() {
        let stored = serde_json::json!([
            [{"lat_e7": 375_000_000, "lon_e7": 1_270_000_000}, {"lat_e7": "x"}],
            []
        ]);
        let out = rings(&stored);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), 1);
        assert!((out[0][0].lat - 37.5).abs() < 1e-9 && (out[0][0].lon - 127.0).abs() < 1e-9);
        assert!(rings(&serde_json::json!({"not": "rings"})).is_empty());
    }
}
