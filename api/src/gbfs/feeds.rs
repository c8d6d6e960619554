//! The `data` of each GBFS file, for 2.3 and 3.0 from the same rows: pure functions of the
//! configuration and what [`super::read`] returned, so the rules are unit-tested.
//!
//! Units at the edge: 2.3 times are POSIX seconds, 3.0 times RFC 3339 (UTC); 2.3 text is a
//! string, 3.0 text `[{text, language}]`; prices are decimal currency units; coordinates
//! have 6 decimals; `current_fuel_percent` is 0–1.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::config::GbfsConfig;
use super::ids::public_vehicle_id;
use super::read::VehicleRow;

/// The id of the one pricing plan.
pub const PLAN_ID: &str = "standard";
/// Smallest POSIX time the 2.3 schemas accept (2015-12-15).
const MIN_POSIX_S: i64 = 1_450_155_600;

/// A GBFS version we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// 2.3 (supported).
    V2_3,
    /// 3.0 (current: what `/gbfs/gbfs.json` serves).
    V3_0,
}

impl Version {
    /// Every version, ascending (the order of `gbfs_versions.json`).
    pub const ALL: [Version; 2] = [Version::V2_3, Version::V3_0];

    /// `"2.3"` or `"3.0"`: the `version` field and the path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2_3 => "2.3",
            Self::V3_0 => "3.0",
        }
    }

    /// The version named by a path segment.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// A file of the feed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// `gbfs.json`: discovery.
    Gbfs,
    /// `gbfs_versions.json`.
    GbfsVersions,
    /// `manifest.json` (3.0).
    Manifest,
    /// `system_information.json`.
    SystemInformation,
    /// `vehicle_types.json`.
    VehicleTypes,
    /// `vehicle_status.json` (3.0) / `free_bike_status.json` (2.3).
    VehicleStatus,
    /// `geofencing_zones.json`.
    GeofencingZones,
    /// `system_pricing_plans.json`.
    SystemPricingPlans,
}

impl Feed {
    /// The feeds `gbfs.json` lists, in its order.
    pub const LISTED: [Feed; 6] = [
        Feed::SystemInformation,
        Feed::VehicleTypes,
        Feed::VehicleStatus,
        Feed::GeofencingZones,
        Feed::SystemPricingPlans,
        Feed::GbfsVersions,
    ];

    /// The spec's base file name in `version` (`None`: not part of that version).
    pub fn name(self, version: Version) -> Option<&'static str> {
        Some(match (self, version) {
            (Self::Gbfs, _) => "gbfs",
            (Self::GbfsVersions, _) => "gbfs_versions",
            (Self::Manifest, Version::V3_0) => "manifest",
            (Self::Manifest, Version::V2_3) => return None,
            (Self::SystemInformation, _) => "system_information",
            (Self::VehicleTypes, _) => "vehicle_types",
            (Self::VehicleStatus, Version::V3_0) => "vehicle_status",
            (Self::VehicleStatus, Version::V2_3) => "free_bike_status",
            (Self::GeofencingZones, _) => "geofencing_zones",
            (Self::SystemPricingPlans, _) => "system_pricing_plans",
        })
    }

    /// The feed of `version` whose file is `file` (`vehicle_status.json`, …).
    pub fn parse(version: Version, file: &str) -> Option<Self> {
        let name = file.strip_suffix(".json")?;
        [Self::Gbfs, Self::Manifest]
            .into_iter()
            .chain(Self::LISTED)
            .find(|f| f.name(version) == Some(name))
    }

    /// Whether it changes with the vehicles (then its `ttl` is the short one).
    pub fn is_status(self) -> bool {
        self == Self::VehicleStatus
    }
}

/// What one version's documents are written with.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The configuration.
    pub config: &'a GbfsConfig,
    /// The version written.
    pub version: Version,
    /// Public URL of `/gbfs`, without a trailing slash.
    pub base: &'a str,
}

/// Degrees × 10^7 as degrees with 6 decimals (~0.11 m).
pub fn degrees(e7: i32) -> f64 {
    (f64::from(e7) / 10.0).round() / 1e6
}

impl Ctx<'_> {
    /// Text in the version's form: a string (2.3) or `[{text, language}]` (3.0).
    pub fn text(&self, text: &str) -> Value {
        match self.version {
            Version::V2_3 => json!(text),
            Version::V3_0 => json!([{"text": text, "language": self.config.language}]),
        }
    }

    /// A time in the version's form: POSIX seconds (2.3) or RFC 3339 (3.0).
    pub fn time(&self, at: DateTime<Utc>) -> Value {
        match self.version {
            Version::V2_3 => json!(at.timestamp()),
            Version::V3_0 => json!(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }

    /// URL of `feed` in `version`.
    pub fn url(&self, version: Version, feed: Feed) -> Option<String> {
        Some(format!(
            "{}/{}/{}.json",
            self.base,
            version.as_str(),
            feed.name(version)?
        ))
    }

    /// `gbfs.json`: every feed of this version by name (2.3: under the language).
    pub fn discovery(&self) -> Value {
        let feeds: Vec<Value> = Feed::LISTED
            .into_iter()
            .filter_map(|feed| {
                Some(
                    json!({"name": feed.name(self.version)?, "url": self.url(self.version, feed)?}),
                )
            })
            .collect();
        match self.version {
            Version::V2_3 => json!({ self.config.language.as_str(): {"feeds": feeds} }),
            Version::V3_0 => json!({ "feeds": feeds }),
        }
    }

    fn versions_list(&self) -> Vec<Value> {
        Version::ALL
            .into_iter()
            .filter_map(|v| Some(json!({"version": v.as_str(), "url": self.url(v, Feed::Gbfs)?})))
            .collect()
    }

    /// `gbfs_versions.json`: both versions' discovery files, ascending.
    pub fn versions(&self) -> Value {
        json!({ "versions": self.versions_list() })
    }

    /// `manifest.json` (3.0): our one dataset in both versions.
    pub fn manifest(&self) -> Value {
        json!({ "datasets": [{
            "system_id": self.config.system_id,
            "versions": self.versions_list(),
        }]})
    }

    /// `system_information.json`.
    pub fn system_information(&self) -> Value {
        let c = self.config;
        match self.version {
            Version::V2_3 => json!({
                "system_id": c.system_id,
                "language": c.language,
                "name": c.name,
                "timezone": c.timezone,
                "feed_contact_email": c.feed_contact_email,
            }),
            Version::V3_0 => json!({
                "system_id": c.system_id,
                "languages": [c.language],
                "name": self.text(&c.name),
                "opening_hours": c.opening_hours,
                "feed_contact_email": c.feed_contact_email,
                "timezone": c.timezone,
                "manifest_url": self.url(Version::V3_0, Feed::Manifest),
            }),
        }
    }

    /// `vehicle_types.json`: one electric standing scooter type per model of the fleet
    /// (models whose ids coincide share one type, named after the first), with the
    /// configured range and speed.
    pub fn vehicle_types(&self, models: &[Option<String>]) -> Value {
        let c = self.config;
        let mut types = BTreeMap::new();
        for model in models {
            types
                .entry(GbfsConfig::vehicle_type_id(model.as_deref()))
                .or_insert_with(|| model.as_deref().map(str::trim).filter(|m| !m.is_empty()));
        }
        let reserve_minutes = match c.reservation_ttl_s {
            0 => 0,
            s => (s / 60).max(1),
        };
        let types: Vec<Value> = types
            .into_iter()
            .map(|(id, model)| {
                let mut t = json!({
                    "vehicle_type_id": id,
                    "form_factor": "scooter_standing",
                    "propulsion_type": "electric",
                    "max_range_meters": f64::from(c.max_range_m),
                    "name": self.text(model.unwrap_or("Scooter")),
                    "wheel_count": 2,
                    "rider_capacity": 1,
                    "max_permitted_speed": c.max_speed_kmh,
                    "default_reserve_time": reserve_minutes,
                    "return_constraint": "free_floating",
                    "default_pricing_plan_id": PLAN_ID,
                    "pricing_plan_ids": [PLAN_ID],
                });
                if let Some(model) = model {
                    t["model"] = self.text(model);
                }
                t
            })
            .collect();
        json!({ "vehicle_types": types })
    }

    /// `vehicle_status.json` / `free_bike_status.json`: every listable vehicle under its
    /// public id, ordered by that id (never by anything stable across trips).
    ///
    /// Reserved vehicles are listed with `is_reserved`; a vehicle that could not be ridden
    /// now (offline, battery unknown or below the minimum) is `is_disabled`. Range is the
    /// configured full range times the battery level (0 when unknown).
    pub fn vehicle_status(&self, rows: &[VehicleRow]) -> Value {
        let c = self.config;
        let mut vehicles: Vec<(String, Value)> = rows
            .iter()
            .map(|v| {
                let id = public_vehicle_id(&c.id_key, v.vehicle_id, v.last_trip).to_string();
                let level = v.battery_pct.map(|b| f64::from(b.clamp(0, 100)) / 100.0);
                let rentable = v.online && v.battery_pct.is_some_and(|b| b >= c.min_battery_pct);
                let mut o = json!({
                    self.id_field(): id,
                    "lat": degrees(v.lat_e7),
                    "lon": degrees(v.lon_e7),
                    "is_reserved": v.state.as_deref() == Some("RESERVED"),
                    "is_disabled": !rentable,
                    "vehicle_type_id": GbfsConfig::vehicle_type_id(v.model.as_deref()),
                    "current_range_meters": (f64::from(c.max_range_m) * level.unwrap_or(0.0)).round(),
                });
                if let Some(level) = level {
                    o["current_fuel_percent"] = json!(level);
                }
                if let Some(at) = v.last_reported_ms.and_then(DateTime::from_timestamp_millis)
                    && (self.version == Version::V3_0 || at.timestamp() >= MIN_POSIX_S)
                {
                    o["last_reported"] = self.time(at);
                }
                (id, o)
            })
            .collect();
        vehicles.sort_by(|a, b| a.0.cmp(&b.0));
        let list: Vec<Value> = vehicles.into_iter().map(|(_, o)| o).collect();
        match self.version {
            Version::V2_3 => json!({ "bikes": list }),
            Version::V3_0 => json!({ "vehicles": list }),
        }
    }

    fn id_field(&self) -> &'static str {
        match self.version {
            Version::V2_3 => "bike_id",
            Version::V3_0 => "vehicle_id",
        }
    }

    /// `system_pricing_plans.json`: the commands processor's fare as one plan — the unlock
    /// fee as `price`, then the per-minute price charged at the start of every minute.
    pub fn pricing_plans(&self) -> Value {
        let p = &self.config.plan;
        let mut plan = json!({
            "plan_id": PLAN_ID,
            "name": self.text("Standard"),
            "currency": p.currency,
            "price": p.major(p.unlock_fee_minor),
            "is_taxable": false,
            "description": self.text(&p.description()),
        });
        if p.per_minute_minor > 0 {
            plan["per_min_pricing"] =
                json!([{"start": 0, "rate": p.major(p.per_minute_minor), "interval": 1}]);
        }
        json!({ "plans": [plan] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn config() -> GbfsConfig {
        GbfsConfig::default()
    }

    fn row(n: u128, state: Option<&str>, battery: Option<i32>, online: bool) -> VehicleRow {
        VehicleRow {
            vehicle_id: Uuid::from_u128(n),
            model: Some("ES4".into()),
            state: state.map(Into::into),
            lat_e7: 375_665_351,
            lon_e7: 1_269_779_692,
            battery_pct: battery,
            online,
            last_reported_ms: Some(1_764_000_000_123),
            last_trip: None,
        }
    }

    #[test]
    fn feeds_have_the_names_of_their_version() {
        assert_eq!(
            Feed::parse(Version::V3_0, "vehicle_status.json"),
            Some(Feed::VehicleStatus)
        );
        assert_eq!(
            Feed::parse(Version::V2_3, "free_bike_status.json"),
            Some(Feed::VehicleStatus)
        );
        assert_eq!(Feed::parse(Version::V2_3, "vehicle_status.json"), None);
        assert_eq!(Feed::parse(Version::V3_0, "free_bike_status.json"), None);
        assert_eq!(Feed::parse(Version::V2_3, "manifest.json"), None);
        assert_eq!(
            Feed::parse(Version::V3_0, "manifest.json"),
            Some(Feed::Manifest)
        );
        assert_eq!(Feed::parse(Version::V3_0, "gbfs"), None);
        assert_eq!(Version::parse("3.0"), Some(Version::V3_0));
        assert_eq!(Version::parse("3"), None);
    }

    #[test]
    fn vehicles_convert_units_and_flag_what_cannot_be_ridden() {
        let config = config();
        let ctx = Ctx {
            config: &config,
            version: Version::V3_0,
            base: "http://h/gbfs",
        };
        let doc = ctx.vehicle_status(&[
            row(1, None, Some(80), true),
            row(2, Some("RESERVED"), Some(80), true),
            row(3, Some("AVAILABLE"), Some(10), true),
            row(4, Some("AVAILABLE"), Some(90), false),
            row(5, Some("AVAILABLE"), None, true),
        ]);
        let list = doc["vehicles"].as_array().expect("vehicles");
        let by_vehicle = |n: u128| {
            let id = public_vehicle_id(&config.id_key, Uuid::from_u128(n), None).to_string();
            list.iter()
                .find(|v| v["vehicle_id"] == id.as_str())
                .expect("listed")
                .clone()
        };
        let v1 = by_vehicle(1);
        assert_eq!(
            (v1["is_reserved"].clone(), v1["is_disabled"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(v1["lat"], json!(37.566535));
        assert_eq!(v1["lon"], json!(126.977969));
        assert_eq!(v1["current_fuel_percent"], json!(0.8));
        assert_eq!(v1["current_range_meters"], json!(32000.0));
        assert_eq!(v1["last_reported"], json!("2025-11-24T16:00:00Z"));
        assert_eq!(by_vehicle(2)["is_reserved"], json!(true));
        assert_eq!(by_vehicle(3)["is_disabled"], json!(true));
        assert_eq!(by_vehicle(4)["is_disabled"], json!(true));
        let v5 = by_vehicle(5);
        assert_eq!(v5["is_disabled"], json!(true));
        assert_eq!(v5["current_range_meters"], json!(0.0));
        assert!(v5.get("current_fuel_percent").is_none());
        let ids: Vec<&str> = list
            .iter()
            .filter_map(|v| v["vehicle_id"].as_str())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "ordered by public id");

        let ctx = Ctx {
            version: Version::V2_3,
            ..ctx
        };
        let doc = ctx.vehicle_status(&[row(1, None, Some(80), true)]);
        assert_eq!(doc["bikes"][0]["last_reported"], json!(1_764_000_000));
        assert!(doc["bikes"][0].get("vehicle_id").is_none());
    }

    #[test]
    fn the_pricing_plan_is_the_fare_of_the_commands_processor() {
        let config = config();
        let ctx = Ctx {
            config: &config,
            version: Version::V3_0,
            base: "http://h/gbfs",
        };
        let plan = &ctx.pricing_plans()["plans"][0];
        assert_eq!(plan["price"], json!(1.0));
        assert_eq!(plan["currency"], json!("EUR"));
        assert_eq!(
            plan["per_min_pricing"],
            json!([{"start": 0, "rate": 0.25, "interval": 1}])
        );
        assert_eq!(
            plan["name"],
            json!([{"text": "Standard", "language": "en"}])
        );
    }

    #[test]
    fn discovery_lists_every_feed_of_its_version_and_never_the_manifest() {
        let config = config();
        let ctx = Ctx {
            config: &config,
            version: Version::V2_3,
            base: "https://x/gbfs",
        };
        let feeds = &ctx.discovery()["en"]["feeds"];
        assert!(feeds.as_array().expect("feeds").contains(
            &json!({"name": "free_bike_status", "url": "https://x/gbfs/2.3/free_bike_status.json"})
        ));
        let ctx = Ctx {
            version: Version::V3_0,
            ..ctx
        };
        let text = ctx.discovery().to_string();
        assert!(text.contains("/3.0/vehicle_status.json") && !text.contains("manifest"));
        assert_eq!(
            ctx.versions()["versions"],
            json!([
                {"version": "2.3", "url": "https://x/gbfs/2.3/gbfs.json"},
                {"version": "3.0", "url": "https://x/gbfs/3.0/gbfs.json"},
            ])
        );
    }
}
