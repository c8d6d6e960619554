//! A stream's own position and how it joins the shared reader without a gap or a
//! duplicate (no I/O; the readers feed it).
//!
//! Every record comes with the reader's position before it on its partition
//! (`prev_next`). A record is delivered when it starts at or before the stream's position
//! and ends after it; one that ends at or before it was already delivered (skipped); one
//! that starts after it would leave a gap, so the stream reads the gap itself first
//! ([`Cursor::behind`] names what to read) and only then takes the shared records again.

use super::position::Position;

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// New to this stream: send it (if the user may see it); the position moved past it.
    Deliver,
    /// Already behind the stream's position: drop it.
    Skip,
    /// Records before it were not seen by this stream: catch up first.
    Gap,
}

/// A stretch of one partition a stream must read itself: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Behind {
    pub(crate) partition: i32,
    pub(crate) from: i64,
    pub(crate) to: i64,
}

/// A stream's position: the next offset it has not seen on each partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor(Position);

impl Cursor {
    /// The position of a new stream on the partitions `live` (the shared reader's
    /// position) names: `resume` (a `Last-Event-ID`) where it names one, else the shared
    /// reader's position (the head).
    pub(crate) fn start(resume: Option<&Position>, live: &Position) -> Self {
        let mut position = Position::default();
        for (partition, head) in live.iter() {
            let next = resume
                .and_then(|r| r.next_offset(partition))
                .unwrap_or(head);
            position.advance(partition, next);
        }
        Self(position)
    }

    /// Where the stream is (the SSE id of its latest event).
    pub(crate) fn position(&self) -> &Position {
        &self.0
    }

    /// The stretches between this position and `target` the stream has not seen.
    pub(crate) fn behind(&self, target: &Position) -> Vec<Behind> {
        target
            .iter()
            .filter_map(|(partition, to)| {
                let from = self.0.next_offset(partition)?;
                (from < to).then_some(Behind {
                    partition,
                    from,
                    to,
                })
            })
            .collect()
    }

    /// What to do with the record at `offset` of `partition`, read by a reader whose
    /// position on the partition was `prev_next` before it.
    pub(crate) fn step(&mut self, partition: i32, offset: i64, prev_next: i64) -> Step {
        let Some(next) = self.0.next_offset(partition) else {
            return Step::Skip; // a partition the stream does not follow
        };
        if prev_next > next {
            Step::Gap
        } else if offset < next {
            Step::Skip
        } else {
            self.0.advance(partition, offset + 1);
            Step::Deliver
        }
    }

    /// Everything of `partition` before `next` was read (a catch-up reader reached the
    /// end of the partition, past which only control records may lie before `next`).
    pub(crate) fn reach(&mut self, partition: i32, next: i64) {
        if self.0.next_offset(partition).is_some() {
            self.0.advance(partition, next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(text: &str) -> Position {
        Position::parse(text).expect("a position")
    }

    #[test]
    fn a_new_stream_starts_at_the_head_and_a_resumed_one_where_its_id_says() {
        let live = pos("0:10.1:20");
        assert_eq!(Cursor::start(None, &live).position(), &live);
        let resumed = Cursor::start(Some(&pos("0:4.7:99")), &live);
        assert_eq!(
            resumed.position(),
            &pos("0:4.1:20"),
            "partitions the log lacks are dropped, missing ones start at the head"
        );
        assert_eq!(
            resumed.behind(&live),
            vec![Behind {
                partition: 0,
                from: 4,
                to: 10
            }]
        );
    }

    #[test]
    fn a_caught_up_stream_joins_the_shared_records_with_no_gap_and_no_duplicate() {
        let live = pos("0:10");
        let mut cursor = Cursor::start(Some(&pos("0:4")), &live);
        // Catch-up reads 4..10 itself (8 and 9 are control records: the end is reached).
        for offset in 4..8 {
            assert_eq!(cursor.step(0, offset, offset), Step::Deliver);
        }
        cursor.reach(0, 10);
        assert!(cursor.behind(&live).is_empty());
        // A shared record it already read, then the first new one.
        assert_eq!(cursor.step(0, 7, 7), Step::Skip);
        assert_eq!(cursor.step(0, 10, 10), Step::Deliver);
        assert_eq!(cursor.step(0, 12, 11), Step::Deliver);
        assert_eq!(cursor.position(), &pos("0:13"));
    }

    #[test]
    fn a_record_after_unseen_ones_is_a_gap_not_a_delivery() {
        let mut cursor = Cursor::start(None, &pos("0:10.1:3"));
        assert_eq!(cursor.step(0, 14, 12), Step::Gap, "10 and 11 were not seen");
        assert_eq!(cursor.position(), &pos("0:10.1:3"), "a gap moves nothing");
        assert_eq!(
            cursor.behind(&pos("0:14.1:3")),
            vec![Behind {
                partition: 0,
                from: 10,
                to: 14
            }]
        );
        assert_eq!(cursor.step(5, 0, 0), Step::Skip, "an unknown partition");
    }

    #[test]
    fn a_stream_ahead_of_the_shared_reader_skips_until_it_is_reached() {
        let mut cursor = Cursor::start(Some(&pos("0:12")), &pos("0:9"));
        assert!(cursor.behind(&pos("0:9")).is_empty());
        assert_eq!(cursor.step(0, 9, 9), Step::Skip);
        assert_eq!(cursor.step(0, 11, 10), Step::Skip);
        assert_eq!(cursor.step(0, 12, 12), Step::Deliver);
    }
}
