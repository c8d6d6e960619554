//! Open connections per source address (`FLEETLOG_GATEWAY__MAX_CONNECTIONS_PER_ADDRESS`):
//! one host cannot take every connection slot of the gateway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Connection counts per source address.
#[derive(Debug, Default)]
pub(crate) struct AddressSlots {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of an address; gives its slot back when dropped.
#[derive(Debug)]
pub(crate) struct AddressPermit {
    slots: Arc<AddressSlots>,
    ip: Option<IpAddr>,
}

impl AddressSlots {
    /// At most `max` connections per address (0: no limit).
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `ip`, or `None` when it has `max` connections open.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPermit> {
        if self.max == 0 {
            return Some(AddressPermit {
                slots: self.clone(),
                ip: None,
            });
        }
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressPermit {
            slots: self.clone(),
            ip: Some(ip),
        })
    }
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_max_slots_and_they_come_back_when_dropped() {
        let slots = AddressSlots::new(2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = slots.try_acquire(a).expect("first");
        let _second = slots.try_acquire(a).expect("second");
        assert!(slots.try_acquire(a).is_none());
        assert!(slots.try_acquire(b).is_some(), "another address");
        drop(first);
        assert!(slots.try_acquire(a).is_some(), "a slot came back");
        let unlimited = AddressSlots::new(0);
        let held: Vec<_> = (0..100).filter_map(|_| unlimited.try_acquire(a)).collect();
        assert_eq!(held.len(), 100);
    }
}
