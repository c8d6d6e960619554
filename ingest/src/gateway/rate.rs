//! Per-connection frame-rate limit: a fixed one-second window.

use std::time::Duration;

use tokio::time::Instant;

/// At most `limit` frames in any one-second window starting at the window's first frame.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    limit: u32,
    window_start: Option<Instant>,
    count: u32,
}

impl RateLimit {
    /// `limit` frames per second (0 disables the limit).
    pub(crate) fn per_second(limit: u32) -> Self {
        Self {
            limit,
            window_start: None,
            count: 0,
        }
    }

    /// Count one frame at `now`; `false` when it exceeds the limit.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if self.limit == 0 {
            return true;
        }
        match self.window_start {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => {
                self.count += 1;
            }
            _ => {
                self.window_start = Some(now);
                self.count = 1;
            }
        }
        self.count <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_beyond_the_limit_within_one_second_are_refused_and_the_window_resets() {
        let mut rate = RateLimit::per_second(3);
        let t0 = Instant::now();
        assert!(rate.allow(t0) && rate.allow(t0) && rate.allow(t0));
        assert!(!rate.allow(t0 + Duration::from_millis(500)));
        assert!(rate.allow(t0 + Duration::from_millis(1500)));
    }
}
