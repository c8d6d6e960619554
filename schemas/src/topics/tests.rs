//! The catalogue's contracts, without I/O: the strings on the log stay byte-identical, each
//! topic's value type has its own `ce_type` and a record the `.avsc` files define.

use std::collections::BTreeSet;

use apache_avro::Schema;

use super::*;
use crate::catalog;

/// What the stored log and every registry hold: name, subject, `ce_type`, root record.
const ON_THE_LOG: [(&str, &str, &str, &str); 7] = [
    (
        "scooter.frames.v1",
        "scooter.frames.v1-value",
        "io.fleetlog.scooter.frame.v1",
        "io.fleetlog.v1.RawFrame",
    ),
    (
        "scooter.sessions.v1",
        "scooter.sessions.v1-value",
        "io.fleetlog.scooter.session.v1",
        "io.fleetlog.v1.SessionEvent",
    ),
    (
        "scooter.telemetry.v1",
        "scooter.telemetry.v1-value",
        "io.fleetlog.scooter.telemetry.v1",
        "io.fleetlog.v1.Telemetry",
    ),
    (
        "scooter.downlink.v1",
        "scooter.downlink.v1-value",
        "io.fleetlog.scooter.downlink.v1",
        "io.fleetlog.v1.DownlinkCommand",
    ),
    (
        "scooter.replies.v1",
        "scooter.replies.v1-value",
        "io.fleetlog.scooter.reply.v1",
        "io.fleetlog.v1.DeviceReply",
    ),
    (
        "app.commands.v1",
        "app.commands.v1-value",
        "io.fleetlog.app.command.v1",
        "io.fleetlog.v1.AppCommand",
    ),
    (
        "fleet.events.v1",
        "fleet.events.v1-value",
        "io.fleetlog.fleet.event.v1",
        "io.fleetlog.v1.FleetEvent",
    ),
];

#[test]
fn names_subjects_and_event_types_are_the_ones_on_the_log() {
    let catalogue: Vec<(&str, String, &str, &str)> = CATALOGUE
        .iter()
        .map(|t| (t.name, t.subject(), t.event_type, t.record))
        .collect();
    let expected: Vec<(&str, String, &str, &str)> = ON_THE_LOG
        .iter()
        .map(|(n, s, e, r)| (*n, (*s).to_owned(), *e, *r))
        .collect();
    assert_eq!(catalogue, expected);
    assert_eq!(PRIMARY.to_vec(), ON_THE_LOG.map(|(n, ..)| n).to_vec());
}

#[test]
fn each_typed_constant_is_its_catalogue_entry() {
    let typed = [
        (FRAMES.name(), FRAMES.subject(), FRAMES.event_type()),
        (SESSIONS.name(), SESSIONS.subject(), SESSIONS.event_type()),
        (
            TELEMETRY.name(),
            TELEMETRY.subject(),
            TELEMETRY.event_type(),
        ),
        (DOWNLINK.name(), DOWNLINK.subject(), DOWNLINK.event_type()),
        (REPLIES.name(), REPLIES.subject(), REPLIES.event_type()),
        (
            APP_COMMANDS.name(),
            APP_COMMANDS.subject(),
            APP_COMMANDS.event_type(),
        ),
        (
            FLEET_EVENTS.name(),
            FLEET_EVENTS.subject(),
            FLEET_EVENTS.event_type(),
        ),
    ];
    for ((name, subject, event_type), info) in typed.into_iter().zip(CATALOGUE) {
        assert_eq!(
            (name, subject, event_type),
            (info.name, info.subject(), info.event_type)
        );
        assert_eq!(super::info(name), Some(info));
    }
}

#[test]
fn names_event_types_and_records_are_unique() {
    let unique = |values: Vec<&str>| values.iter().collect::<BTreeSet<_>>().len() == values.len();
    assert!(unique(CATALOGUE.iter().map(|t| t.name).collect()));
    assert!(unique(CATALOGUE.iter().map(|t| t.event_type).collect()));
    assert!(unique(CATALOGUE.iter().map(|t| t.record).collect()));
    let dead_letters: BTreeSet<String> = PRIMARY.iter().map(|t| dlq(t)).collect();
    assert_eq!(dead_letters.len(), PRIMARY.len());
    assert!(PRIMARY.iter().all(|t| !dead_letters.contains(*t)));
}

#[test]
fn every_event_type_is_a_fleetlog_type_of_its_topic_s_version() {
    for t in CATALOGUE {
        let version = t.name.rsplit('.').next().unwrap_or_default();
        assert!(version.starts_with('v'), "{}", t.name);
        assert!(t.event_type.starts_with("io.fleetlog."), "{}", t.event_type);
        assert!(
            t.event_type.ends_with(&format!(".{version}")),
            "{} is not of {}'s version",
            t.event_type,
            t.name
        );
        assert!(
            t.record.starts_with(&format!("{}.", catalog::NAMESPACE)),
            "{}",
            t.record
        );
    }
}

#[test]
fn every_topic_value_has_a_registered_schema_rooted_at_its_record() {
    let registered = catalog::value_schemas().expect("schemas compose");
    let subjects: Vec<&str> = registered.iter().map(|(s, _)| s.as_str()).collect();
    let expected: Vec<String> = CATALOGUE.iter().map(TopicInfo::subject).collect();
    assert_eq!(subjects, expected);
    for (t, (_, json)) in CATALOGUE.iter().zip(&registered) {
        let schema = Schema::parse_str(json).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let Schema::Record(record) = &schema else {
            panic!("{}: the value schema is not a record", t.name);
        };
        assert_eq!(record.name.fullname(None), t.record, "{}", t.name);
    }
}

#[test]
fn a_renamed_topic_keeps_the_value_type_and_event_type() {
    let scratch_name = format!("t-scratch-{}", uuid::Uuid::new_v4().simple());
    let scratch = TELEMETRY.renamed(&scratch_name);
    assert_eq!(scratch.name(), scratch_name);
    assert_eq!(scratch.subject(), format!("{scratch_name}-value"));
    assert_eq!(scratch.dlq(), format!("{scratch_name}.dlq.v1"));
    assert_eq!(scratch.event_type(), "io.fleetlog.scooter.telemetry.v1");
    assert_eq!(scratch.record(), TELEMETRY.record());
    assert_eq!(super::info(scratch.name()), None, "not a catalogue topic");
}

#[test]
fn dead_letter_topics_are_not_in_the_catalogue() {
    assert_eq!(FRAMES.dlq(), "scooter.frames.v1.dlq.v1");
    assert_eq!(super::info(&FRAMES.dlq()), None);
}

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
