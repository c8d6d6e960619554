//! The Rust event types and the `.avsc` files agree.
//!
//! Each sample value goes the way production takes it: serialized straight against the
//! schema with apache-avro's schema-aware serde serializer (what
//! `schema_registry_converter`'s `encode_struct` does), read back as a generic Avro
//! `Value` (what its decoder does), validated against the schema, and turned back into the
//! Rust type with `apache_avro::from_value` — which must give back an equal value. The
//! schema-aware deserializer must agree too. This runs for every record type against its
//! own self-contained schema, and for every union branch of every topic wrapper.

mod fixtures;

use std::collections::BTreeSet;
use std::fmt::Debug;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use fleetlog_schemas::catalog;
use fleetlog_schemas::events::*;
use fleetlog_schemas::topics::{self, Topic, TopicValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Write `value` with `schema`, read it back, and return the generic value read.
fn round_trip<T>(schema: &Schema, value: &T) -> Value
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let writer = GenericDatumWriter::builder(schema).build().expect("writer");
    let bytes = writer
        .write_ser_to_vec(value)
        .unwrap_or_else(|e| panic!("{value:?} does not serialize: {e}"));
    let reader = GenericDatumReader::builder(schema).build().expect("reader");
    let read = reader
        .read_value(&mut &bytes[..])
        .expect("datum reads back");
    assert!(read.validate(schema), "{read:?} does not validate");
    let back: T = apache_avro::from_value(&read)
        .unwrap_or_else(|e| panic!("{read:?} does not deserialize: {e}"));
    assert_eq!(&back, value, "from_value differs");
    let direct: T = reader
        .read_deser(&mut &bytes[..])
        .expect("schema-aware deserializer reads it");
    assert_eq!(&direct, value, "schema-aware deserializer differs");
    read
}

type Check = Box<dyn Fn(&Schema)>;

fn case<T>(name: &str, value: T) -> (String, Check)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    (
        format!("{}.{name}", catalog::NAMESPACE),
        Box::new(move |schema| {
            round_trip(schema, &value);
        }),
    )
}

/// One sample per record type (plus variants with optional fields absent).
fn record_cases() -> Vec<(String, Check)> {
    use fixtures::*;
    let mut cases = vec![
        case("GeoPoint", point(1)),
        case("Actor", actor(ActorRole::System)),
        case("RawFrame", raw_frame()),
        case("RawFrame", raw_frame_before_login()),
        case("Telemetry", telemetry()),
        case("Telemetry", telemetry_without_optionals()),
        case("IoElement", telemetry().io[1].clone()),
        case("DownlinkCommand", downlink_command()),
        case("DeviceReply", device_reply()),
    ];
    for event in session_events() {
        match event.change.clone() {
            SessionChange::SessionConnected(c) => cases.push(case("SessionConnected", c)),
            SessionChange::SessionDisconnected(d) => cases.push(case("SessionDisconnected", d)),
        }
        cases.push(case("SessionEvent", event));
    }
    for body in app_command_bodies() {
        cases.push(app_command_case(body.clone()));
        cases.push(case("AppCommand", app_command(body)));
    }
    for body in fleet_event_bodies() {
        cases.push(fleet_event_case(body.clone()));
        cases.push(case("FleetEvent", fleet_event(body)));
    }
    cases
}

fn app_command_case(body: AppCommandBody) -> (String, Check) {
    use AppCommandBody as C;
    match body {
        C::ReserveVehicle(c) => case("ReserveVehicle", c),
        C::CancelReservation(c) => case("CancelReservation", c),
        C::StartRide(c) => case("StartRide", c),
        C::EndRide(c) => case("EndRide", c),
        C::RegisterVehicle(c) => case("RegisterVehicle", c),
        C::SetOutOfService(c) => case("SetOutOfService", c),
        C::SetInService(c) => case("SetInService", c),
        C::RemoteLock(c) => case("RemoteLock", c),
        C::RemoteUnlock(c) => case("RemoteUnlock", c),
        C::LocateVehicle(c) => case("LocateVehicle", c),
        C::DefineZone(c) => case("DefineZone", c),
    }
}

fn fleet_event_case(body: FleetEventBody) -> (String, Check) {
    use FleetEventBody as E;
    match body {
        E::VehicleRegistered(e) => case("VehicleRegistered", e),
        E::VehicleStateChanged(e) => case("VehicleStateChanged", e),
        E::ReservationMade(e) => case("ReservationMade", e),
        E::ReservationExpired(e) => case("ReservationExpired", e),
        E::ReservationCancelled(e) => case("ReservationCancelled", e),
        E::RideRequested(e) => case("RideRequested", e),
        E::RideStarted(e) => case("RideStarted", e),
        E::RideEnded(e) => case("RideEnded", e),
        E::RideFailed(e) => case("RideFailed", e),
        E::CommandAccepted(e) => case("CommandAccepted", e),
        E::CommandRejected(e) => case("CommandRejected", e),
        E::AlarmRaised(e) => case("AlarmRaised", e),
        E::AlarmCleared(e) => case("AlarmCleared", e),
        E::ZoneDefined(e) => case("ZoneDefined", e),
    }
}

#[test]
fn every_record_type_round_trips_through_its_own_schema() {
    let all = catalog::parse_all().expect("catalogue parses");
    let records: BTreeSet<String> = all
        .iter()
        .filter(|s| matches!(s, Schema::Record(_)))
        .filter_map(|s| s.name().map(|n| n.fullname(None)))
        .collect();
    let cases = record_cases();
    let tested: BTreeSet<String> = cases.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(tested, records, "every record type needs a sample");
    for (name, check) in &cases {
        let schema = catalog::named(name).expect("type composes");
        check(&schema);
    }
}

/// The union branch index each sample of `topic`'s values was written with, read back from
/// the datum.
fn branches<V>(topic: Topic<'_, V>, field: &str, samples: &[V]) -> Vec<usize>
where
    V: TopicValue + PartialEq + Debug,
{
    let schema = catalog::topic_schema(topic.name()).expect("topic schema");
    samples
        .iter()
        .map(|sample| match round_trip(&schema, sample) {
            Value::Record(fields) => match fields.iter().find(|(name, _)| name == field) {
                Some((_, Value::Union(index, _))) => *index as usize,
                other => panic!("{field} is not a union: {other:?}"),
            },
            other => panic!("not a record: {other:?}"),
        })
        .collect()
}

fn union_len(topic: &str, field: &str) -> usize {
    match catalog::topic_schema(topic).expect("topic schema") {
        Schema::Record(record) => match record.fields.iter().find(|f| f.name == field) {
            Some(f) => match &f.schema {
                Schema::Union(union) => union.variants().len(),
                other => panic!("{field} is not a union: {other:?}"),
            },
            None => panic!("no field {field}"),
        },
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn every_session_change_maps_to_its_own_union_branch_in_order() {
    let written = branches(topics::SESSIONS, "change", &fixtures::session_events());
    assert_eq!(
        written,
        (0..union_len(topics::SESSIONS.name(), "change")).collect::<Vec<_>>()
    );
}

#[test]
fn every_app_command_maps_to_its_own_union_branch_in_order() {
    let samples: Vec<_> = fixtures::app_command_bodies()
        .into_iter()
        .map(fixtures::app_command)
        .collect();
    let written = branches(topics::APP_COMMANDS, "command", &samples);
    assert_eq!(
        written,
        (0..union_len(topics::APP_COMMANDS.name(), "command")).collect::<Vec<_>>()
    );
}

#[test]
fn every_fleet_event_maps_to_its_own_union_branch_in_order() {
    let samples: Vec<_> = fixtures::fleet_event_bodies()
        .into_iter()
        .map(fixtures::fleet_event)
        .collect();
    let written = branches(topics::FLEET_EVENTS, "event", &samples);
    assert_eq!(
        written,
        (0..union_len(topics::FLEET_EVENTS.name(), "event")).collect::<Vec<_>>()
    );
}

#[test]
fn single_record_topics_round_trip_through_their_registered_schema() {
    round_trip(
        &catalog::topic_schema(topics::FRAMES.name()).expect("schema"),
        &fixtures::raw_frame(),
    );
    round_trip(
        &catalog::topic_schema(topics::TELEMETRY.name()).expect("schema"),
        &fixtures::telemetry(),
    );
    let downlink = catalog::topic_schema(topics::DOWNLINK.name()).expect("schema");
    round_trip(&downlink, &fixtures::downlink_command());
    let replies = catalog::topic_schema(topics::REPLIES.name()).expect("schema");
    round_trip(&replies, &fixtures::device_reply());
}

#[test]
fn uuids_are_written_as_hyphenated_text() {
    let schema = catalog::topic_schema(topics::DOWNLINK.name()).expect("schema");
    match round_trip(&schema, &fixtures::downlink_command()) {
        Value::Record(fields) => {
            let (_, id) = &fields[0];
            let text = fixtures::id(3).to_string();
            assert!(
                matches!(id, Value::Uuid(u) if u.to_string() == text)
                    || matches!(id, Value::String(s) if *s == text),
                "{id:?}"
            );
        }
        other => panic!("not a record: {other:?}"),
    }
}

#[test]
fn an_alarm_symbol_unknown_to_this_build_reads_as_other() {
    let value = Value::Enum(99, "SOMETHING_NEW".into());
    let alarm: AlarmKind = apache_avro::from_value(&value).expect("reads");
    assert_eq!(alarm, AlarmKind::Other);
}

#[test]
fn the_record_key_of_a_command_is_its_vehicle_or_zone() {
    for body in fixtures::app_command_bodies() {
        let zone = matches!(body, AppCommandBody::DefineZone(_));
        let key = fixtures::app_command(body).key();
        assert_eq!(
            key,
            if zone {
                fixtures::id(20)
            } else {
                fixtures::id(10)
            }
        );
    }
    for body in fixtures::fleet_event_bodies() {
        let event = fixtures::fleet_event(body);
        match &event.event {
            FleetEventBody::ZoneDefined(_) | FleetEventBody::CommandRejected(_) => {
                assert_eq!(event.vehicle_id(), None)
            }
            _ => assert_eq!(event.vehicle_id(), Some(fixtures::id(10))),
        }
    }
}

#[test]
fn to_value_agrees_with_the_schema_for_topics_without_record_unions() {
    // `apache_avro::to_value` (schema-less) writes a newtype enum variant as a
    // `{type, value}` record, which no union-of-records schema accepts, so the wrappers with
    // unions (sessions, app commands, fleet events) go through the schema-aware serializer
    // only — as `WireCodec` does. For the other topics both paths agree.
    let checks: [(&str, Value); 4] = [
        (
            topics::FRAMES.name(),
            apache_avro::to_value(fixtures::raw_frame()).expect("value"),
        ),
        (
            topics::TELEMETRY.name(),
            apache_avro::to_value(fixtures::telemetry()).expect("value"),
        ),
        (
            topics::DOWNLINK.name(),
            apache_avro::to_value(fixtures::downlink_command()).expect("value"),
        ),
        (
            topics::REPLIES.name(),
            apache_avro::to_value(fixtures::device_reply()).expect("value"),
        ),
    ];
    for (topic, value) in checks {
        let schema = catalog::topic_schema(topic).expect("schema");
        assert!(value.validate(&schema), "{topic}: {value:?}");
    }
}

#[test]
fn the_hand_written_raw_frame_encoder_writes_what_apache_avro_writes() {
    let schema = catalog::topic_schema(topics::FRAMES.name()).expect("schema");
    let writer = GenericDatumWriter::builder(&schema)
        .build()
        .expect("writer");
    let long_raw = RawFrame {
        raw: vec![0xab; 300],
        received_at_ms: -5,
        status: FrameStatus::UnknownDevice,
        protocol: Protocol::Omni,
        ..fixtures::raw_frame()
    };
    let oversize = RawFrame {
        status: FrameStatus::Oversize,
        raw: vec![7; 70_000],
        ..fixtures::raw_frame()
    };
    for frame in [
        fixtures::raw_frame(),
        fixtures::raw_frame_before_login(),
        long_raw,
        oversize,
    ] {
        let expected = writer
            .write_ser_to_vec(&frame)
            .expect("apache-avro writes it");
        let mut ours = Vec::new();
        frame.borrowed().write_avro(&mut ours);
        assert_eq!(ours, expected, "{frame:?}");
        let reader = GenericDatumReader::builder(&schema)
            .build()
            .expect("reader");
        let read = reader.read_value(&mut &ours[..]).expect("reads back");
        let back: RawFrame = apache_avro::from_value(&read).expect("deserializes");
        assert_eq!(back, frame);
    }
}
