//! The shipped example files parse, and the JSON Schema describes the same top level.

use std::collections::BTreeSet;

use fleetlog_rules::{TOP_LEVEL_KEYS, parse};

use crate::support::example_files;

#[test]
fn every_example_file_parses() {
    let files = example_files();
    assert!(files.len() >= 2, "examples/ has the example files");
    for (name, text) in files {
        if let Err(e) = parse(&text) {
            panic!("examples/{name}: {e}");
        }
    }
}

#[test]
fn the_json_schema_is_valid_json_listing_the_same_top_level_keys() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/rules.schema.json");
    let text = std::fs::read_to_string(path).expect("the schema file exists");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let keys: BTreeSet<&str> = schema["properties"]
        .as_object()
        .expect("top-level properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, TOP_LEVEL_KEYS.into_iter().collect());
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}

#[test]
fn the_example_in_docs_rules_md_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md");
    let doc = std::fs::read_to_string(path).expect("docs/rules.md exists");
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    if let Err(e) = parse(block) {
        panic!("docs/rules.md's example: {e}");
    }
}
