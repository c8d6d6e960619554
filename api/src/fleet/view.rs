//! Rows of the fleet read model as the API shows them: degrees, not e7 integers; RFC 3339
//! times, not epoch milliseconds (the rows themselves are read by [`super::read`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A point in degrees.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub(crate) struct Point {
    pub(crate) lat: f64,
    pub(crate) lon: f64,
}

pub(crate) fn point(lat_e7: Option<i32>, lon_e7: Option<i32>) -> Option<Point> {
    Some(Point {
        lat: f64::from(lat_e7?) / 1e7,
        lon: f64::from(lon_e7?) / 1e7,
    })
}

pub(crate) fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms?)
}

/// A command with its outcome, as listed with a vehicle (from `command_requests` and the
/// rides read model).
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub(crate) struct RecentCommand {
    command_id: Uuid,
    kind: String,
    actor_role: String,
    requested_at: DateTime<Utc>,
    status: String,
    code: Option<String>,
    message: Option<String>,
    finished_at: Option<DateTime<Utc>>,
}

/// Columns of `vehicles v LEFT JOIN devices d` every vehicle view selects.
pub(crate) const VEHICLE_COLUMNS: &str = "v.vehicle_id, v.device_id, v.protocol, v.model, \
    v.qr_code, coalesce(v.state, 'AVAILABLE') AS state, v.state_since_ms, d.lat_e7, d.lon_e7, \
    d.position_time_ms, d.speed_kmh, d.heading_deg, d.battery_pct, d.lock_state, \
    d.odometer_m, d.alarms, d.online, d.online_since_ms, d.device_time_ms, d.received_at_ms";

/// One vehicle with its device's latest state.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct VehicleRow {
    pub(crate) vehicle_id: Uuid,
    pub(crate) device_id: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) qr_code: Option<String>,
    pub(crate) state: String,
    pub(crate) state_since_ms: Option<i64>,
    pub(crate) lat_e7: Option<i32>,
    pub(crate) lon_e7: Option<i32>,
    pub(crate) position_time_ms: Option<i64>,
    pub(crate) speed_kmh: Option<i32>,
    pub(crate) heading_deg: Option<i32>,
    pub(crate) battery_pct: Option<i32>,
    pub(crate) lock_state: Option<String>,
    pub(crate) odometer_m: Option<i64>,
    pub(crate) alarms: Option<Vec<String>>,
    pub(crate) online: Option<bool>,
    pub(crate) online_since_ms: Option<i64>,
    pub(crate) device_time_ms: Option<i64>,
    pub(crate) received_at_ms: Option<i64>,
}

/// A vehicle as operators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Vehicle)]
pub(crate) struct VehicleView {
    vehicle_id: Uuid,
    device_id: Option<String>,
    protocol: Option<String>,
    model: Option<String>,
    qr_code: Option<String>,
    state: String,
    state_since: Option<DateTime<Utc>>,
    position: Option<Point>,
    position_time: Option<DateTime<Utc>>,
    speed_kmh: Option<i32>,
    heading_deg: Option<i32>,
    battery_pct: Option<i32>,
    lock_state: Option<String>,
    odometer_m: Option<i64>,
    alarms: Vec<String>,
    online: bool,
    online_since: Option<DateTime<Utc>>,
    last_report_device_time: Option<DateTime<Utc>>,
    last_report_received_at: Option<DateTime<Utc>>,
}

impl From<VehicleRow> for VehicleView {
    fn from(r: VehicleRow) -> Self {
        Self {
            vehicle_id: r.vehicle_id,
            device_id: r.device_id,
            protocol: r.protocol,
            model: r.model,
            qr_code: r.qr_code,
            state: r.state,
            state_since: time(r.state_since_ms),
            position: point(r.lat_e7, r.lon_e7),
            position_time: time(r.position_time_ms),
            speed_kmh: r.speed_kmh,
            heading_deg: r.heading_deg,
            battery_pct: r.battery_pct,
            lock_state: r.lock_state,
            odometer_m: r.odometer_m,
            alarms: r.alarms.unwrap_or_default(),
            online: r.online.unwrap_or(false),
            online_since: time(r.online_since_ms),
            last_report_device_time: time(r.device_time_ms),
            last_report_received_at: time(r.received_at_ms),
        }
    }
}

/// Columns of `devices` the device view selects.
pub(crate) const DEVICE_COLUMNS: &str = "device_id, protocol, vehicle_id, vehicle_since_ms, \
    lat_e7, lon_e7, position_time_ms, speed_kmh, heading_deg, battery_pct, battery_time_ms, \
    lock_state, lock_time_ms, odometer_m, odometer_time_ms, alarms, online, online_since_ms, \
    gateway_id, device_time_ms, received_at_ms";

/// One device of the fleet read model, registered or not.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeviceRow {
    pub(crate) device_id: String,
    pub(crate) protocol: Option<String>,
    pub(crate) vehicle_id: Option<Uuid>,
    pub(crate) vehicle_since_ms: Option<i64>,
    pub(crate) lat_e7: Option<i32>,
    pub(crate) lon_e7: Option<i32>,
    pub(crate) position_time_ms: Option<i64>,
    pub(crate) speed_kmh: Option<i32>,
    pub(crate) heading_deg: Option<i32>,
    pub(crate) battery_pct: Option<i32>,
    pub(crate) battery_time_ms: Option<i64>,
    pub(crate) lock_state: Option<String>,
    pub(crate) lock_time_ms: Option<i64>,
    pub(crate) odometer_m: Option<i64>,
    pub(crate) odometer_time_ms: Option<i64>,
    pub(crate) alarms: Option<Vec<String>>,
    pub(crate) online: Option<bool>,
    pub(crate) online_since_ms: Option<i64>,
    pub(crate) gateway_id: Option<String>,
    pub(crate) device_time_ms: Option<i64>,
    pub(crate) received_at_ms: Option<i64>,
}

/// A device's latest state as operators see it: degrees and RFC 3339 times, like
/// [`VehicleView`] (not the read model's columns, so a column rename is not an API change).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Device)]
pub(crate) struct DeviceView {
    device_id: String,
    /// `teltonika`, `omni` or `gt06`: of its newest connection, else of its registration.
    protocol: Option<String>,
    /// The vehicle it is registered to.
    vehicle_id: Option<Uuid>,
    vehicle_since: Option<DateTime<Utc>>,
    /// Its last valid position, degrees.
    position: Option<Point>,
    position_time: Option<DateTime<Utc>>,
    speed_kmh: Option<i32>,
    heading_deg: Option<i32>,
    battery_pct: Option<i32>,
    battery_time: Option<DateTime<Utc>>,
    lock_state: Option<String>,
    lock_time: Option<DateTime<Utc>>,
    odometer_m: Option<i64>,
    odometer_time: Option<DateTime<Utc>>,
    alarms: Vec<String>,
    online: bool,
    online_since: Option<DateTime<Utc>>,
    /// The gateway holding its session.
    gateway_id: Option<String>,
    last_report_device_time: Option<DateTime<Utc>>,
    last_report_received_at: Option<DateTime<Utc>>,
}

impl From<DeviceRow> for DeviceView {
    fn from(r: DeviceRow) -> Self {
        Self {
            device_id: r.device_id,
            protocol: r.protocol,
            vehicle_id: r.vehicle_id,
            vehicle_since: time(r.vehicle_since_ms),
            position: point(r.lat_e7, r.lon_e7),
            position_time: time(r.position_time_ms),
            speed_kmh: r.speed_kmh,
            heading_deg: r.heading_deg,
            battery_pct: r.battery_pct,
            battery_time: time(r.battery_time_ms),
            lock_state: r.lock_state,
            lock_time: time(r.lock_time_ms),
            odometer_m: r.odometer_m,
            odometer_time: time(r.odometer_time_ms),
            alarms: r.alarms.unwrap_or_default(),
            online: r.online.unwrap_or(false),
            online_since: time(r.online_since_ms),
            gateway_id: r.gateway_id,
            last_report_device_time: time(r.device_time_ms),
            last_report_received_at: time(r.received_at_ms),
        }
    }
}
