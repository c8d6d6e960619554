//! Time-of-day windows in UTC, written `"HH:MM-HH:MM"`.

use std::fmt;

const MS_PER_MINUTE: i64 = 60_000;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// A daily window in UTC: from `start` (inclusive) to `end` (exclusive), in minutes after
/// midnight. A window whose end is before its start runs over midnight (`22:00-06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start: u16,
    end: u16,
}

impl TimeWindow {
    /// Parses `"HH:MM-HH:MM"`; `None` when malformed or when start equals end.
    pub fn parse(text: &str) -> Option<Self> {
        let (start, end) = text.split_once('-')?;
        let (start, end) = (minutes(start)?, minutes(end)?);
        (start != end).then_some(Self { start, end })
    }

    /// Whether the instant `at_ms` (ms since the Unix epoch) falls inside the window.
    pub fn contains(&self, at_ms: i64) -> bool {
        let day_ms = i64::from(MINUTES_PER_DAY) * MS_PER_MINUTE;
        // rem_euclid keeps instants before 1970 in 0..day_ms; the quotient fits in u16.
        let minute = u16::try_from(at_ms.rem_euclid(day_ms) / MS_PER_MINUTE).unwrap_or(0);
        if self.start < self.end {
            self.start <= minute && minute < self.end
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| (m / 60, m % 60);
        let ((sh, sm), (eh, em)) = (hm(self.start), hm(self.end));
        write!(f, "{sh:02}:{sm:02}-{eh:02}:{em:02}")
    }
}

/// `"HH:MM"` as minutes after midnight.
fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_day_window_contains_its_start_but_not_its_end() {
        let w = TimeWindow::parse("08:00-20:00").expect("valid");
        assert!(w.contains(8 * HOUR));
        assert!(w.contains(20 * HOUR - 1));
        assert!(!w.contains(20 * HOUR));
        assert!(!w.contains(7 * HOUR));
        assert_eq!(w.to_string(), "08:00-20:00");
    }

    #[test]
    fn a_night_window_runs_over_midnight_on_every_day() {
        let w = TimeWindow::parse("22:00-06:00").expect("valid");
        let day = 24 * HOUR;
        assert!(w.contains(23 * HOUR + 5 * day));
        assert!(w.contains(HOUR + 9 * day));
        assert!(!w.contains(12 * HOUR));
        assert!(w.contains(-HOUR));
    }

    #[test]
    fn malformed_windows_are_refused() {
        for bad in [
            "",
            "8:00-20:00",
            "08:00",
            "24:00-01:00",
            "08:60-09:00",
            "08:00-08:00",
        ] {
            assert_eq!(TimeWindow::parse(bad), None, "{bad}");
        }
    }
}
