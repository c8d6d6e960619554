//! Device admission: which device ids the gateway knows, and what it does with the rest.

use std::collections::HashSet;

use fleetlog_runtime::settings::{AdmissionPolicy, GatewaySettings};

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
/// Until the vehicle registry exists, known devices come from configuration
/// (`FLEETLOG_GATEWAY__KNOWN_DEVICES`).
#[derive(Debug, Clone)]
pub struct AdmissionControl {
    known: HashSet<String>,
    policy: AdmissionPolicy,
}

impl AdmissionControl {
    /// From the gateway settings.
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
            policy: settings.admission,
        }
    }

    /// Decide for `device_id`.
    pub fn decide(&self, device_id: &str) -> Admission {
        if self.known.contains(device_id) {
            Admission::Admit
        } else {
            match self.policy {
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
    }
}
