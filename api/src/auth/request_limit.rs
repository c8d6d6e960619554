//! The per-caller request limit (`FLEETLOG_AUTH__REQUESTS_PER_S`): who a caller is, and a
//! bounded-memory rate limiter keyed on it.
//!
//! The caller is the **verified** identity — the account (or provider token) a valid bearer
//! token names — or, when the request carries no token that verifies, the client address
//! (an IPv6 address counts by its /64, the block one host usually holds). The raw
//! `Authorization` header is never the key: varying its spelling or sending made-up
//! tokens only spends the address's allowance.
//!
//! The limiter is GCRA (a token bucket kept as one instant per key): `rate` requests per
//! second with bursts up to `rate`. At most [`MAX_KEYS`] keys are held; when full,
//! entries whose bucket has refilled (they carry no information) are swept, and if every
//! entry is still live a *new* key is refused for a second rather than forgetting the
//! others, so flooding with fresh identities cannot reset anyone's count.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Keys held at most (about 50 bytes each).
pub const MAX_KEYS: usize = 100_000;

/// Who a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// The account or provider token a verified bearer token names.
    Identity(Uuid),
    /// The client address (IPv6: its /64 prefix), for requests without a verified token.
    Address(IpAddr),
    /// No token and no known address (a server without connect info).
    Unknown,
}

impl Caller {
    /// The address key of `ip`: IPv4 (and IPv4-mapped IPv6) as is, IPv6 cut to its /64.
    pub fn address(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Caller::Address(IpAddr::V6(prefix.into()))
            }
            Some(v4) => Caller::Address(v4),
            None => Caller::Unknown,
        }
    }
}

/// At most `rate` requests per second per key, in bounded memory.
#[derive(Debug)]
pub struct RequestLimiter<K> {
    /// Time between two requests at the steady rate.
    interval: Duration,
    /// How far ahead of `now` a key's theoretical arrival time may run (the burst).
    tolerance: Duration,
    max_keys: usize,
    /// Each key's theoretical arrival time (GCRA's TAT).
    keys: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq> RequestLimiter<K> {
    /// `rate` requests per second per key (`rate` ≥ 1), holding at most [`MAX_KEYS`] keys.
    pub fn new(rate: u32) -> Self {
        Self::with_capacity(rate, MAX_KEYS)
    }

    /// As [`Self::new`], holding at most `max_keys` keys.
    pub fn with_capacity(rate: u32, max_keys: usize) -> Self {
        let window = Duration::from_secs(1);
        let interval = window / rate.max(1);
        Self {
            interval,
            tolerance: window.saturating_sub(interval),
            max_keys,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Count a request of `key` at `now`.
    ///
    /// # Errors
    /// How long to wait when `key` is over its rate (the request is not counted), or when
    /// the limiter is full of live keys and `key` is new.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= self.max_keys && !keys.contains_key(&key) {
            keys.retain(|_, tat| *tat > now);
            if keys.len() >= self.max_keys {
                tracing::warn!(
                    keys = keys.len(),
                    "request limiter full of active callers; refusing a new one"
                );
                return Err(self.interval.max(Duration::from_secs(1)));
            }
        }
        let tat = keys.get(&key).copied().map_or(now, |tat| tat.max(now));
        let ahead = tat.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        keys.insert(key, tat + self.interval);
        Ok(())
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_next_slot() {
        let limiter = RequestLimiter::new(5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.check("a", t0).is_ok());
        }
        let wait = limiter.check("a", t0).expect_err("over the limit");
        assert_eq!(wait, Duration::from_millis(200));
        assert!(limiter.check("b", t0).is_ok(), "other keys are unaffected");
        assert!(limiter.check("a", t0 + wait).is_ok(), "a slot freed up");
        assert!(limiter.check("a", t0 + wait).is_err());
        for _ in 0..5 {
            assert!(limiter.check("a", t0 + Duration::from_secs(3)).is_ok());
        }
    }

    #[test]
    fn refused_requests_do_not_push_the_wait_further() {
        let limiter = RequestLimiter::new(2);
        let t0 = Instant::now();
        limiter.check(1, t0).expect("first");
        limiter.check(1, t0).expect("second");
        for _ in 0..100 {
            assert!(limiter.check(1, t0).is_err());
        }
        assert!(limiter.check(1, t0 + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn a_flood_of_new_keys_neither_grows_memory_nor_resets_live_keys() {
        let limiter = RequestLimiter::with_capacity(2, 100);
        let t0 = Instant::now();
        limiter.check(u32::MAX, t0).expect("first");
        limiter.check(u32::MAX, t0).expect("second");
        for key in 0..1000 {
            let _ = limiter.check(key, t0);
        }
        assert_eq!(limiter.len(), 100);
        assert!(
            limiter.check(u32::MAX, t0).is_err(),
            "the flood did not reset the limited key"
        );
        // Once the buckets have refilled, their entries are swept for new keys.
        let later = t0 + Duration::from_secs(2);
        assert!(limiter.check(5000, later).is_ok());
        assert!(limiter.len() <= 100);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Caller::address(Some(a)), Caller::address(Some(b)));
        assert_ne!(Caller::address(Some(a)), Caller::address(Some(c)));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert_eq!(
            Caller::address(Some(mapped)),
            Caller::Address([10, 0, 0, 1].into())
        );
        assert_eq!(Caller::address(None), Caller::Unknown);
    }
}
