//! Request bodies of the command routes and their shape checks: what the API refuses with
//! `422` and the field, before anything is appended. The rules that depend on state (is
//! the vehicle free, is the rider busy…) are the deciders', reported as `rejected`.

use fleetlog_schemas::events::{
    CancelReservation, DefineZone, EndRide, GeoPoint, Protocol, RegisterVehicle, RemoteLock,
    RemoteUnlock, SetInService, SetOutOfService, StartRide, ZoneKind,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;
use axum::http::StatusCode;

/// Longest free text (reasons, models, names), in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest device id or QR code, in characters.
pub const MAX_ID_CHARS: usize = 64;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        message.into(),
    )
    .with_field(field)
}

/// A position in degrees.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[schema(as = PositionInput)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Latitude, −90…90.
    pub lat: f64,
    /// Longitude, −180…180.
    pub lon: f64,
}

impl Position {
    /// The position in degrees × 10^7.
    ///
    /// # Errors
    /// `422` naming `field` when out of range or not finite.
    pub fn to_e7(self, field: &str) -> Result<GeoPoint, ApiError> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon);
        if !ok {
            return Err(invalid(field, "lat must be within ±90 and lon within ±180"));
        }
        // In range, so the rounded values fit an i32.
        #[allow(clippy::cast_possible_truncation)]
        Ok(GeoPoint {
            lat_e7: (self.lat * 1e7).round() as i32,
            lon_e7: (self.lon * 1e7).round() as i32,
        })
    }
}

/// Free text: trimmed, at most [`MAX_TEXT_CHARS`], `None` when empty.
fn text(value: Option<String>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim().to_owned();
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            field,
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "control characters are not allowed"));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// A reason that must be given when `force` is set.
fn reason(value: Option<String>, force: bool) -> Result<Option<String>, ApiError> {
    let reason = text(value, "reason")?;
    if force && reason.is_none() {
        return Err(invalid("reason", "a reason is required with force"));
    }
    Ok(reason)
}

/// An identifier printed or burnt into hardware: 1 to 64 of `A-Z a-z 0-9 - _ . :`.
fn identifier(value: &str, field: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_ID_CHARS
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid(
            field,
            format!("1 to {MAX_ID_CHARS} characters of A-Z, a-z, 0-9, '-', '_', '.', ':'"),
        ))
    }
}

/// `POST …/start-ride`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRideBody {
    /// The rider's reservation of the vehicle, if any.
    pub reservation_id: Option<Uuid>,
    /// Where the phone is.
    pub position: Option<Position>,
}

impl StartRideBody {
    /// The command.
    ///
    /// # Errors
    /// `422` for a bad position.
    pub fn command(self, vehicle_id: Uuid) -> Result<StartRide, ApiError> {
        Ok(StartRide {
            vehicle_id,
            reservation_id: self.reservation_id,
            rider_position: self.position.map(|p| p.to_e7("position")).transpose()?,
        })
    }
}

/// `POST …/end-ride` (riders: `ride_id` only; operators may force with a reason).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndRideBody {
    /// The ride; the vehicle's current one when left out.
    pub ride_id: Option<Uuid>,
    /// Operator override of the parking checks.
    #[serde(default)]
    pub force: bool,
    /// Why (required with `force`).
    pub reason: Option<String>,
}

impl EndRideBody {
    /// The command.
    ///
    /// # Errors
    /// `422` for a forced end without a reason.
    pub fn command(self, vehicle_id: Uuid) -> Result<EndRide, ApiError> {
        Ok(EndRide {
            vehicle_id,
            ride_id: self.ride_id,
            reason: reason(self.reason, self.force)?,
            force: self.force,
        })
    }
}

/// `POST …/cancel-reservation`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelReservationBody {
    /// The reservation; the vehicle's current one when left out.
    pub reservation_id: Option<Uuid>,
    /// Why (operators).
    pub reason: Option<String>,
}

impl CancelReservationBody {
    /// The command.
    ///
    /// # Errors
    /// `422` for a bad reason.
    pub fn command(self, vehicle_id: Uuid) -> Result<CancelReservation, ApiError> {
        Ok(CancelReservation {
            vehicle_id,
            reservation_id: self.reservation_id,
            reason: text(self.reason, "reason")?,
        })
    }
}

/// `POST /v1/admin/vehicles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterVehicleBody {
    /// The vehicle's id; a new one when left out.
    pub vehicle_id: Option<Uuid>,
    /// IMEI or GT06 terminal id.
    pub device_id: String,
    /// `TELTONIKA`, `OMNI` or `GT06`.
    pub protocol: Protocol,
    /// Model name.
    pub model: String,
    /// The QR code printed on it.
    pub qr_code: String,
}

impl RegisterVehicleBody {
    /// The command; `new_id` when the body names no vehicle id.
    ///
    /// # Errors
    /// `422` naming the bad field.
    pub fn command(self, new_id: Uuid) -> Result<RegisterVehicle, ApiError> {
        let model = text(Some(self.model), "model")?
            .ok_or_else(|| invalid("model", "a model name is required"))?;
        Ok(RegisterVehicle {
            vehicle_id: self.vehicle_id.unwrap_or(new_id),
            device_id: identifier(&self.device_id, "device_id")?,
            protocol: self.protocol,
            model,
            qr_code: identifier(&self.qr_code, "qr_code")?,
        })
    }
}

/// `POST …/out-of-service`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutOfServiceBody {
    /// Why.
    pub reason: String,
    /// Even during a ride or reservation.
    #[serde(default)]
    pub force: bool,
}

impl OutOfServiceBody {
    /// The command.
    ///
    /// # Errors
    /// `422` without a reason.
    pub fn command(self, vehicle_id: Uuid) -> Result<SetOutOfService, ApiError> {
        let reason = text(Some(self.reason), "reason")?
            .ok_or_else(|| invalid("reason", "a reason is required"))?;
        Ok(SetOutOfService {
            vehicle_id,
            force: self.force,
            reason,
        })
    }
}

/// `POST …/in-service`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InServiceBody {
    /// Why, optionally.
    pub reason: Option<String>,
}

impl InServiceBody {
    /// The command.
    ///
    /// # Errors
    /// `422` for a bad reason.
    pub fn command(self, vehicle_id: Uuid) -> Result<SetInService, ApiError> {
        Ok(SetInService {
            vehicle_id,
            reason: text(self.reason, "reason")?,
        })
    }
}

/// `POST …/lock` and `…/unlock`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteBody {
    /// Override the state checks (e.g. lock during a ride).
    #[serde(default)]
    pub force: bool,
    /// Why (required with `force`).
    pub reason: Option<String>,
}

impl RemoteBody {
    /// A lock command.
    ///
    /// # Errors
    /// `422` for a forced lock without a reason.
    pub fn lock(self, vehicle_id: Uuid) -> Result<RemoteLock, ApiError> {
        Ok(RemoteLock {
            vehicle_id,
            reason: reason(self.reason, self.force)?,
            force: self.force,
        })
    }

    /// An unlock command.
    ///
    /// # Errors
    /// `422` for a forced unlock without a reason.
    pub fn unlock(self, vehicle_id: Uuid) -> Result<RemoteUnlock, ApiError> {
        Ok(RemoteUnlock {
            vehicle_id,
            reason: reason(self.reason, self.force)?,
            force: self.force,
        })
    }
}

/// A GeoJSON polygon: `{"type": "Polygon", "coordinates": [[[lon, lat], …], …]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Polygon {
    /// Must be `Polygon`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Outer ring, then holes; positions are `[lon, lat]`.
    #[schema(value_type = Vec<Vec<Vec<f64>>>)]
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

/// `PUT /v1/admin/zones/{zone_id}` and `POST /v1/admin/zones`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneBody {
    /// `SERVICE_AREA`, `NO_PARKING` or `SLOW`.
    pub kind: ZoneKind,
    /// Display name.
    pub name: String,
    /// Its shape.
    pub geometry: Polygon,
    /// km/h, for `SLOW` zones.
    pub speed_limit_kmh: Option<i32>,
}

impl ZoneBody {
    /// The command for zone `zone_id`.
    ///
    /// # Errors
    /// `422` naming the bad field (the zone decider's own checks run here too).
    pub fn command(self, zone_id: Uuid) -> Result<DefineZone, ApiError> {
        if self.geometry.kind != "Polygon" {
            return Err(invalid(
                "geometry.type",
                "only Polygon geometries are supported",
            ));
        }
        let mut rings = Vec::with_capacity(self.geometry.coordinates.len());
        for (i, ring) in self.geometry.coordinates.iter().enumerate() {
            let field = format!("geometry.coordinates[{i}]");
            let points = ring
                .iter()
                .map(|[lon, lat]| {
                    Position {
                        lat: *lat,
                        lon: *lon,
                    }
                    .to_e7(&field)
                })
                .collect::<Result<Vec<_>, _>>()?;
            rings.push(points);
        }
        // Control characters (NUL above all: the request is stored as JSONB) are refused.
        let name = text(Some(self.name), "name")?.unwrap_or_default();
        let define = DefineZone {
            zone_id,
            kind: self.kind,
            name,
            rings,
            speed_limit_kmh: self.speed_limit_kmh,
        };
        fleetlog_commands::zone::validate(&define).map_err(|message| {
            let field = if message.contains("name") {
                "name"
            } else if message.contains("speed") {
                "speed_limit_kmh"
            } else {
                "geometry"
            };
            invalid(field, message)
        })?;
        Ok(define)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_out_of_range_name_their_field() {
        let err = Position {
            lat: 91.0,
            lon: 0.0,
        }
        .to_e7("position")
        .unwrap_err();
        assert_eq!(err.field(), Some("position"));
        let p = Position {
            lat: 52.52,
            lon: 13.405,
        }
        .to_e7("p")
        .unwrap();
        assert_eq!((p.lat_e7, p.lon_e7), (525_200_000, 134_050_000));
    }

    #[test]
    fn a_forced_command_needs_a_reason() {
        let body = RemoteBody {
            force: true,
            reason: Some("  ".into()),
        };
        assert_eq!(body.lock(Uuid::nil()).unwrap_err().field(), Some("reason"));
    }

    #[test]
    fn device_ids_refuse_injected_text() {
        for bad in ["", "a b", "1;DROP", "x\ny", &"9".repeat(65)] {
            assert!(identifier(bad, "device_id").is_err(), "{bad:?}");
        }
        assert_eq!(
            identifier(" 356307042441013 ", "d").unwrap(),
            "356307042441013"
        );
    }

    #[test]
    fn a_zone_must_be_a_polygon_with_a_usable_ring() {
        let body = |kind: &str, coords: Vec<Vec<[f64; 2]>>| ZoneBody {
            kind: ZoneKind::NoParking,
            name: "Park".into(),
            geometry: Polygon {
                kind: kind.into(),
                coordinates: coords,
            },
            speed_limit_kmh: None,
        };
        let square = vec![vec![[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.1]]];
        assert!(body("Polygon", square.clone()).command(Uuid::nil()).is_ok());
        let err = body("Point", square).command(Uuid::nil()).unwrap_err();
        assert_eq!(err.field(), Some("geometry.type"));
        let err = body("Polygon", vec![vec![[13.0, 52.0]]])
            .command(Uuid::nil())
            .unwrap_err();
        assert_eq!(err.field(), Some("geometry"));
    }

    #[test]
    fn a_zone_name_with_control_characters_is_refused() {
        let body = ZoneBody {
            kind: ZoneKind::NoParking,
            name: "Park\0".into(),
            geometry: Polygon {
                kind: "Polygon".into(),
                coordinates: vec![vec![[13.0, 52.0], [13.1, 52.0], [13.1, 52.1]]],
            },
            speed_limit_kmh: None,
        };
        assert_eq!(body.command(Uuid::nil()).unwrap_err().field(), Some("name"));
    }
}
