//! The schema evolution gate: the current value schema of every topic can read data
//! written with every released version kept in `schemas/avro/history/<subject>/v<N>.avsc`
//! (BACKWARD_TRANSITIVE, as the registry enforces).
//!
//! After a release, run the ignored test to keep the released schemas:
//! `cargo test -p fleetlog-schemas --test evolution -- --ignored`.

use std::path::{Path, PathBuf};

use apache_avro::Schema;
use fleetlog_schemas::catalog;
use fleetlog_schemas::evolution::{CompatError, check_backward_transitive};
use fleetlog_schemas::topics;
use serde_json::Value as Json;

fn history_dir(subject: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("avro")
        .join("history")
        .join(subject)
}

/// The kept versions of `subject`, as `(version number, path)` in version order.
fn kept_versions(subject: &str) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(history_dir(subject)) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .map(|e| e.expect("dir entry").path())
        .filter_map(|path| {
            let stem = path.file_stem()?.to_str()?;
            let n = stem.strip_prefix('v')?.parse().ok()?;
            (path.extension()? == "avsc").then_some((n, path))
        })
        .collect();
    versions.sort();
    versions
}

fn history(subject: &str) -> Vec<(String, Schema)> {
    kept_versions(subject)
        .into_iter()
        .map(|(n, path)| {
            let text = std::fs::read_to_string(&path).expect("history file reads");
            let schema = Schema::parse_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            (format!("{subject}/v{n}"), schema)
        })
        .collect()
}

#[test]
fn every_topic_schema_can_read_every_released_version() {
    for topic in topics::PRIMARY {
        let subject = catalog::value_subject(topic);
        let history = history(&subject);
        assert!(
            !history.is_empty(),
            "{subject} has no released version in history/"
        );
        let current = catalog::topic_schema(topic).expect("current schema");
        if let Err(e) = check_backward_transitive(&current, &history) {
            panic!("{subject}: {e}");
        }
    }
}

/// The current fleet events schema as JSON, to make changed copies of.
fn fleet_events_json() -> Json {
    let text = catalog::topic_schema_json(topics::FLEET_EVENTS.name()).expect("schema");
    serde_json::from_str(&text).expect("JSON")
}

fn released_fleet_events() -> Vec<(String, Schema)> {
    let current = catalog::topic_schema(topics::FLEET_EVENTS.name()).expect("schema");
    vec![("fleet.events.v1-value/v1".to_owned(), current)]
}

fn check(changed: &Json) -> Result<(), CompatError> {
    let changed = Schema::parse(changed).expect("changed copy parses");
    check_backward_transitive(&changed, &released_fleet_events())
}

#[test]
fn the_gate_rejects_a_new_field_without_a_default() {
    let mut changed = fleet_events_json();
    changed["fields"]
        .as_array_mut()
        .expect("fields")
        .push(serde_json::json!(
            {"name": "tenant_id", "type": "string", "doc": "Fleet operator."}
        ));
    let err = check(&changed).expect_err("incompatible");
    assert!(matches!(err, CompatError::Incompatible { .. }), "{err}");
}

#[test]
fn the_gate_accepts_a_new_optional_field_with_a_default() {
    let mut changed = fleet_events_json();
    changed["fields"].as_array_mut().expect("fields").push(serde_json::json!(
        {"name": "tenant_id", "type": ["null", "string"], "default": null, "doc": "Fleet operator."}
    ));
    check(&changed).expect("compatible");
}

#[test]
fn the_gate_rejects_dropping_a_union_branch() {
    let mut changed = fleet_events_json();
    changed["fields"][1]["type"]
        .as_array_mut()
        .expect("union")
        .retain(|branch| branch["name"] != "AlarmCleared");
    let err = check(&changed).expect_err("incompatible");
    assert!(matches!(err, CompatError::Partial { .. }), "{err}");
}

#[test]
fn the_gate_sees_changes_to_types_used_deep_inside_unions() {
    // GeoPoint is defined inside RideStarted and referred to by name further on; a field
    // without default added to it must be caught wherever it is used.
    let mut changed = fleet_events_json();
    let started = changed["fields"][1]["type"]
        .as_array_mut()
        .expect("union")
        .iter_mut()
        .find(|b| b["name"] == "RideStarted")
        .expect("RideStarted branch");
    started["fields"][3]["type"][1]["fields"]
        .as_array_mut()
        .expect("GeoPoint fields")
        .push(serde_json::json!({"name": "alt_m", "type": "int", "doc": "Altitude."}));
    // Every other branch still reads, so data of the union is partly readable: rejected.
    let err = check(&changed).expect_err("incompatible");
    assert!(matches!(err, CompatError::Partial { .. }), "{err}");
}

#[test]
fn the_gate_follows_a_shared_type_whose_definition_moved() {
    // A new first branch now carries GeoPoint's definition; RideStarted, which defined it
    // in the released version, only names it. Compared naively (definition vs. name) the
    // branch would look incompatible; expanded, nothing changed for old data.
    let mut changed = fleet_events_json();
    let union = changed["fields"][1]["type"].as_array_mut().expect("union");
    let started = union
        .iter_mut()
        .find(|b| b["name"] == "RideStarted")
        .expect("RideStarted branch");
    let geo_point = started["fields"][3]["type"][1].take();
    started["fields"][3]["type"][1] = Json::from("io.fleetlog.v1.GeoPoint");
    union.insert(
        0,
        serde_json::json!({
            "type": "record", "name": "VehicleParked", "namespace": "io.fleetlog.v1",
            "doc": "New event.",
            "fields": [{"name": "at", "type": geo_point, "doc": "Where."}]
        }),
    );
    check(&changed).expect("compatible");
}

#[test]
fn the_gate_accepts_the_released_schema_itself() {
    check(&fleet_events_json()).expect("a schema reads its own data");
}

/// Keep the current schemas as released versions: writes `v<N+1>.avsc` for every subject
/// whose current schema differs from its latest kept version (`v1` when none is kept).
#[test]
#[ignore = "writes schemas/avro/history; run after a release"]
fn keep_the_current_schemas_as_released_versions() {
    for (subject, json) in catalog::value_schemas().expect("schemas compose") {
        let current = Schema::parse_str(&json).expect("parses");
        let versions = kept_versions(&subject);
        if let Some((_, latest)) = versions.last() {
            let text = std::fs::read_to_string(latest).expect("reads");
            let kept = Schema::parse_str(&text).expect("parses");
            if serde_json::to_value(&kept).ok() == serde_json::to_value(&current).ok() {
                continue;
            }
        }
        let next = versions.last().map_or(1, |(n, _)| n + 1);
        let dir = history_dir(&subject);
        std::fs::create_dir_all(&dir).expect("history dir");
        let pretty = serde_json::to_string_pretty(&current).expect("JSON");
        std::fs::write(dir.join(format!("v{next}.avsc")), pretty + "\n").expect("writes");
        println!("kept {subject} v{next}");
    }
}
