//! `fleetlog simulate`: a fleet of scooters speaking the real device protocols to a gateway.
//!
//! Every scooter is a [`SimScooter`]: physical state ([`Scooter`]: position, heading, speed,
//! battery, lock state, odometer) plus one device-side connection driver for its protocol
//! (Teltonika, Omni or GT06), built on the I/O-free encoders and parsers of
//! [`crate::protocol`]. Like real devices, a scooter
//!
//! - logs in, then reports its state every interval (device time, position, speed,
//!   heading, battery, lock state, odometer, as far as its protocol carries them);
//! - moves only when unlocked (random-walk heading at about 15 km/h) and drains its
//!   battery faster while moving;
//! - keeps every frame the server must ACK until the ACK arrives; a missing or wrong ACK
//!   makes it reconnect and re-send the same bytes; dropped connections are retried with
//!   exponential backoff;
//! - obeys lock/unlock/locate/beep commands, answers them in protocol and reports the new
//!   lock state right away.
//!
//! [`run`] drives a whole fleet (one task per scooter) until shutdown or `--duration`;
//! [`LiveStats`] lets callers watch progress while it runs. Tests and benchmarks can drive
//! single scooters through the [`SimScooter`] methods instead.

mod config;
mod device;
mod driver;
mod fleet;
mod gt06;
mod link;
mod motion;
mod omni;
mod scooter;
mod stats;
mod teltonika;

pub use config::{ConfigError, ProtocolChoice, SimulateArgs};
pub use device::{AckOutcome, Obeyed, SimScooter, connect};
pub use fleet::{LOW_BATTERY_PCT, run, run_with};
pub use link::{CommandKind, DeviceError, ServerCommand};
pub use motion::{CRUISE_SPEED_KMH, SEOUL_CITY_HALL, START_RADIUS_M};
pub use scooter::Scooter;
pub use stats::{LiveStats, SimStats};
