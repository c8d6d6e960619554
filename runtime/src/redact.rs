//! Secrets out of printed settings: passwords in connection URLs.
//!
//! `fleetlog config` prints [`Settings::redacted`]; the secrets that are settings of their
//! own (`jwt_secret`, `totp_key`, `gbfs.id_secret`, the registry's admin password) are never
//! serialised at all.

use crate::Settings;

/// What a removed secret is replaced with.
pub const REDACTED: &str = "***";

/// `url` with the password of its user info (`scheme://user:password@host`) and the value of
/// any `password=` query parameter (as libpq takes) replaced by [`REDACTED`]. Text that is
/// not a URL comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = url[..rest_start].to_owned();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push(':');
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(&redact_query(&rest[authority_end..]));
    out
}

/// The path, query and fragment with `password=` values replaced.
fn redact_query(tail: &str) -> String {
    let Some(query_start) = tail.find('?') else {
        return tail.to_owned();
    };
    let (path, query) = tail.split_at(query_start + 1);
    let (query, fragment) = match query.find('#') {
        Some(hash) => query.split_at(hash),
        None => (query, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                format!("{name}={REDACTED}")
            }
            _ => param.to_owned(),
        })
        .collect();
    format!("{path}{}{fragment}", params.join("&"))
}

impl Settings {
    /// These settings with passwords removed from every URL (for printing).
    #[must_use]
    pub fn redacted(&self) -> Settings {
        let mut shown = self.clone();
        shown.database_url = redact_url(&self.database_url);
        shown.schema_registry_url = redact_url(&self.schema_registry_url);
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_user_info_and_query_are_replaced() {
        let cases = [
            (
                "postgres://fleet:hunter2@db:5432/fleetlog",
                "postgres://fleet:***@db:5432/fleetlog",
            ),
            (
                "postgres://fleet:p%40ss@w0rd@db/x?sslmode=require",
                "postgres://fleet:***@db/x?sslmode=require",
            ),
            (
                "postgres://db/x?user=fleet&password=hunter2&sslmode=require",
                "postgres://db/x?user=fleet&password=***&sslmode=require",
            ),
            (
                "http://admin:s3cret@registry:8081",
                "http://admin:***@registry:8081",
            ),
            ("http://user@host/", "http://user@host/"),
            (
                "postgres://postgres@127.0.0.1:5432/fleetlog",
                "postgres://postgres@127.0.0.1:5432/fleetlog",
            ),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn redacted_settings_keep_everything_but_the_passwords() {
        let settings = Settings {
            database_url: "postgres://fleet:hunter2@db/fleetlog".into(),
            schema_registry_url: "http://admin:s3cret@registry:8081".into(),
            ..Settings::default()
        };
        let shown = settings.redacted();
        let json = serde_json::to_string(&shown).expect("json");
        assert!(
            !json.contains("hunter2") && !json.contains("s3cret"),
            "{json}"
        );
        assert_eq!(shown.kafka, settings.kafka);
        assert_eq!(shown.database_url, "postgres://fleet:***@db/fleetlog");
    }
}
