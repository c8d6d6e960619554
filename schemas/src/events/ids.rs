//! Serde helpers that keep UUIDs as hyphenated text, whatever the format's
//! `is_human_readable` says.
//!
//! Avro's `{"type": "string", "logicalType": "uuid"}` is text on the wire, but
//! `apache-avro` presents itself as a binary format, for which `uuid`'s own serde impl
//! writes 16 raw bytes. These helpers pin the text form (and read either form back), so a
//! field reads as `uuid::Uuid` in Rust and as a UUID string to every other Avro client.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use uuid::Uuid;

struct UuidVisitor;

impl Visitor<'_> for UuidVisitor {
    type Value = Uuid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UUID as text or 16 bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Uuid, E> {
        Uuid::parse_str(v).map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Uuid, E> {
        if let Ok(id) = Uuid::from_slice(v) {
            return Ok(id);
        }
        std::str::from_utf8(v)
            .map_err(E::custom)
            .and_then(|s| self.visit_str(s))
    }
}

/// `#[serde(with = "…::uuid_text")]` for a `Uuid` field.
pub(crate) mod uuid_text {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(id: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Uuid, D::Error> {
        deserializer.deserialize_str(UuidVisitor)
    }
}

/// `#[serde(with = "…::uuid_text_opt")]` for an `Option<Uuid>` field.
pub(crate) mod uuid_text_opt {
    use super::*;

    struct Text<'a>(&'a Uuid);

    impl serde::Serialize for Text<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            uuid_text::serialize(self.0, serializer)
        }
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Uuid>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a UUID")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            uuid_text::deserialize(d).map(Some)
        }
    }

    pub(crate) fn serialize<S: Serializer>(
        id: &Option<Uuid>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => serializer.serialize_some(&Text(id)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Uuid>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }
}
