//! The `.avsc` files are complete, documented, and compose into self-contained topic
//! schemas.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use fleetlog_schemas::catalog::{self, CatalogError};
use fleetlog_schemas::topics;
use serde_json::Value as Json;

fn avro_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("avro")
}

fn avsc_files(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("avro dir reads") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "history") {
                avsc_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "avsc") {
            let relative = path.strip_prefix(avro_dir()).expect("below avro/");
            out.insert(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn parsed_files() -> Vec<(&'static str, Json)> {
    catalog::FILES
        .iter()
        .map(|f| (f.path, serde_json::from_str(f.json).expect("file is JSON")))
        .collect()
}

#[test]
fn every_avsc_file_is_in_the_catalogue() {
    let mut on_disk = BTreeSet::new();
    avsc_files(&avro_dir(), &mut on_disk);
    let listed: BTreeSet<String> = catalog::FILES.iter().map(|f| f.path.to_owned()).collect();
    assert_eq!(listed, on_disk);
}

#[test]
fn every_file_defines_one_type_named_after_the_file_in_the_fleetlog_namespace() {
    for (path, json) in parsed_files() {
        let stem = Path::new(path).file_stem().and_then(|s| s.to_str());
        assert_eq!(json["name"].as_str(), stem, "{path}");
        assert_eq!(
            json["namespace"].as_str(),
            Some(catalog::NAMESPACE),
            "{path}"
        );
    }
}

#[test]
fn every_type_and_every_field_has_a_doc() {
    for (path, json) in parsed_files() {
        assert!(
            json["doc"].as_str().is_some_and(|d| !d.is_empty()),
            "{path} has no doc"
        );
        for field in json["fields"].as_array().into_iter().flatten() {
            let doc = field["doc"].as_str().unwrap_or_default();
            assert!(
                !doc.is_empty(),
                "{path}: field {} has no doc",
                field["name"]
            );
        }
    }
}

/// `int`/`long` fields must carry their unit in the name; these are counts, indexes and
/// protocol values whose doc says what they are.
const UNITLESS: [&str; 5] = ["record_index", "satellites", "frames", "id", "value"];
const UNIT_SUFFIXES: [&str; 7] = ["_ms", "_e7", "_pct", "_m", "_kmh", "_deg", "_minor"];

fn is_number(json: &Json) -> bool {
    match json {
        Json::String(t) => t == "int" || t == "long",
        Json::Array(branches) => branches.iter().any(is_number),
        _ => false,
    }
}

#[test]
fn every_numeric_field_names_its_unit() {
    for (path, json) in parsed_files() {
        for field in json["fields"].as_array().into_iter().flatten() {
            let name = field["name"].as_str().unwrap_or_default();
            if is_number(&field["type"]) && !UNITLESS.contains(&name) {
                assert!(
                    UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)),
                    "{path}: {name} does not name its unit"
                );
            }
        }
    }
}

#[test]
fn every_primary_topic_has_a_self_contained_value_schema_that_keeps_its_docs() {
    let schemas = catalog::value_schemas().expect("schemas compose");
    let subjects: Vec<&str> = schemas.iter().map(|(s, _)| s.as_str()).collect();
    let expected: Vec<String> = topics::PRIMARY
        .iter()
        .map(|t| format!("{t}-value"))
        .collect();
    assert_eq!(subjects, expected);
    for (subject, json) in &schemas {
        let alone = Schema::parse_str(json).unwrap_or_else(|e| panic!("{subject}: {e}"));
        let topic = subject.trim_end_matches("-value");
        let composed = catalog::topic_schema(topic).expect("topic schema");
        assert_eq!(
            alone.canonical_form(),
            composed.canonical_form(),
            "{subject}"
        );
        assert_eq!(&catalog::topic_schema_json(topic).expect("json"), json);
    }
    let (_, fleet) = &schemas[6];
    assert!(
        fleet.contains("Latitude in degrees x 10^7"),
        "nested docs are kept"
    );
}

#[test]
fn dead_letter_topics_have_no_value_schema() {
    let dlq = topics::FRAMES.dlq();
    assert!(matches!(
        catalog::topic_schema(&dlq),
        Err(CatalogError::UnknownTopic(t)) if t == dlq
    ));
}

#[test]
fn an_unknown_type_name_is_reported_by_name() {
    let err = catalog::named("io.fleetlog.v1.Nope").expect_err("unknown");
    assert_eq!(err.to_string(), "no schema named io.fleetlog.v1.Nope");
}
