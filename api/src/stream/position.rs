//! A stream position: the next offset on each partition, as an SSE id
//! (`0:17.1:4` — partition 0 at offset 17, partition 1 at offset 4).

use std::collections::BTreeMap;
use std::fmt;

/// Next offset per partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Position(BTreeMap<i32, i64>);

impl Position {
    /// Read an SSE id; `None` for anything that is not one (the stream then starts at the
    /// head).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut map = BTreeMap::new();
        for part in text.trim().split('.').filter(|p| !p.is_empty()) {
            let (partition, offset) = part.split_once(':')?;
            let partition: i32 = partition.parse().ok().filter(|p| *p >= 0)?;
            let offset: i64 = offset.parse().ok().filter(|o| *o >= 0)?;
            map.insert(partition, offset);
        }
        (!map.is_empty()).then_some(Self(map))
    }

    /// Where to resume `partition`, if known.
    pub(crate) fn next_offset(&self, partition: i32) -> Option<i64> {
        self.0.get(&partition).copied()
    }

    /// Each partition and its next offset, in partition order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.0.iter().map(|(p, o)| (*p, *o))
    }

    /// Record that `partition` was read up to `next` (exclusive).
    pub(crate) fn advance(&mut self, partition: i32, next: i64) {
        let entry = self.0.entry(partition).or_insert(next);
        *entry = (*entry).max(next);
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (p, o) in &self.0 {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            write!(f, "{p}:{o}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_what_it_writes_and_refuses_garbage() {
        let mut p = Position::default();
        p.advance(1, 4);
        p.advance(0, 17);
        p.advance(0, 9);
        assert_eq!(p.to_string(), "0:17.1:4");
        assert_eq!(Position::parse("0:17.1:4"), Some(p));
        for bad in ["", "x", "0:-1", "-1:3", "0:3.zz"] {
            assert_eq!(Position::parse(bad), None, "{bad}");
        }
    }
}
