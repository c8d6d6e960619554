//! What the MDS provider API needs to know about us, checked once at start-up from
//! [`MdsSettings`] (`FLEETLOG_MDS__*`).

use fleetlog_runtime::settings::MdsSettings;
use uuid::Uuid;

/// The MDS schema's upper bound on `ttl`, ms.
const MAX_TTL_MS: u32 = 300_000;

/// The MDS settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsConfig {
    /// Our `provider_id`.
    pub provider_id: Uuid,
    /// How long after its end an hour stays `202`, ms.
    pub hour_close_delay_ms: i64,
    /// `ttl` of the near-real-time endpoints, ms.
    pub ttl_ms: u32,
    /// Most items per page.
    pub page_size: u32,
    /// Top speed of the vehicles, km/h (`maximum_speed`), from the GBFS settings.
    pub max_speed_kmh: u32,
}

/// An unusable MDS setting.
#[derive(Debug, thiserror::Error)]
#[error("FLEETLOG_MDS__{field}: {reason}")]
pub struct MdsConfigError {
    field: &'static str,
    reason: String,
}

impl MdsConfig {
    /// Check `settings`; `max_speed_kmh` is the vehicles' governed top speed.
    ///
    /// # Errors
    /// A provider id that is not a lowercase UUID, a `ttl` above 300000 ms, a page size of 0.
    pub fn new(settings: &MdsSettings, max_speed_kmh: u32) -> Result<Self, MdsConfigError> {
        let bad = |field, reason: String| Err(MdsConfigError { field, reason });
        let Ok(provider_id) = Uuid::parse_str(&settings.provider_id) else {
            return bad(
                "PROVIDER_ID",
                format!("{:?} is not a UUID", settings.provider_id),
            );
        };
        if provider_id.hyphenated().to_string() != settings.provider_id {
            return bad(
                "PROVIDER_ID",
                "MDS ids are lowercase and hyphenated".to_owned(),
            );
        }
        if settings.ttl_ms > MAX_TTL_MS {
            return bad("TTL_MS", format!("at most {MAX_TTL_MS} (5 minutes)"));
        }
        if settings.page_size == 0 {
            return bad("PAGE_SIZE", "at least 1".to_owned());
        }
        Ok(Self {
            provider_id,
            hour_close_delay_ms: i64::try_from(settings.hour_close_delay_s.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            ttl_ms: settings.ttl_ms,
            page_size: settings.page_size,
            max_speed_kmh,
        })
    }
}

impl Default for MdsConfig {
    /// The defaults of [`MdsSettings`] (a top speed of 25 km/h).
    fn default() -> Self {
        let d = MdsSettings::default();
        Self {
            provider_id: Uuid::parse_str(&d.provider_id).unwrap_or_default(),
            hour_close_delay_ms: 900_000,
            ttl_ms: d.ttl_ms,
            page_size: d.page_size,
            max_speed_kmh: 25,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        let config = MdsConfig::new(&MdsSettings::default(), 25).expect("defaults valid");
        assert_eq!(config.hour_close_delay_ms, 900_000);
        let mut s = MdsSettings {
            provider_id: "5F7114D1-4091-46EE-B492-E55875F7DE00".into(),
            ..MdsSettings::default()
        };
        let err = MdsConfig::new(&s, 25).expect_err("uppercase refused");
        assert!(err.to_string().contains("PROVIDER_ID"), "{err}");
        s = MdsSettings {
            ttl_ms: 300_001,
            ..MdsSettings::default()
        };
        assert!(MdsConfig::new(&s, 25).is_err());
        s = MdsSettings {
            page_size: 0,
            ..MdsSettings::default()
        };
        assert!(MdsConfig::new(&s, 25).is_err());
    }
}
