//! `ApiJson<T>`: JSON request bodies whose every rejection is an [`ApiError`] in the §9
//! shape — 415 without a JSON content type, 413 over the body limit, 400 for malformed
//! JSON, 422 (with `field`) for JSON of the wrong shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body deserialised into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = read_body(req, state).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// A JSON request body that may be left out: an empty body is `T::default()`, anything
/// else is read like [`ApiJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(not_json());
        }
        parse(&bytes).map(OptionalJson)
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "expected a body with Content-Type: application/json",
    )
}

/// The body, with 413 over the limit and 400 when it cannot be read.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "could not read the request body",
            )
        }
    })
}

/// `application/json` or `application/<anything>+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserialise `bytes` into `T`, naming the offending field when there is one.
///
/// # Errors
/// 400 `malformed_json` when the bytes are not JSON; 422 `missing_field`,
/// `invalid_field` or `invalid_body` when the JSON does not have the expected shape.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(shape_error)?;
    deserializer.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return malformed(&inner);
    }
    let message = inner.to_string();
    let at_root = path == ".";
    if let Some(name) = missing_field_name(&message) {
        let field = if at_root {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            format!("missing field `{name}`"),
        )
        .with_field(field);
    }
    let message = strip_position(&message).to_owned();
    if at_root {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
    } else {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(path)
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("malformed JSON: {err}"),
    )
}

/// serde's "missing field `name`" message, as the name.
fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// serde_json appends " at line L column C"; the field path says more to an API client.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        age: u32,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn err(body: &str) -> ApiError {
        parse::<Login>(body.as_bytes()).expect_err("must be rejected")
    }

    #[test]
    fn malformed_json_is_a_400() {
        let e = err("{\"email\": ");
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "malformed_json")
        );
        assert_eq!(err("").code(), "malformed_json");
        assert_eq!(
            err("{\"email\":\"a\",\"age\":1} trailing").code(),
            "malformed_json"
        );
    }

    #[test]
    fn a_missing_field_is_a_422_that_names_it() {
        let e = err(r#"{"age": 3}"#);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "missing_field")
        );
        assert_eq!(e.field(), Some("email"));
        let nested = err(r#"{"email": "a", "age": 3, "inner": {}}"#);
        assert_eq!(nested.field(), Some("inner.name"));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_422_that_names_it() {
        let e = err(r#"{"email": "a", "age": "old"}"#);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        );
        assert_eq!(e.field(), Some("age"));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_422_without_field() {
        let e = err("\"just a string\"");
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        );
        assert_eq!(e.field(), None);
    }

    #[test]
    fn json_content_types_are_recognised_with_parameters_and_suffixes() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            assert_eq!(is_json(&headers), expected, "{value}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
