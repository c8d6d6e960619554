//! Device admission: which device ids the gateway knows, and what it does with the rest.

use std::collections::HashSet;
use std::sync::Arc;

use fleetlog_runtime::settings::{AdmissionPolicy, GatewaySettings};

use super::registered::RegisteredDevices;

/// The gateway's decision about a device that identified itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Known: accept, frames are `ok`.
    Admit,
    /// Unknown under `quarantine`: accept, frames are `unknown_device`.
    Quarantine,
    /// Unknown under `reject`: refuse and close.
    Reject,
}

/// Known devices and the policy for the others.
///
/// Known are the devices of registered vehicles ([`RegisteredDevices`], followed from the
/// log) and those listed in configuration (`FLEETLOG_GATEWAY__KNOWN_DEVICES`).
#[derive(Debug, Clone)]
pub struct AdmissionControl {
    known: HashSet<String>,
    registered: Arc<RegisteredDevices>,
    policy: AdmissionPolicy,
}

impl AdmissionControl {
    /// From the gateway settings, with no registered device yet.
    pub fn from_settings(settings: &GatewaySettings) -> Self {
        let known = settings
            .known_devices
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Self {
            known,
            registered: Arc::default(),
            policy: settings.admission,
        }
    }

    /// The registered devices this control admits, filled by
    /// [`super::registered::follow`].
    pub fn registered(&self) -> &Arc<RegisteredDevices> {
        &self.registered
    }

    /// Whether `device_id` is known (configured or registered).
    pub fn is_known(&self, device_id: &str) -> bool {
        self.known.contains(device_id) || self.registered.contains(device_id)
    }

    /// Decide for `device_id`.
    pub fn decide(&self, device_id: &str) -> Admission {
        if self.is_known(device_id) {
            Admission::Admit
        } else {
            match self.policy {
                AdmissionPolicy::Open => Admission::Admit,
                AdmissionPolicy::Quarantine => Admission::Quarantine,
                AdmissionPolicy::Reject => Admission::Reject,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_devices_follow_the_policy_and_known_ones_are_admitted() {
        let mut settings = GatewaySettings {
            known_devices: " 356307042441013 ,123".into(),
            admission: AdmissionPolicy::Reject,
            ..GatewaySettings::default()
        };
        let control = AdmissionControl::from_settings(&settings);
        assert_eq!(control.decide("356307042441013"), Admission::Admit);
        assert_eq!(control.decide("999"), Admission::Reject);
        settings.admission = AdmissionPolicy::Quarantine;
        assert_eq!(
            AdmissionControl::from_settings(&settings).decide("999"),
            Admission::Quarantine
        );
        settings.admission = AdmissionPolicy::Open;
        assert_eq!(
            AdmissionControl::from_settings(&settings).decide("999"),
            Admission::Admit
        );
    }

    #[test]
    fn devices_of_registered_vehicles_are_admitted_once_registered() {
        let settings = GatewaySettings {
            admission: AdmissionPolicy::Reject,
            ..GatewaySettings::default()
        };
        let control = AdmissionControl::from_settings(&settings);
        assert_eq!(control.decide("359000000000101"), Admission::Reject);
        control.registered().insert("359000000000101");
        assert_eq!(control.decide("359000000000101"), Admission::Admit);
        assert!(control.is_known("359000000000101"));
        assert!(!control.is_known("359000000000102"));
    }
}
