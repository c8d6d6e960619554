//! What a decider needs to know beyond its own state: the clock, facts from other keys
//! (the rider index, the zones), configuration and pricing.
//!
//! The caller (the commands processor) builds a [`Context`] for each input from data it
//! holds; the decider never reads a clock or a database itself, so the same state, input and
//! context always give the same decision.

use fleetlog_schemas::events::{GeoPoint, ZoneDefined, ZoneKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::geo::polygon_contains;
use crate::rejection::{Rejection, RejectionCode};

/// Decider rules that operations may tune. Defaults: 15 %, 10 min, 30 s, 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeciderConfig {
    /// Minimum battery to reserve or start a ride, in percent.
    pub min_battery_pct: i32,
    /// How long a reservation holds a vehicle, in milliseconds.
    pub reservation_ttl_ms: i64,
    /// How long an unlock (ride start, remote unlock, locate) may take to be confirmed.
    pub unlock_timeout_ms: i64,
    /// How long a lock (ride end, remote lock) may take to be confirmed.
    pub lock_timeout_ms: i64,
}

impl Default for DeciderConfig {
    fn default() -> Self {
        Self {
            min_battery_pct: 15,
            reservation_ttl_ms: 10 * 60 * 1000,
            unlock_timeout_ms: 30_000,
            lock_timeout_ms: 30_000,
        }
    }
}

/// Ride prices in integer minor units of `currency`.
///
/// The default is EUR (2 decimals): 100 cents to unlock plus 25 cents per started minute,
/// a common European tariff. KRW was considered but has no minor unit in practice, which
/// makes "100 minor units" meaningless as a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pricing {
    /// Charged once per ride.
    pub unlock_fee_minor: i64,
    /// Charged per started minute of ride.
    pub per_minute_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Default for Pricing {
    fn default() -> Self {
        Self {
            unlock_fee_minor: 100,
            per_minute_minor: 25,
            currency: "EUR".to_owned(),
        }
    }
}

impl Pricing {
    /// Started minutes of a ride lasting `duration_ms` (0 ms is 0 minutes, 1 ms is 1).
    pub fn started_minutes(duration_ms: i64) -> i64 {
        let ms = duration_ms.max(0);
        ms / 60_000 + i64::from(ms % 60_000 != 0)
    }

    /// The fare of a ride lasting `duration_ms`: unlock fee + per-minute price × started
    /// minutes. Never negative (negative prices count as 0) and saturating, never wrapping.
    pub fn fare_minor(&self, duration_ms: i64) -> i64 {
        let minutes = Self::started_minutes(duration_ms);
        self.unlock_fee_minor
            .max(0)
            .saturating_add(self.per_minute_minor.max(0).saturating_mul(minutes))
    }
}

/// A zone as the deciders see it: what it means and its polygon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// The zone.
    pub id: Uuid,
    /// Service area, no-parking or slow.
    pub kind: ZoneKind,
    /// Outer ring first, then holes, in degrees × 10^7.
    pub rings: Vec<Vec<GeoPoint>>,
}

impl Zone {
    /// Whether the zone contains `point` (its boundary included).
    pub fn contains(&self, point: GeoPoint) -> bool {
        polygon_contains(&self.rings, point)
    }
}

impl From<&ZoneDefined> for Zone {
    fn from(z: &ZoneDefined) -> Self {
        Self {
            id: z.zone_id,
            kind: z.kind,
            rings: z.rings.clone(),
        }
    }
}

/// Everything a decision may depend on besides the state and the input.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The decision clock, ms since the Unix epoch: the input's own timestamp
    /// (`VehicleInput::timestamp_ms`), never the wall clock.
    pub now_ms: i64,
    /// Whether the acting rider already has an active ride or reservation on **another**
    /// vehicle. A vehicle decider sees one vehicle only, so the processor answers this from
    /// its rider index (which a unique index on the rider enforces across vehicles).
    pub rider_busy: bool,
    /// Every zone currently defined.
    pub zones: &'a [Zone],
    /// Rules.
    pub config: &'a DeciderConfig,
    /// Prices.
    pub pricing: &'a Pricing,
}

impl Context<'_> {
    /// Whether a ride may end at `position`: inside some service area (when any is defined)
    /// and outside every no-parking zone.
    ///
    /// # Errors
    ///
    /// `outside_service_area`, `in_no_parking_zone`, or `position_unknown` when zones
    /// constrain parking and the position is not known.
    pub fn check_parking(&self, position: Option<GeoPoint>) -> Result<(), Rejection> {
        let of_kind = |kind| self.zones.iter().filter(move |z| z.kind == kind);
        let constrained = of_kind(ZoneKind::ServiceArea)
            .chain(of_kind(ZoneKind::NoParking))
            .next()
            .is_some();
        if !constrained {
            return Ok(());
        }
        let Some(at) = position else {
            return Err(Rejection::new(
                RejectionCode::PositionUnknown,
                "the vehicle has no valid position yet, so parking cannot be checked",
            ));
        };
        let mut areas = of_kind(ZoneKind::ServiceArea).peekable();
        if areas.peek().is_some() && !areas.any(|z| z.contains(at)) {
            return Err(Rejection::new(
                RejectionCode::OutsideServiceArea,
                "rides can only end inside the service area",
            ));
        }
        if let Some(z) = of_kind(ZoneKind::NoParking).find(|z| z.contains(at)) {
            return Err(Rejection::new(
                RejectionCode::InNoParkingZone,
                format!("parking is not allowed in zone {}", z.id),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(kind: ZoneKind, lat: i32, lon: i32, size: i32) -> Zone {
        let pt = |lat_e7, lon_e7| GeoPoint { lat_e7, lon_e7 };
        Zone {
            id: Uuid::from_u128(u128::from(lat.unsigned_abs())),
            kind,
            rings: vec![vec![
                pt(lat, lon),
                pt(lat, lon + size),
                pt(lat + size, lon + size),
                pt(lat + size, lon),
            ]],
        }
    }

    fn ctx<'a>(zones: &'a [Zone], config: &'a DeciderConfig, pricing: &'a Pricing) -> Context<'a> {
        Context {
            now_ms: 0,
            rider_busy: false,
            zones,
            config,
            pricing,
        }
    }

    #[test]
    fn started_minutes_round_up_and_zero_is_zero() {
        assert_eq!(Pricing::started_minutes(0), 0);
        assert_eq!(Pricing::started_minutes(1), 1);
        assert_eq!(Pricing::started_minutes(60_000), 1);
        assert_eq!(Pricing::started_minutes(60_001), 2);
        assert_eq!(Pricing::started_minutes(-5), 0);
    }

    #[test]
    fn the_fare_is_the_unlock_fee_plus_the_price_of_started_minutes() {
        let p = Pricing::default();
        assert_eq!(p.fare_minor(0), 100);
        assert_eq!(p.fare_minor(90_000), 150);
        assert_eq!(p.fare_minor(10 * 60_000), 350);
    }

    #[test]
    fn the_fare_is_never_negative_and_never_wraps() {
        let p = Pricing {
            unlock_fee_minor: -100,
            per_minute_minor: i64::MAX,
            currency: "EUR".into(),
        };
        assert_eq!(p.fare_minor(i64::MAX), i64::MAX);
        assert_eq!(p.fare_minor(-1), 0);
    }

    #[test]
    fn pricing_and_config_defaults_are_documented_values() {
        let c = DeciderConfig::default();
        assert_eq!((c.min_battery_pct, c.reservation_ttl_ms), (15, 600_000));
        assert_eq!((c.unlock_timeout_ms, c.lock_timeout_ms), (30_000, 30_000));
        assert_eq!(Pricing::default().currency, "EUR");
    }

    #[test]
    fn parking_is_allowed_anywhere_when_no_zone_constrains_it() {
        let (c, p) = (DeciderConfig::default(), Pricing::default());
        let slow = [square(ZoneKind::Slow, 100, 100, 10)];
        assert_eq!(ctx(&[], &c, &p).check_parking(None), Ok(()));
        assert_eq!(ctx(&slow, &c, &p).check_parking(None), Ok(()));
    }

    #[test]
    fn parking_outside_the_service_area_or_in_a_no_parking_zone_is_refused() {
        let (c, p) = (DeciderConfig::default(), Pricing::default());
        let zones = [
            square(ZoneKind::ServiceArea, 100, 100, 100),
            square(ZoneKind::NoParking, 120, 120, 10),
        ];
        let at = |lat_e7, lon_e7| Some(GeoPoint { lat_e7, lon_e7 });
        let code = |pos| ctx(&zones, &c, &p).check_parking(pos).map_err(|r| r.code);
        assert_eq!(code(at(150, 150)), Ok(()));
        assert_eq!(code(at(500, 150)), Err(RejectionCode::OutsideServiceArea));
        assert_eq!(code(at(125, 125)), Err(RejectionCode::InNoParkingZone));
        assert_eq!(code(None), Err(RejectionCode::PositionUnknown));
    }
}
