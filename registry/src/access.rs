//! Who may change the registry: writes (registering, deleting, compatibility config) need
//! the admin credential as HTTP Basic auth; reads (and the read-only `POST`s: lookup and
//! compatibility checks) stay open, as Confluent clients expect.
//!
//! Clients pass the credential the Confluent way, in the registry URL's user info
//! (`http://admin:<password>@host:8081`; reqwest and `schema_registry_converter` turn it
//! into `Authorization: Basic`). Without a configured password a process makes a random
//! one for its own registration only, so writes from anywhere else are refused: they are
//! off unless enabled with `FLEETLOG_REGISTRY__ADMIN_PASSWORD`.

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleetlog_runtime::settings::RegistrySettings;

use super::error::RegistryError;

/// The admin credential writes need.
#[derive(Clone)]
pub struct WriteAccess {
    user: String,
    password: String,
}

impl std::fmt::Debug for WriteAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteAccess")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl WriteAccess {
    /// Writes need `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// A random password nobody else knows: only this process (through
    /// [`Self::authorise_url`]) can write.
    pub fn random(user: impl Into<String>) -> Self {
        let password = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Self::new(user, password)
    }

    /// The configured credential, or (with a warning) a random one for this process.
    pub fn from_settings(settings: &RegistrySettings) -> Self {
        match &settings.admin_password {
            Some(password) => Self::new(settings.admin_user.clone(), password.clone()),
            None => {
                tracing::warn!(
                    "FLEETLOG_REGISTRY__ADMIN_PASSWORD is not set: registry writes are off \
                     for every client but this process's own schema registration"
                );
                Self::random(settings.admin_user.clone())
            }
        }
    }

    /// `url` carrying this credential in its user info, unless it already has user info.
    pub fn authorise_url(&self, url: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return url.to_owned();
        }
        format!(
            "{scheme}://{}:{}@{rest}",
            percent_encode(&self.user),
            percent_encode(&self.password)
        )
    }

    /// Whether `headers` carry this credential as `Authorization: Basic`.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = basic_credentials(headers) else {
            return false;
        };
        let expected = format!("{}:{}", self.user, self.password);
        constant_time_eq(given.as_bytes(), expected.as_bytes())
    }
}

/// Whether `method` on `path` changes the registry.
pub(crate) fn is_write(method: &Method, path: &str) -> bool {
    match *method {
        Method::PUT | Method::DELETE => true,
        // POST /subjects/{s} is a lookup and POST /compatibility/… a check: reads.
        Method::POST => {
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            matches!(segments.as_slice(), ["subjects", _, "versions"])
        }
        Method::GET | Method::HEAD | Method::OPTIONS => false,
        _ => true,
    }
}

/// Middleware: writes without the credential get 401 (none given) or 403 (wrong one),
/// with Confluent's error body.
pub(crate) async fn require_admin_for_writes(
    axum::extract::State(access): axum::extract::State<WriteAccess>,
    request: Request,
    next: Next,
) -> Response {
    if !is_write(request.method(), request.uri().path()) || access.admits(request.headers()) {
        return next.run(request).await;
    }
    let given = request.headers().contains_key(AUTHORIZATION);
    tracing::warn!(
        method = %request.method(),
        path = request.uri().path(),
        credential_given = given,
        "registry write refused"
    );
    if given {
        RegistryError::Forbidden.into_response()
    } else {
        let mut response = RegistryError::Unauthorized.into_response();
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"fleetlog-registry\""),
        );
        response
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    String::from_utf8(decoded).ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Percent-encode everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registering_deleting_and_config_are_writes_lookups_and_checks_are_not() {
        let cases = [
            (Method::POST, "/subjects/a-value/versions", true),
            (Method::DELETE, "/subjects/a-value", true),
            (Method::DELETE, "/subjects/a-value/versions/1", true),
            (Method::PUT, "/config", true),
            (Method::PUT, "/config/a-value", true),
            (Method::DELETE, "/config", true),
            (Method::PATCH, "/subjects", true),
            (Method::POST, "/subjects/a-value", false),
            (
                Method::POST,
                "/compatibility/subjects/a-value/versions/latest",
                false,
            ),
            (Method::GET, "/subjects", false),
            (Method::GET, "/config", false),
        ];
        for (method, path, write) in cases {
            assert_eq!(is_write(&method, path), write, "{method} {path}");
        }
    }

    #[test]
    fn only_the_exact_credential_is_admitted() {
        let access = WriteAccess::new("admin", "pa:ss wörd");
        let header = |text: &str| {
            let mut headers = HeaderMap::new();
            let value = format!("Basic {}", STANDARD.encode(text));
            headers.insert(AUTHORIZATION, value.parse().expect("header"));
            headers
        };
        assert!(access.admits(&header("admin:pa:ss wörd")));
        assert!(!access.admits(&header("admin:pa:ss w")));
        assert!(!access.admits(&header("other:pa:ss wörd")));
        assert!(!access.admits(&HeaderMap::new()));
    }

    #[test]
    fn the_credential_goes_into_the_url_user_info_once() {
        let access = WriteAccess::new("admin", "p@ss/word");
        assert_eq!(
            access.authorise_url("http://127.0.0.1:8081"),
            "http://admin:p%40ss%2Fword@127.0.0.1:8081"
        );
        assert_eq!(
            access.authorise_url("http://me:other@host:8081/"),
            "http://me:other@host:8081/"
        );
    }
}
