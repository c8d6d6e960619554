//! Counters of a simulation: live (shared, updated by every scooter) and as a snapshot.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::protocol::LockState;

/// A snapshot of a simulation's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Device frames written (logins, reports, re-sends, command replies).
    pub frames_sent: u64,
    /// Expected answers received: login replies and ACKs.
    pub acks_received: u64,
    /// ACKs that did not come in time or carried a wrong count.
    pub ack_failures: u64,
    /// Frames sent again because their ACK was missing or wrong.
    pub resends: u64,
    /// Connections opened after the first one (after a drop or a missing ACK).
    pub reconnects: u64,
    /// Server commands carried out (an Omni R0 key hand-out alone does not count).
    pub commands_obeyed: u64,
    /// Lock state of every scooter, by device id.
    pub locks: BTreeMap<String, LockState>,
}

impl SimStats {
    /// How many scooters are locked and unlocked.
    pub fn lock_counts(&self) -> (usize, usize) {
        let locked = self
            .locks
            .values()
            .filter(|l| **l == LockState::Locked)
            .count();
        (locked, self.locks.len() - locked)
    }
}

impl fmt::Display for SimStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (locked, unlocked) = self.lock_counts();
        write!(
            f,
            "{} scooters ({locked} locked, {unlocked} unlocked): {} frames sent, {} acks, \
             {} ack failures, {} re-sends, {} reconnects, {} commands obeyed",
            self.locks.len(),
            self.frames_sent,
            self.acks_received,
            self.ack_failures,
            self.resends,
            self.reconnects,
            self.commands_obeyed,
        )
    }
}

/// Counters shared by the scooters of a running simulation; read with [`Self::snapshot`].
#[derive(Debug, Default)]
pub struct LiveStats {
    frames_sent: AtomicU64,
    acks_received: AtomicU64,
    ack_failures: AtomicU64,
    resends: AtomicU64,
    reconnects: AtomicU64,
    commands_obeyed: AtomicU64,
    locks: Mutex<BTreeMap<String, LockState>>,
}

impl LiveStats {
    /// The counters now.
    pub fn snapshot(&self) -> SimStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimStats {
            frames_sent: get(&self.frames_sent),
            acks_received: get(&self.acks_received),
            ack_failures: get(&self.ack_failures),
            resends: get(&self.resends),
            reconnects: get(&self.reconnects),
            commands_obeyed: get(&self.commands_obeyed),
            locks: self.locks().clone(),
        }
    }

    /// The lock state last recorded for `device_id`.
    pub fn lock_of(&self, device_id: &str) -> Option<LockState> {
        self.locks().get(device_id).copied()
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LockState>> {
        self.locks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn frame_sent(&self) {
        Self::bump(&self.frames_sent);
    }

    pub(crate) fn ack_received(&self) {
        Self::bump(&self.acks_received);
    }

    pub(crate) fn ack_failed(&self) {
        Self::bump(&self.ack_failures);
    }

    pub(crate) fn resent(&self) {
        Self::bump(&self.resends);
    }

    pub(crate) fn reconnected(&self) {
        Self::bump(&self.reconnects);
    }

    pub(crate) fn command_obeyed(&self) {
        Self::bump(&self.commands_obeyed);
    }

    pub(crate) fn set_lock(&self, device_id: &str, lock: LockState) {
        self.locks().insert(device_id.to_owned(), lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_displays_on_one_line() {
        let live = LiveStats::default();
        live.frame_sent();
        live.frame_sent();
        live.ack_received();
        live.set_lock("1", LockState::Locked);
        live.set_lock("2", LockState::Unlocked);
        let text = live.snapshot().to_string();
        assert_eq!(
            text,
            "2 scooters (1 locked, 1 unlocked): 2 frames sent, 1 acks, 0 ack failures, \
             0 re-sends, 0 reconnects, 0 commands obeyed"
        );
    }
}
