//! Extractors whose every rejection is a Confluent JSON error, never axum's plain text.
//!
//! * [`SrBody`]: JSON bodies under any of the content types Confluent clients send
//!   (`application/vnd.schemaregistry.v1+json`, `application/vnd.schemaregistry+json`,
//!   `application/json`, `application/octet-stream`, other `+json` types, or none).
//!   Not JSON at all → 400; JSON of the wrong shape → 422; other media types → 415.
//! * [`Flags`]: boolean query parameters, lenient like JAX-RS (`true` in any case is
//!   true, anything else false).
//! * [`PathParams`]: path parameters; an unusable one (e.g. a non-integer id) is a 404
//!   like Jersey's.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::super::error::RegistryError;

/// A JSON request body, parsed whatever the JSON-ish content type.
#[derive(Debug)]
pub(crate) struct SrBody<T>(pub(crate) T);

impl<S, T> FromRequest<S> for SrBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = RegistryError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !acceptable_content_type(req.headers()) {
            return Err(RegistryError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                RegistryError::PayloadTooLarge
            } else {
                RegistryError::BadRequest(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Self)
    }
}

/// Parse `bytes` as `T`: anything that is not JSON is a 400 (even when its first
/// tokens already have the wrong shape), well-formed JSON of the wrong shape a 422.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RegistryError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| RegistryError::BadRequest(format!("Malformed JSON: {err}")))?;
    serde_json::from_value(value)
        .map_err(|err| RegistryError::Unprocessable(format!("Unprocessable entity: {err}")))
}

/// Whether the request's content type is one a registry client may send.
fn acceptable_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.is_empty()
        || essence == "application/json"
        || essence == "application/octet-stream"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Boolean query parameters (`?deleted=true`, `?permanent=true`, …).
#[derive(Debug, Default)]
pub(crate) struct Flags(HashMap<String, String>);

impl Flags {
    /// Whether `name` is given as `true` (case-insensitively).
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flags {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|rejection| RegistryError::BadRequest(rejection.body_text()))?;
        Ok(Self(pairs.into_iter().collect()))
    }
}

/// Path parameters; a parameter that does not fit `T` is a JSON 404.
#[derive(Debug)]
pub(crate) struct PathParams<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| RegistryError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::types::SchemaRequest;

    fn with_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn registry_and_json_content_types_are_accepted_and_others_are_not() {
        assert!(acceptable_content_type(&HeaderMap::new()));
        for ok in [
            "application/vnd.schemaregistry.v1+json",
            "application/vnd.schemaregistry+json",
            "application/json; charset=utf-8",
            "application/octet-stream",
        ] {
            assert!(acceptable_content_type(&with_type(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            assert!(!acceptable_content_type(&with_type(bad)), "{bad}");
        }
    }

    #[test]
    fn broken_json_is_a_400_and_the_wrong_shape_a_422() {
        let broken = parse_json::<SchemaRequest>(b"{\"schema\": ").unwrap_err();
        assert_eq!(broken.codes().1, 400);
        let empty = parse_json::<SchemaRequest>(b"").unwrap_err();
        assert_eq!(empty.codes().1, 400);
        let early_shape_error = parse_json::<SchemaRequest>(b"[1, 2").unwrap_err();
        assert_eq!(early_shape_error.codes().1, 400);
        let shape = parse_json::<SchemaRequest>(br#"{"schema": 42}"#).unwrap_err();
        assert_eq!(shape.codes().1, 422);
    }
}
