//! Rust mirrors of the Avro records in `schemas/avro/`, one file per topic family.
//!
//! Field names, order and types follow the `.avsc` files; unions of records are enums
//! with one newtype variant per branch, in branch order (apache-avro's serde maps a
//! variant to the branch with the same index). Optional fields (`["null", T]`) are
//! `Option<T>`; UUIDs are `uuid::Uuid` kept as text on the wire. The tests in
//! `schemas/tests/contracts.rs` prove each type and its schema agree.
//!
//! Write these with apache-avro's schema-aware serializer (`GenericDatumWriter::write_ser`,
//! which [`crate::wire::WireCodec`] uses), not with the schema-less `apache_avro::to_value`:
//! the latter writes a newtype variant as a `{type, value}` record that no union schema
//! accepts. Reading back through a generic `Value` and `apache_avro::from_value` works for
//! every type.

mod commands;
mod common;
mod downlink;
mod fleet;
mod frames;
pub(crate) mod ids;
mod sessions;
mod telemetry;

pub use commands::{
    AppCommand, AppCommandBody, CancelReservation, DefineZone, EndRide, LocateVehicle,
    RegisterVehicle, RemoteLock, RemoteUnlock, ReserveVehicle, SetInService, SetOutOfService,
    StartRide,
};
pub use common::{
    Actor, ActorRole, AlarmKind, GeoPoint, LockState, Protocol, VehicleState, ZoneKind,
};
pub use downlink::{DeviceReply, DownlinkCommand, DownlinkKind, ReplyOutcome};
pub use fleet::{
    AlarmCleared, AlarmRaised, CommandAccepted, CommandRejected, FleetEvent, FleetEventBody,
    ReservationCancelled, ReservationExpired, ReservationMade, RideEnded, RideFailed,
    RideRequested, RideStarted, VehicleRegistered, VehicleStateChanged, ZoneDefined,
};
pub use frames::{FrameStatus, RawFrame, RawFrameRef};
pub use sessions::{
    DisconnectReason, SessionChange, SessionConnected, SessionDisconnected, SessionEvent,
};
pub use telemetry::{IoElement, Telemetry};
