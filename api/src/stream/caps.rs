//! How many streams are open, per account and per process, against the configured caps
//! (`FLEETLOG_API__STREAM_MAX_PER_USER`, `__STREAM_MAX_PER_PROCESS`). A stream holds a
//! [`Permit`] for as long as it is open; dropping it (the client went away, the token
//! expired, the session ended, the API shuts down) gives the place back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use fleetlog_runtime::settings::ApiSettings;
use uuid::Uuid;

use super::metrics;

/// The caps; `0` is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Open streams per account.
    pub(crate) per_user: u32,
    /// Open streams per process.
    pub(crate) per_process: u32,
}

impl From<&ApiSettings> for Limits {
    fn from(settings: &ApiSettings) -> Self {
        Self {
            per_user: settings.stream_max_per_user,
            per_process: settings.stream_max_per_process,
        }
    }
}

/// Which cap refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The account already holds its cap of streams.
    User,
    /// The process already serves its cap of streams.
    Process,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_user: HashMap<Uuid, u32>,
}

/// The open-stream counts of one API process.
#[derive(Debug)]
pub(crate) struct Caps {
    limits: Limits,
    counts: Mutex<Counts>,
}

impl Caps {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::default(),
        })
    }

    /// A place for one more stream of `user`, or which cap refuses it.
    pub(crate) fn acquire(self: &Arc<Self>, user: Uuid) -> Result<Permit, Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let over = |count: u32, cap: u32| cap != 0 && count >= cap;
        if over(counts.total, self.limits.per_process) {
            return Err(Refused::Process);
        }
        let mine = counts.per_user.get(&user).copied().unwrap_or(0);
        if over(mine, self.limits.per_user) {
            return Err(Refused::User);
        }
        counts.total += 1;
        counts.per_user.insert(user, mine + 1);
        ::metrics::gauge!(metrics::STREAMS_OPEN).increment(1.0);
        Ok(Permit {
            caps: Arc::clone(self),
            user,
        })
    }

    /// Streams open now.
    pub(crate) fn open(&self) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    fn release(&self, user: Uuid) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.per_user.get_mut(&user) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                counts.per_user.remove(&user);
            }
        }
        ::metrics::gauge!(metrics::STREAMS_OPEN).decrement(1.0);
    }
}

/// One open stream's place; given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    caps: Arc<Caps>,
    user: Uuid,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.caps.release(self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(per_user: u32, per_process: u32) -> Arc<Caps> {
        Caps::new(Limits {
            per_user,
            per_process,
        })
    }

    #[test]
    fn an_account_gets_its_cap_of_streams_and_a_closed_one_gives_its_place_back() {
        let caps = caps(2, 0);
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let first = caps.acquire(me).expect("first");
        let _second = caps.acquire(me).expect("second");
        assert_eq!(caps.acquire(me).err(), Some(Refused::User));
        let _theirs = caps
            .acquire(other)
            .expect("another account has its own cap");
        drop(first);
        let _third = caps.acquire(me).expect("the closed stream's place");
        assert_eq!(caps.open(), 3);
    }

    #[test]
    fn the_process_cap_counts_every_account_and_zero_means_no_cap() {
        let caps = caps(0, 2);
        let held: Vec<_> = (0..2)
            .map(|_| caps.acquire(Uuid::now_v7()).expect("under the cap"))
            .collect();
        assert_eq!(caps.acquire(Uuid::now_v7()).err(), Some(Refused::Process));
        drop(held);
        assert_eq!(caps.open(), 0);
        let unlimited = self::caps(0, 0);
        let me = Uuid::now_v7();
        let many: Vec<_> = (0..50).map(|_| unlimited.acquire(me)).collect();
        assert!(many.iter().all(Result::is_ok));
    }

    #[test]
    fn dropping_every_permit_forgets_the_account() {
        let caps = caps(1, 1);
        let me = Uuid::now_v7();
        drop(caps.acquire(me).expect("first"));
        let counts = caps.counts.lock().expect("lock");
        assert_eq!((counts.total, counts.per_user.len()), (0, 0));
    }
}
