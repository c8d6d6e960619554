//! Ingest: everything between a scooter's TCP socket and the log.
//!
//! - [`protocol`]: the device protocols (Teltonika Codec 8/8E/12, Omni text, GT06)
//!   without I/O — framing, handshake, ACKs, record decoding, command encoding. Shared by
//!   the gateway, the decoder and the simulator.
//! - [`gateway`]: the TCP listeners; appends every frame to `scooter.frames.v1` and ACKs
//!   the device only after the broker acknowledged it; delivers `scooter.downlink.v1`.
//! - [`simulator`]: `fleetlog simulate`, a fleet of scooters speaking the device protocols
//!   to a gateway (login, periodic reports, ACK-driven re-sends, lock/unlock commands).
//! - [`decoder`]: stored frames → one `Telemetry` event per record, deterministic ids.
//!
//! In the flow: `scooter ──TCP──▶ gateway ──append──▶ scooter.frames.v1 ──▶ decoder ──▶
//! scooter.telemetry.v1`, and back down from `scooter.downlink.v1` to the device.

pub mod decoder;
pub mod gateway;
pub mod protocol;
pub mod simulator;
