//! The hour parameters of MDS (`end_time`, `event_time`, `telemetry_time`: `YYYY-MM-DDTHH`,
//! UTC) and whether an hour can be answered yet.

use chrono::{NaiveDate, TimeZone, Utc};

use crate::error::ApiError;

const HOUR_MS: i64 = 3_600_000;

/// One UTC hour `[start_ms, start_ms + 1 h)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hour {
    /// Its first millisecond since the epoch.
    pub start_ms: i64,
}

impl Hour {
    /// Parse `YYYY-MM-DDTHH` (the whole parameter; no minutes, no zone).
    ///
    /// # Errors
    /// 400 `invalid_parameter` naming `field`.
    pub fn parse(field: &'static str, value: Option<&str>) -> Result<Self, ApiError> {
        let bad = |message: &'static str| ApiError::invalid_parameter(field, message);
        let value = value.ok_or_else(|| bad("required: an hour as YYYY-MM-DDTHH (UTC)"))?;
        let b = value.as_bytes();
        let shape = b.len() == 13
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12]
                .iter()
                .all(|&i| b[i].is_ascii_digit());
        if !shape {
            return Err(bad("not an hour as YYYY-MM-DDTHH (UTC)"));
        }
        let num = |r: std::ops::Range<usize>| value[r].parse::<u32>().unwrap_or(u32::MAX);
        let year = i32::try_from(num(0..4)).unwrap_or(0);
        let date = NaiveDate::from_ymd_opt(year, num(5..7), num(8..10))
            .ok_or_else(|| bad("no such date"))?;
        let time = date
            .and_hms_opt(num(11..13), 0, 0)
            .ok_or_else(|| bad("no such hour (00 to 23)"))?;
        Ok(Self {
            start_ms: Utc.from_utc_datetime(&time).timestamp_millis(),
        })
    }

    /// Its end (exclusive), ms.
    pub fn end_ms(self) -> i64 {
        self.start_ms + HOUR_MS
    }
}

/// What an hour of trips or events may be answered with (MDS provider §"Trips").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The hour has not ended: 404.
    NotPast,
    /// Before the first vehicle was registered, or no vehicle ever was: 404.
    NotOperating,
    /// Over, but late data may still change it: 202.
    Processing,
    /// Final: 200.
    Closed,
}

/// Whether `hour` is final at `now_ms`: it ended more than `close_delay_ms` ago, and the
/// read models behind it are known to reflect the log up to then (`current_as_of_ms`:
/// now minus their data age; `None`, unknown, is not final).
pub fn readiness(
    hour: Hour,
    now_ms: i64,
    close_delay_ms: i64,
    current_as_of_ms: Option<i64>,
    first_operation_ms: Option<i64>,
) -> Readiness {
    if hour.end_ms() > now_ms {
        return Readiness::NotPast;
    }
    match first_operation_ms {
        Some(first) if first < hour.end_ms() => {}
        _ => return Readiness::NotOperating,
    }
    match current_as_of_ms {
        Some(current) if current.min(now_ms) - close_delay_ms >= hour.end_ms() => Readiness::Closed,
        _ => Readiness::Processing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn hours_parse_strictly_in_utc() {
        let h = Hour::parse("end_time", Some("2026-11-04T13")).expect("valid");
        assert_eq!(h.start_ms, 1_793_797_200_000);
        assert_eq!(h.end_ms() - h.start_ms, HOUR_MS);
        // November parses (the MDS iso-dayhour pattern rejects it; we do not).
        assert!(Hour::parse("end_time", Some("2026-11-30T23")).is_ok());
        for bad in [
            None,
            Some(""),
            Some("2026-11-04"),
            Some("2026-11-04T24"),
            Some("2026-02-30T01"),
            Some("2026-11-04T13:00"),
            Some("2026-1-04T133"),
            Some("２026-11-04T13"),
        ] {
            let err = Hour::parse("end_time", bad).expect_err("refused");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            assert_eq!(err.field(), Some("end_time"));
        }
    }

    #[test]
    fn an_hour_is_final_only_once_over_closed_and_applied() {
        let hour = Hour { start_ms: 0 };
        let end = hour.end_ms();
        let first = Some(-1);
        // (now, close delay, known current as of) → readiness
        let at = |now: i64, delay: i64, current: Option<i64>, first: Option<i64>| {
            readiness(hour, now, delay, current, first)
        };
        assert_eq!(at(end - 1, 0, Some(end - 1), first), Readiness::NotPast);
        assert_eq!(at(end, 0, Some(end), None), Readiness::NotOperating);
        assert_eq!(at(end, 0, Some(end), Some(end)), Readiness::NotOperating);
        assert_eq!(at(end, 0, Some(end), first), Readiness::Closed);
        assert_eq!(at(end + 5, 10, Some(end + 5), first), Readiness::Processing);
        assert_eq!(at(end + 10, 10, Some(end + 10), first), Readiness::Closed);
        assert_eq!(
            at(end + 10, 10, Some(end + 9), first),
            Readiness::Processing
        );
        // Unknown data age: not final.
        assert_eq!(at(end + 10, 0, None, first), Readiness::Processing);
        // A read model "current" past now (clocks apart) counts as current now.
        assert_eq!(at(end + 10, 10, Some(end + 99), first), Readiness::Closed);
        assert_eq!(
            at(end + 5, 10, Some(end + 99), first),
            Readiness::Processing
        );
    }
}
