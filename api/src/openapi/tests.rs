//! The document cannot drift from the router: every `/v1` path and method the router
//! serves is in the document and nothing else is; every operation but the public auth
//! routes takes the bearer token.

use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::PathItem;

use super::document;

type Routes = BTreeMap<String, BTreeSet<&'static str>>;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The `/v1` paths of `router` with their methods, read from its `Debug` output (axum
/// offers no other way to list routes): the path router's `RouteId(n): "path"` pairs and,
/// per route id, which method endpoints are not `None`.
fn router_routes(debug: &str) -> Routes {
    // The router's own routes come before its fallback router's.
    let main = debug.split("fallback_router").next().unwrap_or_default();
    let (routes, node) = main
        .split_once("node: Node { paths: ")
        .expect("axum's Router Debug output names its paths");
    let mut paths = BTreeMap::new();
    for chunk in node.split("RouteId(").skip(1) {
        let (id, rest) = chunk.split_once(')').expect("RouteId(n)");
        let path = rest
            .trim_start_matches(": ")
            .strip_prefix('"')
            .and_then(|p| p.split('"').next())
            .expect("a quoted path");
        paths.insert(id.to_owned(), path.to_owned());
    }
    let mut out = Routes::new();
    for chunk in routes.split("RouteId(").skip(1) {
        let (id, rest) = chunk.split_once(')').expect("RouteId(n)");
        let Some(path) = paths.get(id).filter(|p| p.starts_with("/v1")) else {
            continue;
        };
        let methods: BTreeSet<&'static str> = METHODS
            .into_iter()
            .filter(|m| {
                rest.split_once(&format!(" {m}: "))
                    .is_some_and(|(_, value)| !value.starts_with("None"))
            })
            .collect();
        out.insert(path.clone(), methods);
    }
    out
}

fn operations(item: &PathItem) -> BTreeSet<&'static str> {
    let ops = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
    METHODS
        .into_iter()
        .zip(ops)
        .filter(|(_, op)| op.is_some())
        .map(|(m, _)| m)
        .collect()
}

#[test]
fn every_v1_route_of_the_router_is_in_the_document_and_nothing_else() {
    let debug = format!("{:?}", crate::routes::client_routes());
    let served = router_routes(&debug);
    // Guard against a change of axum's Debug output making this test vacuous.
    assert!(served.len() > 30, "only {} /v1 routes read", served.len());
    assert_eq!(served.get("/v1/me"), Some(&BTreeSet::from(["get"])));
    assert_eq!(
        served.get("/v1/admin/vehicles"),
        Some(&BTreeSet::from(["get", "post"]))
    );
    let doc = document();
    let documented: Routes = doc
        .paths
        .paths
        .iter()
        .map(|(path, item)| (path.clone(), operations(item)))
        .collect();
    let missing: Vec<_> = served
        .iter()
        .filter(|r| !documented.contains_key(r.0) || documented[r.0] != *r.1)
        .collect();
    let extra: Vec<_> = documented
        .iter()
        .filter(|r| !served.contains_key(r.0) || served[r.0] != *r.1)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented as served: {missing:?}; documented but not served so: {extra:?}"
    );
}

#[test]
fn every_operation_but_the_public_auth_routes_takes_the_bearer_token() {
    let public = [
        "/v1/auth/signup",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
    ];
    let doc = document();
    for (path, item) in &doc.paths.paths {
        for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .into_iter()
            .flatten()
        {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            assert_eq!(secured, !public.contains(&path.as_str()), "{path}");
            let statuses: Vec<&str> = op.responses.responses.keys().map(String::as_str).collect();
            for status in ["429", "500", "503"] {
                assert!(statuses.contains(&status), "{path} lacks {status}");
            }
            if secured {
                assert!(
                    statuses.contains(&"401") && statuses.contains(&"403"),
                    "{path}"
                );
            }
        }
    }
}

#[test]
fn the_document_is_openapi_3_1_with_the_error_body_and_bearer_scheme() {
    let json = serde_json::to_value(document()).expect("serialises");
    assert_eq!(json["openapi"], "3.1.0");
    let components = &json["components"];
    assert_eq!(components["securitySchemes"]["bearer"]["scheme"], "bearer");
    let error = &components["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]));
    let detail = &components["schemas"]["ErrorDetail"];
    assert_eq!(detail["required"], serde_json::json!(["code", "message"]));
}

#[test]
fn operation_ids_are_unique() {
    let doc = document();
    let mut seen = BTreeSet::new();
    for item in doc.paths.paths.values() {
        for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
            .into_iter()
            .flatten()
        {
            let id = op.operation_id.clone().expect("an operation id");
            assert!(seen.insert(id.clone()), "operation id {id} is used twice");
        }
    }
}

/// Every property name anywhere below `v` (schemas, nested objects, compositions).
fn property_names(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            for child in map.values() {
                property_names(child, out);
            }
        }
        serde_json::Value::Array(items) => {
            for child in items {
                property_names(child, out);
            }
        }
        _ => {}
    }
}

#[test]
fn positions_are_degrees_and_every_success_answer_has_a_typed_body() {
    let json = serde_json::to_value(document()).expect("serialises");
    let mut names = BTreeSet::new();
    property_names(&json, &mut names);
    let e7: Vec<&String> = names.iter().filter(|n| n.ends_with("_e7")).collect();
    assert!(e7.is_empty(), "degrees (lat, lon) in /v1, not {e7:?}");
    let device = &json["components"]["schemas"]["Device"]["properties"];
    assert!(
        device["position"].is_object(),
        "the device view has a position"
    );
    for (path, item) in json["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            for (status, answer) in op["responses"].as_object().expect("responses") {
                if status.starts_with('2') && status != "204" {
                    let typed = answer["content"]
                        .as_object()
                        .is_some_and(|c| c.values().all(|m| m["schema"].is_object()));
                    assert!(
                        typed,
                        "{method} {path} {status} has no typed body: {answer}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_answer_from_a_read_model_declares_the_data_age_with_its_one_meaning() {
    let json = serde_json::to_value(document()).expect("serialises");
    let mut declared = BTreeSet::new();
    for (path, item) in json["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let Some(header) = response["headers"].get("X-Fleetlog-Data-Age-Ms") else {
                    continue;
                };
                assert_eq!(status, "200", "{method} {path}");
                assert_eq!(
                    header["description"],
                    crate::read_model::age::DATA_AGE_DESCRIPTION,
                    "{method} {path}"
                );
                assert_eq!(header["schema"]["minimum"], 0, "{method} {path}");
                declared.insert(format!("{method} {path}"));
            }
        }
    }
    let expected: BTreeSet<String> = [
        "/v1/me/rides",
        "/v1/me/reservations",
        "/v1/rides/{ride_id}",
        "/v1/commands/{command_id}",
        "/v1/vehicles/nearby",
        "/v1/vehicles/by-qr/{qr_code}",
        "/v1/admin/vehicles",
        "/v1/admin/vehicles/{vehicle_id}",
        "/v1/admin/vehicles/{vehicle_id}/telemetry",
        "/v1/admin/devices/{device_id}",
        "/v1/admin/trace/{id}",
        "/v1/admin/alarms",
        "/v1/admin/zones",
    ]
    .into_iter()
    .map(|path| format!("get {path}"))
    .collect();
    assert_eq!(declared, expected);
}
