//! `--from` / `--to`: where the export starts and stops in every partition, and the
//! arithmetic of half-open offset ranges `[from, to)`.
//!
//! A bound is `earliest` (the partition's low watermark), `latest` (its high watermark
//! when the run starts: records appended later are left for the next run), an offset
//! (the same in every partition, clamped to what the partition holds), or a time — an
//! RFC 3339 time or a plain date (`2026-01-02`, midnight UTC) — meaning the first offset
//! whose broker timestamp is at or after it (see [`crate::extent`]: a time after the last
//! record is the end, one at or before the first record is the start). `--to` is
//! exclusive: `--from 2026-01-01 --to 2026-01-02` is one day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// One end of the exported range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The first offset the partition still holds.
    Earliest,
    /// The high watermark when the run starts.
    Latest,
    /// An offset, in every partition.
    Offset(i64),
    /// The first record at or after this broker timestamp (a plain date is its midnight,
    /// UTC).
    Time(DateTime<Utc>),
}

impl FromStr for Bound {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "earliest" => return Ok(Self::Earliest),
            "latest" => return Ok(Self::Latest),
            _ => {}
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<i64>()
                .map(Self::Offset)
                .map_err(|e| format!("offset {s:?}: {e}"));
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Self::Time(date.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self::Time(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!(
                    "{s:?} is not `earliest`, `latest`, an offset (0, 1, …), a date (2026-01-02, \
                     midnight UTC) or an RFC 3339 time (2026-01-02T09:30:00+09:00)"
                )
            })
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Earliest => f.write_str("earliest"),
            Self::Latest => f.write_str("latest"),
            Self::Offset(o) => write!(f, "{o}"),
            Self::Time(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// `[from, to)` minus every range of `covered` (sorted, merged): the parts still to do.
pub(crate) fn missing(from: i64, to: i64, covered: &[[i64; 2]]) -> Vec<[i64; 2]> {
    let mut out = Vec::new();
    let mut at = from;
    for &[a, b] in covered {
        if b <= at || a >= to {
            continue;
        }
        if a > at {
            out.push([at, a.min(to)]);
        }
        at = at.max(b);
        if at >= to {
            break;
        }
    }
    if at < to {
        out.push([at, to]);
    }
    out
}

/// `[from, to)` intersected with `covered`: the parts already done.
pub(crate) fn overlap(from: i64, to: i64, covered: &[[i64; 2]]) -> Vec<[i64; 2]> {
    covered
        .iter()
        .filter_map(|&[a, b]| {
            let (a, b) = (a.max(from), b.min(to));
            (a < b).then_some([a, b])
        })
        .collect()
}

/// `ranges` plus `[from, to)`, sorted and merged (touching ranges join).
pub(crate) fn merge(ranges: &mut Vec<[i64; 2]>, from: i64, to: i64) {
    ranges.push([from, to]);
    ranges.sort_unstable();
    let mut merged: Vec<[i64; 2]> = Vec::with_capacity(ranges.len());
    for &[a, b] in ranges.iter() {
        match merged.last_mut() {
            Some(last) if a <= last[1] => last[1] = last[1].max(b),
            _ => merged.push([a, b]),
        }
    }
    *ranges = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse() {
        assert_eq!("earliest".parse(), Ok(Bound::Earliest));
        assert_eq!("latest".parse(), Ok(Bound::Latest));
        assert_eq!("42".parse(), Ok(Bound::Offset(42)));
        assert!(matches!(
            "2026-01-02T03:04:05+09:00".parse::<Bound>(),
            Ok(Bound::Time(_))
        ));
        assert!("yesterday".parse::<Bound>().is_err());
        assert!("-1".parse::<Bound>().is_err());
        assert!("2026-13-01".parse::<Bound>().is_err());
    }

    #[test]
    fn a_plain_date_is_its_midnight_utc() {
        let date: Bound = "2020-01-01".parse().expect("a date");
        let time: Bound = "2020-01-01T00:00:00Z".parse().expect("a time");
        assert_eq!(date, time);
        assert_eq!(date.to_string(), "2020-01-01T00:00:00Z");
        let seoul: Bound = "2020-01-01T09:00:00+09:00".parse().expect("a time");
        assert_eq!(seoul, time, "any offset, the same instant");
    }

    #[test]
    fn range_arithmetic() {
        let covered = [[0, 10], [20, 30]];
        assert_eq!(missing(0, 40, &covered), vec![[10, 20], [30, 40]]);
        assert_eq!(missing(0, 10, &covered), Vec::<[i64; 2]>::new());
        assert_eq!(missing(5, 25, &covered), vec![[10, 20]]);
        assert_eq!(overlap(5, 25, &covered), vec![[5, 10], [20, 25]]);
        let mut ranges = vec![[0, 10]];
        merge(&mut ranges, 10, 20);
        merge(&mut ranges, 30, 40);
        assert_eq!(ranges, vec![[0, 20], [30, 40]]);
    }
}
