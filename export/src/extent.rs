//! What a partition holds — its offsets and the broker timestamps of its first and last
//! record — where a `--from`/`--to` bound falls in it, and, when a range holds nothing,
//! why, in words an analyst can act on. No I/O: the broker's answers come in as values.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::bounds::Bound;

/// One partition as the run found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Low watermark: the first offset the partition holds.
    pub low: i64,
    /// High watermark: the offset the next record will get.
    pub high: i64,
    /// Broker timestamp (ms) of the record at `low`, if one could be read.
    pub first_ms: Option<i64>,
    /// Broker timestamp (ms) of the last record, if one could be read.
    pub last_ms: Option<i64>,
}

impl Extent {
    /// The partition holds no record.
    pub fn is_empty(&self) -> bool {
        self.low >= self.high
    }

    /// The offset `bound` means in this partition. A time after the last record is the
    /// end, one at or before the first record is the start; a time between them is the
    /// first offset at or after it, which `lookup` asks the broker for (`ListOffsets` by
    /// time; `None`: no record at or after it).
    ///
    /// # Errors
    /// Whatever `lookup` returns.
    pub fn place<E>(
        &self,
        bound: Bound,
        lookup: impl FnOnce(i64) -> Result<Option<i64>, E>,
    ) -> Result<i64, E> {
        let (low, high) = (self.low, self.high);
        Ok(match bound {
            Bound::Earliest => low,
            Bound::Latest => high,
            Bound::Offset(o) => o.clamp(low, high),
            Bound::Time(t) => {
                let ms = t.timestamp_millis();
                if self.is_empty() || self.last_ms.is_some_and(|last| ms > last) {
                    high
                } else if self.first_ms.is_some_and(|first| ms <= first) {
                    low
                } else {
                    lookup(ms)?.map_or(high, |o| o.clamp(low, high))
                }
            }
        })
    }
}

fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// Why `[from, to)` holds no record of a topic whose partitions are `extents`.
pub fn why_empty(extents: &[Extent], from: Bound, to: Bound) -> String {
    let held: i64 = extents.iter().map(|e| (e.high - e.low).max(0)).sum();
    let end = extents.iter().map(|e| e.high).max().unwrap_or(0);
    if held == 0 {
        return if end == 0 {
            "the topic holds no records (nothing was ever written to it)".to_owned()
        } else {
            format!(
                "the topic holds no records now (the {end} written before were deleted by \
                 retention or compaction)"
            )
        };
    }
    let first = extents.iter().filter_map(|e| e.first_ms).min();
    let last = extents.iter().filter_map(|e| e.last_ms).max();
    let span = match (first, last) {
        (Some(a), Some(b)) => format!(
            "it holds {held} records, broker times {} to {}",
            time(a),
            time(b)
        ),
        _ => format!("it holds {held} records"),
    };
    let start = extents.iter().map(|e| e.low).min().unwrap_or(0);
    let cause = match (from, to) {
        (Bound::Time(t), _) if last.is_some_and(|l| t.timestamp_millis() > l) => {
            format!("--from {from} is after its last record")
        }
        (_, Bound::Time(t)) if first.is_some_and(|f| t.timestamp_millis() <= f) => {
            format!("--to {to} is at or before its first record")
        }
        (Bound::Time(a), Bound::Time(b)) if a >= b => {
            format!("--from {from} is not before --to {to}")
        }
        (Bound::Offset(a), Bound::Offset(b)) if a >= b => {
            format!("--from {from} is not before --to {to}")
        }
        (Bound::Offset(o), _) if o >= end => {
            format!("--from {from} is at or past the end of every partition (at most {end})")
        }
        (_, Bound::Offset(o)) if o <= start => {
            format!("--to {to} is at or before the first offset of every partition ({start})")
        }
        (Bound::Latest, _) => "--from latest starts where the log ends".to_owned(),
        (_, Bound::Earliest) => "--to earliest ends where the log starts".to_owned(),
        _ => format!("no record falls in [{from}, {to})"),
    };
    format!("{cause}; {span}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    /// 2026-01-01T00:00:00Z.
    const JAN_1: i64 = 1_767_225_600_000;

    fn held() -> Extent {
        Extent {
            low: 10,
            high: 20,
            first_ms: Some(JAN_1 + 3_600_000),
            last_ms: Some(JAN_1 + 2 * DAY_MS),
        }
    }

    fn bound(s: &str) -> Bound {
        s.parse().expect("a bound")
    }

    fn never(_: i64) -> Result<Option<i64>, ()> {
        panic!("the broker is not asked about a time outside the records")
    }

    #[test]
    fn a_time_after_the_last_record_is_the_end_and_one_before_the_first_is_the_start() {
        let e = held();
        assert_eq!(e.place(bound("2100-01-01T00:00:00Z"), never), Ok(20));
        assert_eq!(e.place(bound("2100-01-01"), never), Ok(20));
        assert_eq!(e.place(bound("2020-01-01"), never), Ok(10));
        assert_eq!(e.place(bound("2026-01-01T01:00:00Z"), never), Ok(10));
    }

    #[test]
    fn a_time_inside_the_records_is_the_brokers_answer_clamped() {
        let e = held();
        let asked = |ms: i64| -> Result<Option<i64>, ()> {
            assert_eq!(ms, JAN_1 + DAY_MS);
            Ok(Some(14))
        };
        assert_eq!(e.place(bound("2026-01-02"), asked), Ok(14));
        assert_eq!(e.place(bound("2026-01-02"), |_| Ok::<_, ()>(None)), Ok(20));
        assert_eq!(
            e.place(bound("2026-01-02"), |_| Ok::<_, ()>(Some(3))),
            Ok(10)
        );
        assert_eq!(e.place(bound("2026-01-02"), |_| Err("down")), Err("down"));
    }

    #[test]
    fn offsets_are_clamped_and_an_empty_partition_is_its_end() {
        let e = held();
        assert_eq!(e.place(bound("5"), never), Ok(10));
        assert_eq!(e.place(bound("15"), never), Ok(15));
        assert_eq!(e.place(bound("99"), never), Ok(20));
        let empty = Extent {
            low: 7,
            high: 7,
            first_ms: None,
            last_ms: None,
        };
        assert_eq!(empty.place(bound("2026-01-02"), never), Ok(7));
    }

    #[test]
    fn an_empty_range_says_why() {
        let e = [held()];
        let why = |from: &str, to: &str| why_empty(&e, bound(from), bound(to));
        let after = why("2030-01-01", "latest");
        assert!(after.starts_with("--from 2030-01-01T00:00:00Z is after its last record"));
        assert!(
            after.ends_with(
                "it holds 10 records, broker times 2026-01-01T01:00:00.000Z to \
                 2026-01-03T00:00:00.000Z"
            ),
            "{after}"
        );
        assert!(
            why("earliest", "2025-06-01").starts_with("--to 2025-06-01T00:00:00Z is at or before")
        );
        assert!(
            why("2026-01-02", "2026-01-02")
                .starts_with("--from 2026-01-02T00:00:00Z is not before")
        );
        assert!(why("30", "40").starts_with("--from 30 is at or past the end"));
        assert!(why("9", "3").starts_with("--from 9 is not before --to 3"));
        assert!(why("earliest", "10").starts_with("--to 10 is at or before the first offset"));
        assert!(
            why("2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z").starts_with("no record falls in")
        );
    }

    #[test]
    fn an_empty_topic_says_whether_it_ever_held_records() {
        let never_written = Extent {
            low: 0,
            high: 0,
            first_ms: None,
            last_ms: None,
        };
        let deleted = Extent {
            low: 40,
            high: 40,
            first_ms: None,
            last_ms: None,
        };
        let (e, l) = (Bound::Earliest, Bound::Latest);
        assert!(why_empty(&[never_written], e, l).contains("nothing was ever written"));
        assert!(why_empty(&[never_written, deleted], e, l).contains("the 40 written before"));
    }
}
