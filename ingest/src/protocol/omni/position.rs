//! The D0 position message: NMEA-style `ddmm.mmmm` coordinates, `hhmmss.ss` + `ddmmyy`.
//!
//! `D0,<trigger>,<hhmmss.ss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<sats>,<hdop>,<ddmmyy>,<alt>,M,<mode>`

use super::decode::{decimal, num};
use super::message::Message;
use crate::protocol::time::Civil;
use crate::protocol::{DecodeError, Record};

/// Fills `rec` from a D0 message. Empty coordinate fields (status `V`) leave no position.
pub(crate) fn decode(msg: &Message, rec: &mut Record) -> Result<(), DecodeError> {
    let p = |i: usize| msg.params.get(i).map_or("", String::as_str);
    rec.set_attr("trigger", p(0));
    rec.position_valid = p(2) == "A";
    if !p(1).is_empty() && !p(9).is_empty() {
        rec.device_time_ms = Some(time(p(1), p(9))?);
    }
    if !p(3).is_empty() && !p(5).is_empty() {
        rec.lat_e7 = Some(coordinate(p(3), p(4), 90, "latitude")?);
        rec.lon_e7 = Some(coordinate(p(5), p(6), 180, "longitude")?);
    }
    let opt = |i: usize| (!p(i).is_empty()).then(|| p(i));
    rec.satellites = opt(7).map(|s| num(s, "satellites")).transpose()?;
    rec.hdop = opt(8).map(|s| decimal(s, "hdop")).transpose()?;
    rec.altitude_m = opt(10).map(|s| decimal(s, "altitude")).transpose()?;
    if let Some(mode) = opt(12) {
        rec.set_attr("mode", mode);
    }
    Ok(())
}

/// `hhmmss[.ss]` on `ddmmyy` to ms since the epoch (UTC).
fn time(hms: &str, dmy: &str) -> Result<i64, DecodeError> {
    let two = |s: &str, i: usize| s.get(i..i + 2).and_then(|d| num::<u32>(d, "time").ok());
    let (whole, frac) = hms.split_once('.').unwrap_or((hms, ""));
    let frac_ms = match frac.get(..frac.len().min(3)) {
        Some(f) if !f.is_empty() => num::<u32>(f, "time")? * 10u32.pow(3 - f.len() as u32),
        _ => 0,
    };
    let civil = (whole.len() == 6 && dmy.len() == 6)
        .then(|| -> Option<Civil> {
            Some(Civil {
                year: 2000 + i64::from(two(dmy, 4)?),
                month: two(dmy, 2)?,
                day: two(dmy, 0)?,
                hour: two(whole, 0)?,
                minute: two(whole, 2)?,
                second: two(whole, 4)?,
                millis: frac_ms,
            })
        })
        .flatten();
    civil
        .and_then(Civil::to_unix_ms)
        .ok_or(DecodeError::invalid("time", format!("{hms} {dmy}")))
}

/// `(d)ddmm.mmmm` + hemisphere to degrees × 10^7, exactly (integer arithmetic).
fn coordinate(
    value: &str,
    hemi: &str,
    max_deg: i128,
    field: &'static str,
) -> Result<i32, DecodeError> {
    let bad = || DecodeError::invalid(field, format!("{value},{hemi}"));
    let (int_part, frac) = value.split_once('.').unwrap_or((value, ""));
    if int_part.len() < 3 || frac.len() > 12 {
        return Err(bad());
    }
    let (deg, min) = int_part
        .split_at_checked(int_part.len() - 2)
        .ok_or_else(bad)?;
    let deg: i128 = num(deg, field).map_err(|_| bad())?;
    let min: i128 = num(min, field).map_err(|_| bad())?;
    if min >= 60 || deg > max_deg {
        return Err(bad());
    }
    let frac_val: i128 = if frac.is_empty() {
        0
    } else {
        num(frac, field).map_err(|_| bad())?
    };
    let scale = 10i128.pow(frac.len() as u32);
    let minutes_scaled = min * scale + frac_val;
    let denom = 60 * scale;
    let e7 = deg * 10_000_000 + (minutes_scaled * 10_000_000 * 2 + denom) / (2 * denom);
    if e7 > max_deg * 10_000_000 {
        return Err(bad());
    }
    let sign = match hemi {
        "N" | "E" => 1,
        "S" | "W" => -1,
        _ => return Err(bad()),
    };
    i32::try_from(sign * e7).map_err(|_| bad())
}

/// Formats degrees × 10^7 as `(d)ddmm.mmmmmmm` (exact) and its hemisphere letter.
fn format_coordinate(e7: i32, deg_width: usize, pos: char, neg: char) -> (String, char) {
    let abs = i64::from(e7).unsigned_abs();
    let deg = abs / 10_000_000;
    let minutes_e7 = (abs % 10_000_000) * 60;
    let text = format!(
        "{deg:0deg_width$}{:02}.{:07}",
        minutes_e7 / 10_000_000,
        minutes_e7 % 10_000_000
    );
    (text, if e7 < 0 { neg } else { pos })
}

/// D0 parameters for `rec` (simulator). No coordinates → empty fields with `V`.
pub(crate) fn encode(rec: &Record, trigger: u8) -> Vec<String> {
    let c = Civil::from_unix_ms(rec.device_time_ms.unwrap_or(0));
    let hms = format!(
        "{:02}{:02}{:02}.{:02}",
        c.hour,
        c.minute,
        c.second,
        c.millis / 10
    );
    let dmy = format!("{:02}{:02}{:02}", c.day, c.month, c.year.rem_euclid(100));
    let status = if rec.position_valid { "A" } else { "V" };
    let (lat, ns, lon, ew) = match (rec.lat_e7, rec.lon_e7) {
        (Some(lat), Some(lon)) => {
            let (lat, ns) = format_coordinate(lat, 2, 'N', 'S');
            let (lon, ew) = format_coordinate(lon, 3, 'E', 'W');
            (lat, ns.to_string(), lon, ew.to_string())
        }
        _ => Default::default(),
    };
    let sats = rec.satellites.map(|s| s.to_string()).unwrap_or_default();
    let hdop = rec.hdop.map(|h| format!("{h:.2}")).unwrap_or_default();
    let alt = rec
        .altitude_m
        .map(|a| format!("{a:.1}"))
        .unwrap_or_default();
    let mode = if rec.position_valid { "A" } else { "N" };
    [
        &trigger.to_string(),
        &hms,
        status,
        &lat,
        &ns,
        &lon,
        &ew,
        &sats,
        &hdop,
        &dmy,
        &alt,
        "M",
        mode,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_exact() {
        assert_eq!(
            coordinate("2237.7514", "N", 90, "lat").unwrap(),
            226_291_900
        );
        assert_eq!(
            coordinate("04615.24677", "W", 180, "lon").unwrap(),
            -462_541_128
        );
        for e7 in [
            0,
            1,
            -1,
            226_291_900,
            -899_999_999,
            1_799_999_999,
            -462_541_128,
        ] {
            let (text, hemi) = format_coordinate(e7, 3, 'E', 'W');
            assert_eq!(
                coordinate(&text, &hemi.to_string(), 180, "lon").unwrap(),
                e7
            );
        }
        assert!(coordinate("9960.0", "N", 90, "lat").is_err());
        assert!(coordinate("2237.75", "X", 90, "lat").is_err());
    }
}
