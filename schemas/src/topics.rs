//! The topic catalogue (architecture §2): names, keys, and their dead-letter topics.

/// Raw device frames, key = device id; written by the gateway.
pub const FRAMES: &str = "scooter.frames.v1";
/// Device connection opened/closed, key = device id; written by the gateway.
pub const SESSIONS: &str = "scooter.sessions.v1";
/// Decoded device records, key = device id; written by the decoder.
pub const TELEMETRY: &str = "scooter.telemetry.v1";
/// Commands to devices, key = device id; written by the commands service.
pub const DOWNLINK: &str = "scooter.downlink.v1";
/// Device replies and delivery outcomes, key = device id; written by the gateway.
pub const REPLIES: &str = "scooter.replies.v1";
/// App and operator commands as received, key = vehicle id; written by the API.
pub const APP_COMMANDS: &str = "app.commands.v1";
/// Domain events, key = vehicle id; written by the commands service.
pub const FLEET_EVENTS: &str = "fleet.events.v1";

/// Every primary topic, in flow order.
pub const PRIMARY: [&str; 7] = [
    FRAMES,
    SESSIONS,
    TELEMETRY,
    DOWNLINK,
    REPLIES,
    APP_COMMANDS,
    FLEET_EVENTS,
];

/// The dead-letter topic of `topic`: `<topic>.dlq.v1`.
pub fn dlq(topic: &str) -> String {
    format!("{topic}.dlq.v1")
}

/// A topic to create: its name and partition count (`fleetlog_runtime::kafka::create_topics`
/// creates them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
}

/// Every topic `fleetlog topics create` makes: the primary ones with `partitions`
/// partitions, and one dead-letter topic each with `dlq_partitions`.
pub fn all(partitions: i32, dlq_partitions: i32) -> Vec<TopicSpec> {
    PRIMARY
        .iter()
        .map(|name| TopicSpec {
            name: (*name).to_owned(),
            partitions,
        })
        .chain(PRIMARY.iter().map(|name| TopicSpec {
            name: dlq(name),
            partitions: dlq_partitions,
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primary_topic_has_a_dead_letter_topic() {
        let specs = all(4, 1);
        assert_eq!(specs.len(), 14);
        assert!(
            specs
                .iter()
                .any(|t| t.name == "scooter.frames.v1.dlq.v1" && t.partitions == 1)
        );
        assert!(
            specs
                .iter()
                .any(|t| t.name == "fleet.events.v1" && t.partitions == 4)
        );
    }
}
