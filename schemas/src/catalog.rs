//! The schema catalogue: every `.avsc` file under `schemas/avro/`, and each topic's value
//! schema composed from them.
//!
//! The `.avsc` files are the source of truth, one named type per file, referring to each
//! other by full name. They are compiled in ([`FILES`]) and parsed together with
//! `apache_avro::Schema::parse_list`. A topic's registered schema (subject `<topic>-value`,
//! TopicNameStrategy) is its root record — a wrapper record with a union field where the
//! topic carries several record types — with every named type it uses inlined at first use
//! (`Schema::denormalize`), so the registered text is self-contained and keeps every `doc`.
//! Which record is a topic's root is said by its value type
//! ([`crate::topics::TopicValue::RECORD`], listed in [`crate::topics::CATALOGUE`]).

use apache_avro::Schema;

use crate::topics;

/// Namespace of every fleetlog record, enum and fixed.
pub const NAMESPACE: &str = "io.fleetlog.v1";

/// One `.avsc` file, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaFile {
    /// Path below `schemas/avro/`.
    pub path: &'static str,
    /// The file's JSON text.
    pub json: &'static str,
}

macro_rules! avsc {
    ($($path:literal),* $(,)?) => {
        &[$(SchemaFile { path: $path, json: include_str!(concat!("../avro/", $path)) }),*]
    };
}

/// Every `.avsc` file outside `history/` (a test keeps this list complete).
pub const FILES: &[SchemaFile] = avsc![
    "commands/AppCommand.avsc",
    "commands/CancelReservation.avsc",
    "commands/DefineZone.avsc",
    "commands/EndRide.avsc",
    "commands/LocateVehicle.avsc",
    "commands/RegisterVehicle.avsc",
    "commands/RemoteLock.avsc",
    "commands/RemoteUnlock.avsc",
    "commands/ReserveVehicle.avsc",
    "commands/SetInService.avsc",
    "commands/SetOutOfService.avsc",
    "commands/StartRide.avsc",
    "common/Actor.avsc",
    "common/ActorRole.avsc",
    "common/AlarmKind.avsc",
    "common/GeoPoint.avsc",
    "common/LockState.avsc",
    "common/Protocol.avsc",
    "common/VehicleState.avsc",
    "common/ZoneKind.avsc",
    "downlink/DownlinkCommand.avsc",
    "downlink/DownlinkKind.avsc",
    "events/AlarmCleared.avsc",
    "events/AlarmRaised.avsc",
    "events/CommandAccepted.avsc",
    "events/CommandRejected.avsc",
    "events/FleetEvent.avsc",
    "events/ReservationCancelled.avsc",
    "events/ReservationExpired.avsc",
    "events/ReservationMade.avsc",
    "events/RideEnded.avsc",
    "events/RideFailed.avsc",
    "events/RideRequested.avsc",
    "events/RideStarted.avsc",
    "events/VehicleRegistered.avsc",
    "events/VehicleStateChanged.avsc",
    "events/ZoneDefined.avsc",
    "frames/FrameStatus.avsc",
    "frames/RawFrame.avsc",
    "replies/DeviceReply.avsc",
    "replies/ReplyOutcome.avsc",
    "sessions/DisconnectReason.avsc",
    "sessions/SessionConnected.avsc",
    "sessions/SessionDisconnected.avsc",
    "sessions/SessionEvent.avsc",
    "telemetry/IoElement.avsc",
    "telemetry/Telemetry.avsc",
];

/// The catalogue could not produce a schema.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The `.avsc` files do not parse together (a typo, a missing or duplicate type).
    #[error("the .avsc files do not parse: {0}")]
    Parse(#[source] Box<apache_avro::Error>),
    /// No named type has this full name.
    #[error("no schema named {0}")]
    UnknownType(String),
    /// The topic is not one of [`topics::CATALOGUE`].
    #[error("topic {0} has no value schema")]
    UnknownTopic(String),
    /// A named type refers to one that is not in the catalogue.
    #[error("{name} cannot be made self-contained: {source}")]
    Denormalize {
        /// Full name of the type being composed.
        name: String,
        /// What apache-avro reported.
        #[source]
        source: Box<apache_avro::Error>,
    },
    /// The composed schema could not be written as JSON.
    #[error("schema {name} cannot be written as JSON: {source}")]
    Json {
        /// Full name of the type.
        name: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
}

/// The Schema Registry subject of a topic's values: `<topic>-value`.
pub fn value_subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// Every named type of every file, cross-references resolved.
///
/// # Errors
/// [`CatalogError::Parse`] when the files do not parse together.
pub fn parse_all() -> Result<Vec<Schema>, CatalogError> {
    Schema::parse_list(FILES.iter().map(|f| f.json)).map_err(|e| CatalogError::Parse(Box::new(e)))
}

/// The named type `full_name` (e.g. `io.fleetlog.v1.GeoPoint`) as a self-contained schema.
///
/// # Errors
/// When the files do not parse or no type has that name.
pub fn named(full_name: &str) -> Result<Schema, CatalogError> {
    let all = parse_all()?;
    compose(&all, full_name)
}

/// The value schema of `topic`, self-contained.
///
/// # Errors
/// [`CatalogError::UnknownTopic`] for a topic without a value schema (e.g. a DLQ topic,
/// whose records keep the failed record's bytes as they were).
pub fn topic_schema(topic: &str) -> Result<Schema, CatalogError> {
    named(topic_record(topic)?)
}

/// The value schema of `topic` as the JSON text registered under `<topic>-value`.
///
/// # Errors
/// As [`topic_schema`].
pub fn topic_schema_json(topic: &str) -> Result<String, CatalogError> {
    let name = topic_record(topic)?;
    to_json(name, &topic_schema(topic)?)
}

/// `(subject, schema JSON)` for every primary topic, in flow order.
///
/// # Errors
/// When the files do not parse.
pub fn value_schemas() -> Result<Vec<(String, String)>, CatalogError> {
    let all = parse_all()?;
    topics::CATALOGUE
        .iter()
        .map(|t| Ok((t.subject(), to_json(t.record, &compose(&all, t.record)?)?)))
        .collect()
}

fn topic_record(topic: &str) -> Result<&'static str, CatalogError> {
    topics::info(topic)
        .map(|t| t.record)
        .ok_or_else(|| CatalogError::UnknownTopic(topic.to_owned()))
}

fn compose(all: &[Schema], full_name: &str) -> Result<Schema, CatalogError> {
    let mut schema = all
        .iter()
        .find(|s| s.name().is_some_and(|n| n.fullname(None) == full_name))
        .cloned()
        .ok_or_else(|| CatalogError::UnknownType(full_name.to_owned()))?;
    schema
        .denormalize(all)
        .map_err(|source| CatalogError::Denormalize {
            name: full_name.to_owned(),
            source: Box::new(source),
        })?;
    Ok(schema)
}

fn to_json(name: &str, schema: &Schema) -> Result<String, CatalogError> {
    serde_json::to_string(schema).map_err(|source| CatalogError::Json {
        name: name.to_owned(),
        source,
    })
}
