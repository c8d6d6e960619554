//! Deterministic ids of what an input derives: every label in one enum.
//!
//! A replayed input must produce the very ids it produced the first time (that is what
//! makes processing it twice harmless: the read models and the outbox key on them). The ids
//! are UUID v5 of the parent id and a label, so renaming a label silently breaks replay:
//! the labels live here, spelled once, and a golden test pins the ids they give.

use std::fmt;

use uuid::Uuid;

/// What is derived from a parent (a frame, a command, a vehicle's clock, a batch input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived<'a> {
    /// The `i`-th record of a frame: its telemetry event (`record-<i>`).
    Record(usize),
    /// The reservation a reserve command makes (`reservation`).
    Reservation,
    /// The unlock downlink of a ride start or an operator unlock (`unlock`).
    Unlock,
    /// The ride a start command begins (`ride`).
    Ride,
    /// The lock downlink of a ride end or an operator lock (`lock`).
    Lock,
    /// The locate downlink of an operator's locate command (`locate`).
    Locate,
    /// A vehicle's clock input at a time, ms (`due-<ms>`).
    Due(i64),
    /// The `index`-th fleet event a decision emits, under `prefix` (`<prefix>fleet-<i>`;
    /// the prefix tells apart decisions under one parent, e.g. saga steps).
    FleetEvent {
        /// What tells this decision apart under its parent ("" for none).
        prefix: &'a str,
        /// Its position among the decision's fleet events.
        index: usize,
    },
}

impl Derived<'_> {
    /// The id of this child of `parent` (UUID v5 in the parent's namespace).
    pub fn id(&self, parent: Uuid) -> Uuid {
        Uuid::new_v5(&parent, self.to_string().as_bytes())
    }
}

impl fmt::Display for Derived<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Record(i) => write!(f, "record-{i}"),
            Self::Reservation => f.write_str("reservation"),
            Self::Unlock => f.write_str("unlock"),
            Self::Ride => f.write_str("ride"),
            Self::Lock => f.write_str("lock"),
            Self::Locate => f.write_str("locate"),
            Self::Due(ms) => write!(f, "due-{ms}"),
            Self::FleetEvent { prefix, index } => write!(f, "{prefix}fleet-{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids every label gives under one parent, as replays of stored logs expect them.
    /// A change here breaks replay idempotence of every log written before it.
    #[test]
    fn labels_give_the_ids_stored_logs_were_written_with() {
        let parent = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let golden = [
            (Derived::Record(0), "record-0"),
            (Derived::Record(3), "record-3"),
            (Derived::Reservation, "reservation"),
            (Derived::Unlock, "unlock"),
            (Derived::Ride, "ride"),
            (Derived::Lock, "lock"),
            (Derived::Locate, "locate"),
            (Derived::Due(1_764_000_000_000), "due-1764000000000"),
            (
                Derived::FleetEvent {
                    prefix: "",
                    index: 1,
                },
                "fleet-1",
            ),
            (
                Derived::FleetEvent {
                    prefix: "step-",
                    index: 0,
                },
                "step-fleet-0",
            ),
        ];
        for (derived, label) in golden {
            assert_eq!(derived.to_string(), label);
            assert_eq!(derived.id(parent), Uuid::new_v5(&parent, label.as_bytes()));
        }
        let ids: Vec<String> = golden
            .iter()
            .map(|(d, _)| d.id(parent).to_string())
            .collect();
        assert_eq!(ids, GOLDEN_IDS);
    }

    /// Computed independently (Python's `uuid.uuid5` of the parent and each label).
    const GOLDEN_IDS: [&str; 10] = [
        "dc78b151-f89e-5e3c-a8eb-697c3dca6851",
        "fd22b39e-c33f-5880-a57f-0ba41aa4464d",
        "f16b9c2f-32d7-5930-9325-01d5fc541cb8",
        "a9fe7866-3928-5149-af73-e67eedadbccd",
        "1ff6c3ca-f213-57d9-aed9-d578e4475b4c",
        "5d3cc3b2-c695-5c63-8c29-ea45c96bf703",
        "6ed976d0-dd6a-5518-8522-6b4a9d011ec7",
        "75e480bf-7702-517c-9890-15978f10bbba",
        "7e71130e-50ae-5b6a-ac9a-570adb3aea23",
        "7e09199c-e829-5c8e-afed-e72481fbdc41",
    ];
}
