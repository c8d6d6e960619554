//! Which connection holds which device, and the downlink commands waiting for it.
//!
//! A command enters a device's mailbox only while a connection here holds the device (from
//! `scooter.downlink.v1`, or from `pending_downlink` at a login) and waits there until the
//! connection takes it (one at a time, when the protocol allows) or it expires (then it is
//! dropped here: its outcome comes from `pending_downlink`, see [`super::directory`]).
//! Connections are woken through a small `Notify`, so an idle connection costs no channel
//! buffer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::DownlinkCommand;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A downlink command with the envelope it arrived with (its id is the causation of
/// every outcome).
#[derive(Debug, Clone)]
pub struct DownlinkRequest {
    /// The command.
    pub command: DownlinkCommand,
    /// Its envelope on `scooter.downlink.v1`.
    pub envelope: Envelope,
}

struct Holder {
    conn_id: u64,
    wake: Arc<Notify>,
    replaced: CancellationToken,
    peer: IpAddr,
    /// When the holding connection last sent a complete frame (ms since the epoch).
    last_frame_ms: Arc<AtomicI64>,
}

/// A connection's claim to a device id.
pub struct Claim {
    /// The claiming connection.
    pub conn_id: u64,
    /// Woken when commands wait.
    pub wake: Arc<Notify>,
    /// Cancelled when a newer connection replaces this one.
    pub replaced: CancellationToken,
    /// The connection's peer address.
    pub peer: IpAddr,
    /// Its last complete frame, kept current by the connection.
    pub last_frame_ms: Arc<AtomicI64>,
}

#[derive(Default)]
struct State {
    holders: HashMap<String, Holder>,
    mailboxes: HashMap<String, VecDeque<DownlinkRequest>>,
}

/// Device → connection routing and mailboxes; one per gateway process.
#[derive(Default)]
pub struct Router {
    state: Mutex<State>,
}

impl Router {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent (single
        // inserts/removes), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `claim` now holds `device_id`, unless another connection holds it from a different
    /// address and sent a complete frame less than `silence_ms` before `now_ms` (then
    /// `false`: a hijack attempt or a duplicate device). An older connection replaced is
    /// told so. Wakes the new holder if commands are waiting.
    pub fn register(&self, device_id: &str, claim: Claim, now_ms: i64, silence_ms: u64) -> bool {
        let mut state = self.lock();
        if let Some(old) = state.holders.get(device_id) {
            let silent = now_ms.saturating_sub(old.last_frame_ms.load(Ordering::Relaxed));
            let silent = u64::try_from(silent).unwrap_or(0);
            if old.peer != claim.peer && silent < silence_ms {
                return false;
            }
        }
        let Claim {
            conn_id,
            wake,
            replaced,
            peer,
            last_frame_ms,
        } = claim;
        let waiting = state
            .mailboxes
            .get(device_id)
            .is_some_and(|m| !m.is_empty());
        if waiting {
            wake.notify_one();
        }
        let old = state.holders.insert(
            device_id.to_owned(),
            Holder {
                conn_id,
                wake,
                replaced,
                peer,
                last_frame_ms,
            },
        );
        if let Some(old) = old {
            old.replaced.cancel();
        }
        true
    }

    /// Connection `conn_id` no longer holds `device_id` (no-op if a newer one does).
    pub fn unregister(&self, device_id: &str, conn_id: u64) {
        let mut state = self.lock();
        if state
            .holders
            .get(device_id)
            .is_some_and(|h| h.conn_id == conn_id)
        {
            state.holders.remove(device_id);
        }
    }

    /// Queue a command for its device if a connection here holds the device (and wake
    /// it); returns whether one does. Commands for other devices are not kept: they wait
    /// in `pending_downlink` for a login.
    pub fn route(&self, request: DownlinkRequest) -> bool {
        let mut state = self.lock();
        let device = request.command.device_id.clone();
        let Some(holder) = state.holders.get(&device) else {
            return false;
        };
        holder.wake.notify_one();
        state
            .mailboxes
            .entry(device)
            .or_default()
            .push_back(request);
        true
    }

    /// The next waiting command for `device_id`, if any.
    pub fn take(&self, device_id: &str) -> Option<DownlinkRequest> {
        let mut state = self.lock();
        let mailbox = state.mailboxes.get_mut(device_id)?;
        let next = mailbox.pop_front();
        if mailbox.is_empty() {
            state.mailboxes.remove(device_id);
        }
        next
    }

    /// Drop every waiting command whose expiry is at or before `now_ms` (and the mailboxes
    /// of devices no connection here holds any more); returns how many were dropped.
    pub fn take_expired(&self, now_ms: i64) -> usize {
        let mut state = self.lock();
        let State { holders, mailboxes } = &mut *state;
        let mut dropped = 0;
        mailboxes.retain(|device, mailbox| {
            let before = mailbox.len();
            if holders.contains_key(device) {
                mailbox.retain(|r| r.command.expires_at_ms > now_ms);
            } else {
                mailbox.clear();
            }
            dropped += before - mailbox.len();
            !mailbox.is_empty()
        });
        dropped
    }

    /// Devices with an open connection on this gateway.
    pub fn connected(&self) -> usize {
        self.lock().holders.len()
    }
}
