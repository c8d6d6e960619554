//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Keys that only describe a vector in prose; nothing to assert.
const DESCRIPTIVE: &[&str] = &[
    "meaning",
    "note",
    "io_meaning_fmb",
    "lat_arithmetic",
    "lon_arithmetic",
    "speed_note",
    "device_does_not_send_4_byte_ack",
];

pub(crate) fn load_vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/device-protocol-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The frame bytes of a vector (hex or text encoding).
pub(crate) fn frame_bytes(v: &Value) -> Vec<u8> {
    let data = v["hex_or_text"].as_str().unwrap();
    match v["encoding"].as_str().unwrap() {
        "hex" => hex(data),
        "text" => data.as_bytes().to_vec(),
        other => panic!("encoding {other}"),
    }
}

/// An `expected` object that records which keys a check looked at.
pub(crate) struct Exp<'a> {
    pub id: String,
    map: &'a Map<String, Value>,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Exp<'a> {
    pub(crate) fn new(id: &str, value: &'a Value) -> Self {
        let map = value
            .as_object()
            .unwrap_or_else(|| panic!("{id}: expected is not an object"));
        Self {
            id: id.to_owned(),
            map,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.used.borrow_mut().insert(key.to_owned());
        self.map.get(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{}: {key} not a string", self.id))
        })
    }

    pub(crate) fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("{}: {key} not a number", self.id))
        })
    }

    pub(crate) fn i64(&self, key: &str) -> Option<i64> {
        self.get(key).map(|v| {
            v.as_i64()
                .unwrap_or_else(|| panic!("{}: {key} not an int", self.id))
        })
    }

    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| {
            v.as_bool()
                .unwrap_or_else(|| panic!("{}: {key} not a bool", self.id))
        })
    }

    /// An integer written as a number, a `0x..` string or a string starting with digits
    /// (`"0 = unlocked"`).
    pub(crate) fn lead_int(&self, key: &str) -> Option<i64> {
        self.get(key)
            .map(|v| lead_int(v).unwrap_or_else(|| panic!("{}: {key} = {v}", self.id)))
    }

    pub(crate) fn object(&self, key: &str) -> Option<Exp<'a>> {
        self.get(key)
            .map(|v| Exp::new(&format!("{}.{key}", self.id), v))
    }

    /// Every non-descriptive key must have been looked at.
    pub(crate) fn done(&self) {
        let used = self.used.borrow();
        let unused: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !used.contains(*k) && !DESCRIPTIVE.contains(&k.as_str()))
            .collect();
        assert!(
            unused.is_empty(),
            "{}: expected keys not checked: {unused:?}",
            self.id
        );
    }
}

pub(crate) fn lead_int(v: &Value) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let s = v.as_str()?;
    if let Some(h) = s.strip_prefix("0x") {
        let digits: String = h.chars().take_while(char::is_ascii_hexdigit).collect();
        return i64::from_str_radix(&digits, 16).ok();
    }
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `2019-06-10T10:04:46+00:00`, `2016-12-15T12:44:58Z` or `2011-08-29 17:46:16` (UTC).
pub(crate) fn utc_ms(s: &str) -> i64 {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return t.timestamp_millis();
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("time {s}: {e}"))
        .and_utc()
        .timestamp_millis()
}

/// Degrees × 10^7 against a decimal degree value, to the precision the value is given in
/// (`54.94535` → ±0.000005).
pub(crate) fn assert_deg(id: &str, what: &str, e7: Option<i32>, expected: f64) {
    let got = f64::from(e7.unwrap_or_else(|| panic!("{id}: no {what}"))) / 1e7;
    let decimals = expected
        .to_string()
        .split_once('.')
        .map_or(0, |(_, f)| f.len());
    let tolerance = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9;
    assert!(
        (got - expected).abs() <= tolerance,
        "{id}: {what} {got} != {expected}"
    );
}
