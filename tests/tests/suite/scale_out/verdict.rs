//! What the scale-out test reads back from the log for its verdict: the frames, the app
//! commands and their decisions, the downlink commands and their outcomes. Records an
//! outbox or relay appended twice are one record (one event id), as every consumer of the
//! log dedupes them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use fleetlog_runtime::Settings;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    AppCommand, DeviceReply, DownlinkCommand, FleetEvent, FleetEventBody, RawFrame, ReplyOutcome,
};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use fleetlog_tests::log::read_to_end;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use uuid::Uuid;

use super::fleet::Seen;

const READ_FOR: Duration = Duration::from_secs(60);

async fn read(settings: &Settings, topic: &str) -> Vec<OwnedMessage> {
    read_to_end(settings, topic, READ_FOR).await
}

/// The ACKed frames of `seen` missing from `scooter.frames.v1`, and how many were ACKed.
pub(super) async fn acked_frames_missing(
    settings: &Settings,
    codec: &WireCodec,
    seen: &[Seen],
) -> (Vec<String>, usize) {
    let mut logged: HashSet<(String, Vec<u8>)> = HashSet::new();
    for message in read(settings, topics::FRAMES.name()).await {
        let (frame, _): (RawFrame, _) = codec
            .decode(topics::FRAMES, message.payload().unwrap_or_default())
            .await
            .unwrap();
        logged.insert((frame.device_id.unwrap_or_default(), frame.raw));
    }
    let mut missing = Vec::new();
    let mut acked = 0;
    for scooter in seen {
        for raw in &scooter.acked {
            acked += 1;
            if !logged.contains(&(scooter.device.clone(), raw.to_vec())) {
                missing.push(format!("{} ({} bytes)", scooter.device, raw.len()));
            }
        }
    }
    (missing, acked)
}

/// Every app command on `app.commands.v1` and the decisions on `fleet.events.v1`.
pub(super) struct Decisions {
    /// Command ids on the log.
    pub commands: BTreeSet<Uuid>,
    /// Per command id, the distinct decision events (event id, accepted?).
    pub decided: BTreeMap<Uuid, BTreeSet<(Uuid, bool)>>,
}

pub(super) async fn decisions(settings: &Settings, codec: &WireCodec) -> Decisions {
    let mut commands = BTreeSet::new();
    for message in read(settings, topics::APP_COMMANDS.name()).await {
        let (command, _): (AppCommand, _) = codec
            .decode(topics::APP_COMMANDS, message.payload().unwrap_or_default())
            .await
            .unwrap();
        commands.insert(command.command_id);
    }
    let mut decided: BTreeMap<Uuid, BTreeSet<(Uuid, bool)>> = BTreeMap::new();
    for message in read(settings, topics::FLEET_EVENTS.name()).await {
        let envelope = Envelope::from_message(&message).unwrap();
        let (event, _): (FleetEvent, _) = codec
            .decode(topics::FLEET_EVENTS, message.payload().unwrap_or_default())
            .await
            .unwrap();
        let decision = match event.event {
            FleetEventBody::CommandAccepted(a) => Some((a.command_id, true)),
            FleetEventBody::CommandRejected(r) => Some((r.command_id, false)),
            _ => None,
        };
        if let Some((command, accepted)) = decision {
            decided
                .entry(command)
                .or_default()
                .insert((envelope.id, accepted));
        }
    }
    Decisions { commands, decided }
}

/// A downlink command, when it was appended, and its final outcomes.
pub(super) struct Downlink {
    pub command: DownlinkCommand,
    /// Its record's timestamp, ms since the epoch: the start of its lifetime.
    pub appended_ms: i64,
    /// Distinct final outcome events (not `DELIVERED`): (event id, outcome).
    pub finals: BTreeSet<(Uuid, ReplyOutcomeKey)>,
}

/// [`ReplyOutcome`] made orderable.
pub(super) type ReplyOutcomeKey = String;

/// Every downlink command of `scooter.downlink.v1` with its outcomes on
/// `scooter.replies.v1`, by command id.
pub(super) async fn downlinks(settings: &Settings, codec: &WireCodec) -> BTreeMap<Uuid, Downlink> {
    let mut out = BTreeMap::new();
    for message in read(settings, topics::DOWNLINK.name()).await {
        let (command, _): (DownlinkCommand, _) = codec
            .decode(topics::DOWNLINK, message.payload().unwrap_or_default())
            .await
            .unwrap();
        let appended_ms = message.timestamp().to_millis().unwrap_or(0);
        out.entry(command.command_id).or_insert(Downlink {
            command,
            appended_ms,
            finals: BTreeSet::new(),
        });
    }
    for message in read(settings, topics::REPLIES.name()).await {
        let envelope = Envelope::from_message(&message).unwrap();
        let (reply, _): (DeviceReply, _) = codec
            .decode(topics::REPLIES, message.payload().unwrap_or_default())
            .await
            .unwrap();
        if reply.outcome == ReplyOutcome::Delivered {
            continue;
        }
        if let Some(downlink) = out.get_mut(&reply.command_id) {
            downlink
                .finals
                .insert((envelope.id, format!("{:?}", reply.outcome)));
        }
    }
    out
}
