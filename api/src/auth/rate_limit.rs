//! Login failure limits: a sliding window of failures per email and per client address.
//!
//! In memory and **per process**: with N API processes an attacker gets up to N times the
//! limit, and a restart forgets. Counting is approximate under concurrency (a few parallel
//! attempts may pass the check together). Once an email is over its limit even the right
//! password is refused until the window slides, which bounds guessing at the price of
//! letting someone lock an account out for one window.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys tracked per window before expired entries are swept (and, if still over, all are
/// dropped: memory stays bounded whatever an attacker sends).
const MAX_KEYS: usize = 100_000;

/// At most `max` events per key within `window`.
#[derive(Debug)]
pub struct SlidingWindow<K> {
    max: usize,
    window: Duration,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq> SlidingWindow<K> {
    /// A window allowing `max` events per key per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when `key` already had `max` events in the window ending at `now`.
    pub fn retry_after<Q>(&self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let times = events.get_mut(key)?;
        self.expire(times, now);
        if times.len() < self.max {
            return None;
        }
        let oldest = *times.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    /// Count one event for `key` at `now`.
    pub fn record(&self, key: K, now: Instant) {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if events.len() >= MAX_KEYS && !events.contains_key(&key) {
            events.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now.saturating_duration_since(*last) < self.window)
            });
            if events.len() >= MAX_KEYS {
                tracing::warn!(
                    keys = events.len(),
                    "login limiter full; forgetting all keys"
                );
                events.clear();
            }
        }
        let times = events.entry(key).or_default();
        self.expire(times, now);
        times.push_back(now);
        while times.len() > self.max {
            times.pop_front();
        }
    }

    /// Forget `key`'s events.
    pub fn clear<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    fn expire(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }
}

/// Failed-login limits per email and per client address.
#[derive(Debug)]
pub struct LoginLimiter {
    by_email: SlidingWindow<String>,
    by_ip: SlidingWindow<IpAddr>,
}

impl LoginLimiter {
    /// `per_email` and `per_ip` failures allowed per `window`.
    pub fn new(per_email: u32, per_ip: u32, window: Duration) -> Self {
        Self {
            by_email: SlidingWindow::new(per_email, window),
            by_ip: SlidingWindow::new(per_ip, window),
        }
    }

    /// `Err(wait)` when the email or the address is over its limit.
    ///
    /// # Errors
    /// The longer of the two waits.
    pub fn check(&self, email: &str, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let by_email = self.by_email.retry_after(email, now);
        let by_ip = ip.and_then(|ip| self.by_ip.retry_after(&ip, now));
        match by_email.max(by_ip) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Count a failed attempt.
    pub fn failed(&self, email: &str, ip: Option<IpAddr>, now: Instant) {
        self.by_email.record(email.to_owned(), now);
        if let Some(ip) = ip {
            self.by_ip.record(ip, now);
        }
    }

    /// A successful login clears the email's failures (not the address's).
    pub fn succeeded(&self, email: &str) {
        self.by_email.clear(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn the_sixth_failure_within_the_window_is_refused_until_the_first_expires() {
        let limiter = LoginLimiter::new(5, 20, WINDOW);
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.check("a@x.io", None, t0).is_ok());
            limiter.failed("a@x.io", None, t0 + Duration::from_secs(i * 10));
        }
        let now = t0 + Duration::from_secs(60);
        assert_eq!(
            limiter.check("a@x.io", None, now),
            Err(WINDOW - Duration::from_secs(60))
        );
        assert!(
            limiter.check("b@x.io", None, now).is_ok(),
            "other emails are unaffected"
        );
        assert!(
            limiter.check("a@x.io", None, t0 + WINDOW).is_ok(),
            "the window slid"
        );
    }

    #[test]
    fn one_address_is_limited_across_emails() {
        let limiter = LoginLimiter::new(5, 3, WINDOW);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for email in ["a@x.io", "b@x.io", "c@x.io"] {
            limiter.failed(email, Some(ip), now);
        }
        assert!(limiter.check("d@x.io", Some(ip), now).is_err());
        assert!(
            limiter
                .check("d@x.io", Some([10, 0, 0, 2].into()), now)
                .is_ok()
        );
    }

    #[test]
    fn a_success_clears_the_email_count() {
        let limiter = LoginLimiter::new(2, 20, WINDOW);
        let now = Instant::now();
        limiter.failed("a@x.io", None, now);
        limiter.failed("a@x.io", None, now);
        assert!(limiter.check("a@x.io", None, now).is_err());
        limiter.succeeded("a@x.io");
        assert!(limiter.check("a@x.io", None, now).is_ok());
    }

    #[test]
    fn memory_stays_bounded_under_many_keys() {
        let window = SlidingWindow::new(1, WINDOW);
        let now = Instant::now();
        for i in 0..(MAX_KEYS as u64 + 10) {
            window.record(i, now);
        }
        let len = window.events.lock().expect("lock").len();
        assert!(len <= MAX_KEYS, "{len}");
    }
}
