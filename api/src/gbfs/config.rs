//! What the GBFS feeds need besides the read models: the `gbfs` settings (system identity,
//! `ttl`s, vehicle range, the id key) and, from the `commands` settings, the prices, the
//! battery a ride needs and how long a reservation holds. Checked once at start-up.

use super::ids::IdKey;
use fleetlog_runtime::settings::{CommandSettings, GbfsSettings};

/// Longest `ttl` of the vehicle feeds, in seconds: GBFS data must never be more than five
/// minutes stale.
pub const MAX_STATUS_TTL_S: u32 = 300;
/// Shortest `id_secret`, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The one pricing plan: the commands processor's fare (unlock fee + price per started
/// minute), in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Charged once per ride.
    pub unlock_fee_minor: i64,
    /// Charged per started minute.
    pub per_minute_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Plan {
    /// Decimal places of the currency's minor unit (ISO 4217): 0 for e.g. KRW and JPY, 3
    /// for e.g. KWD, 2 for every other code.
    pub fn exponent(&self) -> u32 {
        const ZERO: [&str; 16] = [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF",
        ];
        const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        let code = self.currency.to_ascii_uppercase();
        if ZERO.contains(&code.as_str()) || code == "XPF" {
            0
        } else if THREE.contains(&code.as_str()) {
            3
        } else {
            2
        }
    }

    /// `minor` in currency units (GBFS prices are decimal numbers).
    pub fn major(&self, minor: i64) -> f64 {
        minor.max(0) as f64 / 10f64.powi(self.exponent() as i32)
    }

    /// `minor` written with the currency's decimals, e.g. `1.00 EUR`, `1000 KRW`.
    pub fn text(&self, minor: i64) -> String {
        let decimals = self.exponent() as usize;
        format!("{:.decimals$} {}", self.major(minor), self.currency)
    }

    /// What the plan costs, in words.
    pub fn description(&self) -> String {
        if self.per_minute_minor > 0 {
            format!(
                "{} to unlock, then {} per started minute",
                self.text(self.unlock_fee_minor),
                self.text(self.per_minute_minor)
            )
        } else {
            format!("{} per ride", self.text(self.unlock_fee_minor))
        }
    }
}

/// Everything the GBFS feeds are configured with.
#[derive(Debug, Clone)]
pub struct GbfsConfig {
    /// `system_id`.
    pub system_id: String,
    /// Public name of the system.
    pub name: String,
    /// The feeds' language (BCP 47).
    pub language: String,
    /// IANA time zone.
    pub timezone: String,
    /// OSM `opening_hours` (3.0).
    pub opening_hours: String,
    /// Technical contact.
    pub feed_contact_email: String,
    /// Public URL of `/gbfs` without a trailing slash; `None`: from the request's `Host`.
    pub base_url: Option<String>,
    /// `ttl` of every feed but vehicle status, in seconds.
    pub ttl_s: u32,
    /// `ttl` of `vehicle_status` / `free_bike_status`, in seconds.
    pub status_ttl_s: u32,
    /// Range on a full battery, in metres.
    pub max_range_m: u32,
    /// Top speed, in km/h.
    pub max_speed_kmh: u32,
    /// Least battery a ride needs, in percent: below it a vehicle is `is_disabled`.
    pub min_battery_pct: i32,
    /// How long a reservation holds, in seconds.
    pub reservation_ttl_s: u32,
    /// The pricing plan.
    pub plan: Plan,
    /// Key of the public vehicle ids.
    pub(crate) id_key: IdKey,
}

/// The settings cannot make valid feeds.
#[derive(Debug, thiserror::Error)]
#[error("invalid GBFS settings: {0}")]
pub struct GbfsConfigError(String);

fn is_language(tag: &str) -> bool {
    // ^[a-z]{2,3}(-[A-Z]{2})?$, the pattern of the GBFS schemas.
    let (lang, region) = tag.split_once('-').unwrap_or((tag, ""));
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && (!tag.contains('-')
            || (region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase())))
}

/// Printable ASCII without spaces, as GBFS 3.0 requires of ids.
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic())
}

impl GbfsConfig {
    /// The feeds configured by `gbfs` with prices and rules from `commands`. Without an
    /// `id_secret` the public ids use a random key of this process (logged as a warning).
    ///
    /// # Errors
    /// Settings that would make invalid feeds: a malformed system id, language, time zone,
    /// email or base URL, a vehicle `ttl` above [`MAX_STATUS_TTL_S`], a secret shorter than
    /// [`MIN_SECRET_BYTES`], a currency that is not three letters.
    pub fn new(gbfs: &GbfsSettings, commands: &CommandSettings) -> Result<Self, GbfsConfigError> {
        let bad = |what: String| Err(GbfsConfigError(what));
        if !is_id(&gbfs.system_id) {
            return bad(format!(
                "system_id {:?} must be printable ASCII without spaces",
                gbfs.system_id
            ));
        }
        if gbfs.name.trim().is_empty() {
            return bad("name must not be empty".into());
        }
        if !is_language(&gbfs.language) {
            return bad(format!(
                "language {:?} is not a tag like en or en-US",
                gbfs.language
            ));
        }
        if gbfs.timezone.is_empty() || !gbfs.timezone.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(format!(
                "timezone {:?} is not an IANA zone name",
                gbfs.timezone
            ));
        }
        if gbfs.opening_hours.trim().is_empty() {
            return bad("opening_hours must not be empty (e.g. 24/7)".into());
        }
        let email = &gbfs.feed_contact_email;
        if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
            return bad(format!(
                "feed_contact_email {email:?} is not an email address"
            ));
        }
        let base_url = match gbfs.base_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.bytes().all(|b| b.is_ascii_graphic());
                if !ok {
                    return bad(format!("base_url {url:?} must be an http(s) URL"));
                }
                Some(url.trim_end_matches('/').to_owned())
            }
        };
        if gbfs.status_ttl_s > MAX_STATUS_TTL_S {
            return bad(format!(
                "status_ttl_s {} is above {MAX_STATUS_TTL_S} (GBFS data must never be more than 5 minutes stale)",
                gbfs.status_ttl_s
            ));
        }
        let currency = &commands.currency;
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return bad(format!("currency {currency:?} is not an ISO 4217 code"));
        }
        let id_key = match gbfs.id_secret.as_deref() {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return bad(format!(
                    "id_secret must have at least {MIN_SECRET_BYTES} bytes"
                ));
            }
            Some(secret) => IdKey::from_secret(secret),
            None => {
                tracing::warn!(
                    "FLEETLOG_GBFS__ID_SECRET is not set: GBFS vehicle ids use a random key of \
                     this process (they change on restart and differ between API processes)"
                );
                IdKey::random()
            }
        };
        Ok(Self {
            system_id: gbfs.system_id.clone(),
            name: gbfs.name.trim().to_owned(),
            language: gbfs.language.clone(),
            timezone: gbfs.timezone.clone(),
            opening_hours: gbfs.opening_hours.trim().to_owned(),
            feed_contact_email: email.clone(),
            base_url,
            ttl_s: gbfs.ttl_s,
            status_ttl_s: gbfs.status_ttl_s,
            max_range_m: gbfs.max_range_m,
            max_speed_kmh: gbfs.max_speed_kmh,
            min_battery_pct: commands.min_battery_pct,
            reservation_ttl_s: commands.reservation_ttl_s,
            plan: Plan {
                unlock_fee_minor: commands.unlock_fee_minor,
                per_minute_minor: commands.per_minute_minor,
                currency: currency.to_ascii_uppercase(),
            },
            id_key,
        })
    }

    /// The vehicle type id of a model: its name with every run of characters other than
    /// `A-Za-z0-9.@:/_-` made one `_` (`Max G30` → `Max_G30`); models that differ only
    /// there share one type. No model: `scooter`.
    pub fn vehicle_type_id(model: Option<&str>) -> String {
        let Some(model) = model.map(str::trim).filter(|m| !m.is_empty()) else {
            return "scooter".to_owned();
        };
        let mut id = String::with_capacity(model.len());
        for c in model.chars() {
            if c.is_ascii_alphanumeric() || ".@:/_-".contains(c) {
                id.push(c);
            } else if !id.ends_with('_') {
                id.push('_');
            }
        }
        id
    }
}

impl Default for GbfsConfig {
    /// The default settings, with a random id key and no warning (replaced at start-up by
    /// [`crate::ApiState::with_gbfs`]).
    fn default() -> Self {
        let gbfs = GbfsSettings::default();
        let commands = CommandSettings::default();
        Self {
            system_id: gbfs.system_id,
            name: gbfs.name,
            language: gbfs.language,
            timezone: gbfs.timezone,
            opening_hours: gbfs.opening_hours,
            feed_contact_email: gbfs.feed_contact_email,
            base_url: None,
            ttl_s: gbfs.ttl_s,
            status_ttl_s: gbfs.status_ttl_s,
            max_range_m: gbfs.max_range_m,
            max_speed_kmh: gbfs.max_speed_kmh,
            min_battery_pct: commands.min_battery_pct,
            reservation_ttl_s: commands.reservation_ttl_s,
            plan: Plan {
                unlock_fee_minor: commands.unlock_fee_minor,
                per_minute_minor: commands.per_minute_minor,
                currency: commands.currency,
            },
            id_key: IdKey::random(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GbfsSettings {
        GbfsSettings {
            id_secret: Some("0123456789abcdef".into()),
            ..GbfsSettings::default()
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        let config = GbfsConfig::new(&settings(), &CommandSettings::default()).expect("valid");
        assert_eq!(
            config.plan.description(),
            "1.00 EUR to unlock, then 0.25 EUR per started minute"
        );
        assert_eq!(config.reservation_ttl_s, 600);
    }

    #[test]
    fn settings_that_would_make_invalid_feeds_are_refused() {
        let commands = CommandSettings::default();
        let refused = |f: fn(&mut GbfsSettings)| {
            let mut s = settings();
            f(&mut s);
            GbfsConfig::new(&s, &commands).is_err()
        };
        assert!(refused(|s| s.system_id = "has space".into()));
        assert!(refused(|s| s.language = "EN".into()));
        assert!(refused(|s| s.language = "en-us".into()));
        assert!(refused(|s| s.status_ttl_s = 301));
        assert!(refused(|s| s.id_secret = Some("short".into())));
        assert!(refused(|s| s.base_url = Some("ftp://x".into())));
        assert!(refused(|s| s.feed_contact_email = "nobody".into()));
        assert!(!refused(|s| s.language = "ko-KR".into()));
        let mut s = settings();
        s.base_url = Some("https://gbfs.example.com/gbfs/".into());
        let config = GbfsConfig::new(&s, &commands).expect("valid");
        assert_eq!(
            config.base_url.as_deref(),
            Some("https://gbfs.example.com/gbfs")
        );
    }

    #[test]
    fn prices_follow_the_currency_s_minor_unit() {
        let plan = |currency: &str| Plan {
            unlock_fee_minor: 1000,
            per_minute_minor: 150,
            currency: currency.into(),
        };
        assert_eq!(plan("EUR").major(1000), 10.0);
        assert_eq!(plan("KRW").major(1000), 1000.0);
        assert_eq!(plan("KWD").major(1500), 1.5);
        assert_eq!(
            plan("KRW").description(),
            "1000 KRW to unlock, then 150 KRW per started minute"
        );
        assert_eq!(plan("EUR").text(-5), "0.00 EUR");
    }

    #[test]
    fn vehicle_type_ids_are_printable_ascii_without_spaces() {
        assert_eq!(GbfsConfig::vehicle_type_id(Some("ES4")), "ES4");
        assert_eq!(GbfsConfig::vehicle_type_id(None), "scooter");
        assert_eq!(GbfsConfig::vehicle_type_id(Some("  ")), "scooter");
        let id = GbfsConfig::vehicle_type_id(Some(" Ninebot  Max G30 "));
        assert_eq!(id, "Ninebot_Max_G30");
        let id = GbfsConfig::vehicle_type_id(Some("Städtler ✓ 3"));
        assert_eq!(id, "St_dtler_3");
    }
}
