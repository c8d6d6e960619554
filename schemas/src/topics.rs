//! The topic catalogue (architecture §2): each primary topic typed with its value, the
//! value's CloudEvents type and Avro record, the untyped list of every topic, and their
//! dead-letter topics.
//!
//! One block per topic below holds everything the log says about it: the name (a
//! [`Topic`] constant typed with its value), and the value type's [`TopicValue`]
//! implementation (`ce_type` and root record). Nothing else spells these strings.

mod typed;

pub use typed::{Topic, TopicInfo, TopicValue};

use crate::events::{
    AppCommand, DeviceReply, DownlinkCommand, FleetEvent, RawFrame, SessionEvent, Telemetry,
};

/// Raw device frames, key = device id; written by the gateway.
pub const FRAMES: Topic<'static, RawFrame> = Topic::new("scooter.frames.v1");
impl TopicValue for RawFrame {
    const EVENT_TYPE: &'static str = "io.fleetlog.scooter.frame.v1";
    const RECORD: &'static str = "io.fleetlog.v1.RawFrame";
}

/// Device connection opened/closed, key = device id; written by the gateway.
pub const SESSIONS: Topic<'static, SessionEvent> = Topic::new("scooter.sessions.v1");
impl TopicValue for SessionEvent {
    const EVENT_TYPE: &'static str = "io.fleetlog.scooter.session.v1";
    const RECORD: &'static str = "io.fleetlog.v1.SessionEvent";
}

/// Decoded device records, key = device id; written by the decoder.
pub const TELEMETRY: Topic<'static, Telemetry> = Topic::new("scooter.telemetry.v1");
impl TopicValue for Telemetry {
    const EVENT_TYPE: &'static str = "io.fleetlog.scooter.telemetry.v1";
    const RECORD: &'static str = "io.fleetlog.v1.Telemetry";
}

/// Commands to devices, key = device id; written by the commands service.
pub const DOWNLINK: Topic<'static, DownlinkCommand> = Topic::new("scooter.downlink.v1");
impl TopicValue for DownlinkCommand {
    const EVENT_TYPE: &'static str = "io.fleetlog.scooter.downlink.v1";
    const RECORD: &'static str = "io.fleetlog.v1.DownlinkCommand";
}

/// Device replies and delivery outcomes, key = device id; written by the gateway.
pub const REPLIES: Topic<'static, DeviceReply> = Topic::new("scooter.replies.v1");
impl TopicValue for DeviceReply {
    const EVENT_TYPE: &'static str = "io.fleetlog.scooter.reply.v1";
    const RECORD: &'static str = "io.fleetlog.v1.DeviceReply";
}

/// App and operator commands as received, key = vehicle id; written by the API.
pub const APP_COMMANDS: Topic<'static, AppCommand> = Topic::new("app.commands.v1");
impl TopicValue for AppCommand {
    const EVENT_TYPE: &'static str = "io.fleetlog.app.command.v1";
    const RECORD: &'static str = "io.fleetlog.v1.AppCommand";
}

/// Domain events, key = vehicle id; written by the commands service. Every body shares one
/// `ce_type` (the body's kind is in the value's union branch).
pub const FLEET_EVENTS: Topic<'static, FleetEvent> = Topic::new("fleet.events.v1");
impl TopicValue for FleetEvent {
    const EVENT_TYPE: &'static str = "io.fleetlog.fleet.event.v1";
    const RECORD: &'static str = "io.fleetlog.v1.FleetEvent";
}

/// Every primary topic, value type erased, in flow order.
pub const CATALOGUE: [TopicInfo; 7] = [
    FRAMES.info(),
    SESSIONS.info(),
    TELEMETRY.info(),
    DOWNLINK.info(),
    REPLIES.info(),
    APP_COMMANDS.info(),
    FLEET_EVENTS.info(),
];

/// The name of every primary topic, in flow order ([`CATALOGUE`]'s names).
pub const PRIMARY: [&str; CATALOGUE.len()] = names(&CATALOGUE);

const fn names<const N: usize>(infos: &[TopicInfo; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = infos[i].name;
        i += 1;
    }
    out
}

/// The catalogue entry of the primary topic `name`.
pub fn info(name: &str) -> Option<TopicInfo> {
    CATALOGUE.iter().find(|t| t.name == name).copied()
}

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
mod tests;
