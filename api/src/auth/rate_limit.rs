//! Login attempt limits: per email, per client address and per account's TOTP codes.
//!
//! An attempt is **counted before the password is verified**, atomically with the check
//! (one lock per window), so concurrent attempts cannot pass the check together; a
//! successful login gives its reservation back. Over the limit:
//!
//! - per client address: refused until the window slides (`429`, `Retry-After`);
//! - per email and per account's TOTP codes: a **progressive delay**, not a lock — after
//!   the limit each further failure doubles the wait after the latest one (1 s, 2 s, 4 s …)
//!   up to `max_delay`; once it has passed, one attempt is allowed. Someone who knows an
//!   operator's email can slow their logins down but never lock them out for good.
//!
//! In memory and **per process**: with N API processes an attacker gets up to N times the
//! limits, and a restart forgets. Each window holds at most [`MAX_KEYS`] keys; when full,
//! expired keys are swept, and if it is still full a *new* key is refused for a while
//! rather than the others forgotten (flooding cannot reset anyone's count).

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Keys tracked per window at most.
pub const MAX_KEYS: usize = 100_000;
/// Failures remembered beyond the limit (the delay stops growing long before).
const EXTRA_KEPT: usize = 32;

/// What happens once a key has `max` events in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Refused until the oldest event leaves the window.
    Refuse,
    /// One more attempt after 2^(excess) s since the latest event, at most this long.
    Delay(Duration),
}

/// At most `max` events per key within `window`, then [`OverLimit`].
#[derive(Debug)]
pub struct SlidingWindow<K> {
    max: usize,
    window: Duration,
    over: OverLimit,
    max_keys: usize,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq> SlidingWindow<K> {
    /// A window allowing `max` events per key per `window`, then `over`.
    pub fn new(max: u32, window: Duration, over: OverLimit) -> Self {
        Self::with_capacity(max, window, over, MAX_KEYS)
    }

    /// As [`Self::new`], holding at most `max_keys` keys.
    pub fn with_capacity(max: u32, window: Duration, over: OverLimit, max_keys: usize) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            over,
            max_keys,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Check and count one event of `key` at `now`, atomically.
    ///
    /// # Errors
    /// How long to wait when `key` may not have another event now (nothing is counted).
    pub fn try_record(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if events.len() >= self.max_keys && !events.contains_key(&key) {
            events.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now.saturating_duration_since(*last) < self.window)
            });
            if events.len() >= self.max_keys {
                tracing::warn!(
                    keys = events.len(),
                    "login limiter full; refusing a new key"
                );
                return Err(self.window.min(Duration::from_secs(60)));
            }
        }
        let times = events.entry(key).or_default();
        self.expire(times, now);
        if let Some(wait) = self.wait(times, now) {
            return Err(wait);
        }
        times.push_back(now);
        while times.len() > self.max.saturating_add(EXTRA_KEPT) {
            times.pop_front();
        }
        Ok(())
    }

    /// How long `times` must wait before another event at `now`, if at all.
    fn wait(&self, times: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        if times.len() < self.max {
            return None;
        }
        let until = match self.over {
            OverLimit::Refuse => *times.iter().rev().nth(self.max - 1)? + self.window,
            OverLimit::Delay(max_delay) => {
                let excess = u32::try_from(times.len() - self.max).unwrap_or(u32::MAX);
                let delay = Duration::from_secs(1u64 << excess.min(30)).min(max_delay);
                *times.back()? + delay
            }
        };
        let wait = until.saturating_duration_since(now);
        (!wait.is_zero()).then_some(wait)
    }

    /// Give back the latest event of `key` (an attempt that turned out not to be a failure).
    pub fn release<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(times) = events.get_mut(key) {
            times.pop_back();
            if times.is_empty() {
                events.remove(key);
            }
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

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// The limits of `POST /v1/auth/login`.
#[derive(Debug)]
pub struct LoginLimiter {
    by_email: SlidingWindow<String>,
    by_ip: SlidingWindow<IpAddr>,
    by_totp: SlidingWindow<Uuid>,
}

/// The limits' settings.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per email before the progressive delay.
    pub per_email: u32,
    /// Failures per client address before refusal.
    pub per_ip: u32,
    /// Wrong TOTP codes per account before the progressive delay.
    pub totp_per_account: u32,
    /// The sliding window.
    pub window: Duration,
    /// The longest progressive delay.
    pub max_delay: Duration,
}

impl LoginLimiter {
    /// Limiter with `limits`.
    pub fn new(limits: LoginLimits) -> Self {
        let delay = OverLimit::Delay(limits.max_delay);
        Self {
            by_email: SlidingWindow::new(limits.per_email, limits.window, delay),
            by_ip: SlidingWindow::new(limits.per_ip, limits.window, OverLimit::Refuse),
            by_totp: SlidingWindow::new(limits.totp_per_account, limits.window, delay),
        }
    }

    /// Count a login attempt of `email` from `ip` before it is verified.
    ///
    /// # Errors
    /// How long to wait when the address or the email is over its limit (nothing counted).
    pub fn begin(&self, email: &str, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        if let Some(ip) = ip {
            self.by_ip.try_record(ip, now)?;
        }
        if let Err(wait) = self.by_email.try_record(email.to_owned(), now) {
            if let Some(ip) = ip {
                self.by_ip.release(&ip);
            }
            return Err(wait);
        }
        Ok(())
    }

    /// The attempt begun with [`Self::begin`] was not a failure (e.g. a TOTP code is still
    /// needed): give its counts back.
    pub fn not_a_failure(&self, email: &str, ip: Option<IpAddr>) {
        self.by_email.release(email);
        if let Some(ip) = ip {
            self.by_ip.release(&ip);
        }
    }

    /// The attempt succeeded: the email's failures are forgotten, the address's attempt
    /// given back.
    pub fn succeeded(&self, email: &str, ip: Option<IpAddr>) {
        self.by_email.clear(email);
        if let Some(ip) = ip {
            self.by_ip.release(&ip);
        }
    }

    /// Count a TOTP code for `account` before it is checked.
    ///
    /// # Errors
    /// How long to wait when the account had too many wrong codes.
    pub fn begin_totp(&self, account: Uuid, now: Instant) -> Result<(), Duration> {
        self.by_totp.try_record(account, now)
    }

    /// The TOTP code was right: the account's wrong codes are forgotten.
    pub fn totp_succeeded(&self, account: Uuid) {
        self.by_totp.clear(&account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);
    const SEC: Duration = Duration::from_secs(1);

    fn limits(per_email: u32, per_ip: u32) -> LoginLimits {
        LoginLimits {
            per_email,
            per_ip,
            totp_per_account: 3,
            window: WINDOW,
            max_delay: Duration::from_secs(8),
        }
    }

    #[test]
    fn after_the_limit_an_email_waits_a_doubling_delay_capped_never_a_lock() {
        let limiter = LoginLimiter::new(limits(3, 1000));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.begin("a@x.io", None, t0).expect("under the limit");
        }
        assert_eq!(limiter.begin("a@x.io", None, t0), Err(SEC));
        assert!(limiter.begin("b@x.io", None, t0).is_ok(), "other emails");
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let wait = limiter.begin("a@x.io", None, now).expect_err("delayed");
            waits.push(wait.as_secs());
            now += wait;
            limiter
                .begin("a@x.io", None, now)
                .expect("allowed once the delay passed");
        }
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn one_address_is_refused_across_emails_until_the_window_slides() {
        let limiter = LoginLimiter::new(limits(5, 3));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for email in ["a@x.io", "b@x.io", "c@x.io"] {
            limiter.begin(email, Some(ip), now).expect("under");
        }
        assert_eq!(limiter.begin("d@x.io", Some(ip), now), Err(WINDOW));
        assert!(
            limiter
                .begin("d@x.io", Some([10, 0, 0, 2].into()), now)
                .is_ok()
        );
        assert!(limiter.begin("d@x.io", Some(ip), now + WINDOW).is_ok());
    }

    #[test]
    fn a_success_or_a_non_failure_gives_the_counts_back() {
        let limiter = LoginLimiter::new(limits(2, 2));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        limiter.begin("a@x.io", Some(ip), now).expect("first");
        limiter.not_a_failure("a@x.io", Some(ip));
        limiter.begin("a@x.io", Some(ip), now).expect("second");
        limiter.succeeded("a@x.io", Some(ip));
        limiter.begin("a@x.io", Some(ip), now).expect("third");
        limiter.begin("a@x.io", Some(ip), now).expect("fourth");
        assert!(limiter.begin("a@x.io", Some(ip), now).is_err());
    }

    #[test]
    fn concurrent_attempts_never_exceed_the_limit() {
        let limiter = std::sync::Arc::new(LoginLimiter::new(limits(5, 1000)));
        let now = Instant::now();
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let limiter = limiter.clone();
                    s.spawn(move || usize::from(limiter.begin("a@x.io", None, now).is_ok()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(passed, 5);
    }

    #[test]
    fn wrong_totp_codes_are_limited_per_account() {
        let limiter = LoginLimiter::new(limits(5, 20));
        let account = Uuid::now_v7();
        let now = Instant::now();
        for _ in 0..3 {
            limiter.begin_totp(account, now).expect("under");
        }
        assert_eq!(limiter.begin_totp(account, now), Err(SEC));
        assert!(limiter.begin_totp(Uuid::now_v7(), now).is_ok());
        limiter.totp_succeeded(account);
        assert!(limiter.begin_totp(account, now).is_ok());
    }

    #[test]
    fn a_full_window_refuses_new_keys_without_forgetting_old_ones() {
        let window = SlidingWindow::with_capacity(1, WINDOW, OverLimit::Refuse, 10);
        let now = Instant::now();
        for key in 0..10 {
            window.try_record(key, now).expect("room");
        }
        assert!(window.try_record(99, now).is_err());
        assert!(window.try_record(0, now).is_err(), "key 0 still limited");
        assert_eq!(window.len(), 10);
        assert!(
            window.try_record(99, now + WINDOW).is_ok(),
            "expired keys swept"
        );
    }
}
