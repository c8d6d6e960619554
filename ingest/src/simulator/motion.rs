//! How scooters move: a random walk at about 15 km/h around Seoul City Hall, only while
//! unlocked, with the battery draining faster while riding.

use std::f64::consts::TAU;
use std::time::Duration;

use rand::Rng;

use super::scooter::Scooter;

/// Seoul City Hall, `(latitude, longitude)` in degrees: the centre of the fleet.
pub const SEOUL_CITY_HALL: (f64, f64) = (37.5665, 126.9780);
/// Scooters start at random points within this distance of [`SEOUL_CITY_HALL`], metres.
pub const START_RADIUS_M: f64 = 5_000.0;
/// Typical riding speed, km/h.
pub const CRUISE_SPEED_KMH: f64 = 15.0;

/// Riders stray at most this far from the centre before they turn back, metres.
const ROAM_RADIUS_M: f64 = 2.0 * START_RADIUS_M;
/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;
/// Battery drain while riding, percent per second (about 54 %/h, a 28 km range).
const DRAIN_RIDING_PCT_S: f64 = 0.015;
/// Battery drain while parked (tracker and GSM only), percent per second (about 1 %/h).
const DRAIN_PARKED_PCT_S: f64 = 0.000_3;
/// Largest heading change per second of riding, degrees.
const TURN_DEG_PER_S: f64 = 30.0;

/// A uniformly random point within [`START_RADIUS_M`] of [`SEOUL_CITY_HALL`].
pub(crate) fn random_point(rng: &mut impl Rng) -> (f64, f64) {
    let r = START_RADIUS_M * rng.random::<f64>().sqrt();
    let bearing = rng.random_range(0.0..TAU);
    offset(SEOUL_CITY_HALL, r * bearing.cos(), r * bearing.sin())
}

/// The point `north_m` north and `east_m` east of `from` (flat-earth, fine at city scale).
fn offset((lat, lon): (f64, f64), north_m: f64, east_m: f64) -> (f64, f64) {
    let lat2 = lat + north_m / M_PER_DEG;
    let lon2 = lon + east_m / (M_PER_DEG * lat.to_radians().cos());
    (lat2, lon2)
}

/// Distance north and east from the centre to `s`, metres.
fn from_centre(s: &Scooter) -> (f64, f64) {
    let (lat0, lon0) = SEOUL_CITY_HALL;
    let north = (s.lat_deg - lat0) * M_PER_DEG;
    let east = (s.lon_deg - lon0) * M_PER_DEG * lat0.to_radians().cos();
    (north, east)
}

/// Advances `s` by `dt`: a locked scooter stands still; an unlocked one with charge left
/// rides on (random-walk heading, about [`CRUISE_SPEED_KMH`]) and adds to its odometer.
pub(crate) fn step(s: &mut Scooter, dt: Duration, rng: &mut impl Rng) {
    let secs = dt.as_secs_f64();
    if secs <= 0.0 {
        return;
    }
    let riding = !s.is_locked() && s.battery_pct > 0.0;
    if !riding {
        s.speed_kmh = 0.0;
        drain(s, secs, DRAIN_PARKED_PCT_S);
        return;
    }
    s.heading_deg = next_heading(s, secs, rng);
    s.speed_kmh = CRUISE_SPEED_KMH + rng.random_range(-2.0..2.0);
    let dist = s.speed_kmh / 3.6 * secs;
    let rad = s.heading_deg.to_radians();
    (s.lat_deg, s.lon_deg) = offset((s.lat_deg, s.lon_deg), dist * rad.cos(), dist * rad.sin());
    s.odometer_m += dist;
    drain(s, secs, DRAIN_RIDING_PCT_S);
}

fn next_heading(s: &Scooter, secs: f64, rng: &mut impl Rng) -> f64 {
    let (north, east) = from_centre(s);
    if north.hypot(east) > ROAM_RADIUS_M {
        return (-east).atan2(-north).to_degrees().rem_euclid(360.0);
    }
    let max_turn = TURN_DEG_PER_S * secs.sqrt();
    (s.heading_deg + rng.random_range(-max_turn..=max_turn)).rem_euclid(360.0)
}

fn drain(s: &mut Scooter, secs: f64, pct_per_s: f64) {
    s.battery_pct = (s.battery_pct - pct_per_s * secs).max(0.0);
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::protocol::LockState;

    #[test]
    fn start_points_lie_within_the_radius() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..1000 {
            let s = Scooter::random_start(&mut rng);
            let (n, e) = from_centre(&s);
            assert!(n.hypot(e) <= START_RADIUS_M + 1.0);
        }
    }

    #[test]
    fn only_unlocked_scooters_move_and_riding_drains_more() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut parked = Scooter::at(SEOUL_CITY_HALL.0, SEOUL_CITY_HALL.1);
        step(&mut parked, Duration::from_secs(60), &mut rng);
        assert_eq!(
            (parked.lat_deg, parked.odometer_m),
            (SEOUL_CITY_HALL.0, 0.0)
        );
        let mut ridden = Scooter::at(SEOUL_CITY_HALL.0, SEOUL_CITY_HALL.1);
        ridden.set_lock(LockState::Unlocked, 0);
        for _ in 0..60 {
            step(&mut ridden, Duration::from_secs(1), &mut rng);
        }
        assert!(
            (200.0..300.0).contains(&ridden.odometer_m),
            "{}",
            ridden.odometer_m
        );
        assert!(ridden.battery_pct < parked.battery_pct);
        assert_ne!(ridden.lat_deg, SEOUL_CITY_HALL.0);
    }
}
