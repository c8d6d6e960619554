//! What the console's map may load, from `FLEETLOG_CONSOLE__*`: a raster tile URL (or none:
//! the offline grid) and its attribution, and the `Content-Security-Policy` that follows —
//! this origin only, plus the tile host's origin for images when a tile URL is set.

use fleetlog_runtime::settings::ConsoleSettings;
use serde::Serialize;

/// The console's policy without tiles: this origin only (plus `data:` images).
pub const SELF_ONLY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `FLEETLOG_CONSOLE__TILE_URL` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "FLEETLOG_CONSOLE__TILE_URL {url:?}: {reason} (expected http(s)://host/…/{{z}}/{{x}}/{{y}}.png)"
)]
pub struct ConsoleConfigError {
    /// The URL.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// What `/console/config.json` tells the page, and the policy every console file carries.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleConfig {
    /// Leaflet tile URL template, or `null` for the offline grid.
    tile_url: Option<String>,
    /// Attribution shown under the tiles.
    tile_attribution: String,
    #[serde(skip)]
    policy: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            tile_url: None,
            tile_attribution: String::new(),
            policy: SELF_ONLY_POLICY.to_owned(),
        }
    }
}

impl ConsoleConfig {
    /// The console of `settings`.
    ///
    /// # Errors
    /// A tile URL that is not `http(s)`, has no `{z}`/`{x}`/`{y}`, or a host with
    /// characters a policy cannot hold.
    pub fn new(settings: &ConsoleSettings) -> Result<Self, ConsoleConfigError> {
        let Some(url) = settings
            .tile_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        else {
            return Ok(Self::default());
        };
        let url = url.trim();
        let source = tile_source(url).map_err(|reason| ConsoleConfigError {
            url: url.to_owned(),
            reason,
        })?;
        Ok(Self {
            tile_url: Some(url.to_owned()),
            tile_attribution: settings.tile_attribution.clone(),
            policy: SELF_ONLY_POLICY.replace(
                "img-src 'self' data:;",
                &format!("img-src 'self' data: {source};"),
            ),
        })
    }

    /// The `Content-Security-Policy` of every console file.
    pub fn policy(&self) -> &str {
        &self.policy
    }
}

/// The policy source of a tile URL's host: `https://tiles.example:8443`, with Leaflet's
/// `{s}.` subdomain placeholder as `*.`.
fn tile_source(url: &str) -> Result<String, &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    if scheme != "https" && scheme != "http" {
        return Err("the scheme must be http or https");
    }
    if !["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)) {
        return Err("it must contain {z}, {x} and {y}");
    }
    let host = rest.split('/').next().unwrap_or_default();
    let host = host
        .strip_prefix("{s}.")
        .map_or_else(|| host.to_owned(), |tail| format!("*.{tail}"));
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*');
    if host.is_empty()
        || host.starts_with('*') && !host.starts_with("*.")
        || !host.chars().all(allowed)
    {
        return Err("the host must be a plain host name or address (with an optional port)");
    }
    Ok(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> Result<ConsoleConfig, ConsoleConfigError> {
        ConsoleConfig::new(&ConsoleSettings {
            tile_url: Some(url.into()),
            tile_attribution: "© OpenStreetMap contributors".into(),
        })
    }

    #[test]
    fn without_a_tile_url_the_policy_is_self_only() {
        let c = ConsoleConfig::new(&ConsoleSettings::default()).expect("default");
        assert_eq!(c.policy(), SELF_ONLY_POLICY);
        let json = serde_json::to_value(&c).expect("json");
        assert_eq!(json["tile_url"], serde_json::Value::Null);
    }

    #[test]
    fn a_tile_url_adds_its_origin_to_img_src_only() {
        let c = config("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png").expect("valid");
        assert!(
            c.policy()
                .contains("img-src 'self' data: https://*.tile.openstreetmap.org;"),
            "{}",
            c.policy()
        );
        assert!(c.policy().contains("connect-src 'self';"));
        let c = config("http://127.0.0.1:8099/tiles/{z}/{x}/{y}.png").expect("valid");
        assert!(
            c.policy()
                .contains("img-src 'self' data: http://127.0.0.1:8099;")
        );
    }

    #[test]
    fn unusable_tile_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            ("ftp://x/{z}/{x}/{y}", "scheme"),
            ("https://tiles.example/{z}/{x}.png", "{z}, {x} and {y}"),
            ("https://evil; script-src */{z}/{x}/{y}", "plain host"),
            ("tiles.example/{z}/{x}/{y}", "no scheme"),
        ] {
            let err = config(url).expect_err(url);
            assert!(err.to_string().contains(reason), "{err}");
        }
    }
}
