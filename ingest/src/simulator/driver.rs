//! One device-side protocol driver per protocol behind a single enum: which frames to send
//! at login and per report, how to read server frames, how to answer commands.

use bytes::BytesMut;
use rand::rngs::StdRng;

use super::link::{DeviceError, Outgoing, ServerCommand, ServerFrame};
use super::scooter::Scooter;
use super::{gt06, omni, teltonika};
use crate::protocol::{LockState, Protocol, Record};

/// What the scooter needs to know to answer a command.
pub(crate) struct Ctx<'a> {
    pub(crate) device_id: &'a str,
    pub(crate) scooter: &'a Scooter,
    pub(crate) now_ms: i64,
    pub(crate) rng: &'a mut StdRng,
}

/// How a driver answers one command.
#[derive(Debug, Default)]
pub(crate) struct Response {
    /// Lock state to switch to (the reply reports the switch).
    pub(crate) lock: Option<LockState>,
    /// The reply frame, if the protocol has one.
    pub(crate) reply: Option<Outgoing>,
    /// Whether the command is carried out (an Omni R0 key hand-out is only a first step).
    pub(crate) obeyed: bool,
}

/// The protocol driver of one scooter.
#[derive(Debug)]
pub(crate) enum Driver {
    Teltonika(teltonika::Driver),
    Omni(omni::Driver),
    Gt06(gt06::Driver),
}

impl Driver {
    pub(crate) fn new(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Teltonika => Self::Teltonika(teltonika::Driver::default()),
            Protocol::Omni => Self::Omni(omni::Driver::default()),
            Protocol::Gt06 => Self::Gt06(gt06::Driver::default()),
        }
    }

    /// The first frame of a new connection.
    pub(crate) fn login(&mut self, id: &str, scooter: &Scooter) -> Result<Outgoing, DeviceError> {
        match self {
            Self::Teltonika(d) => d.login(id),
            Self::Omni(d) => d.login(id, scooter),
            Self::Gt06(d) => d.login(id),
        }
    }

    /// The frames of one periodic report of `record`.
    pub(crate) fn report(
        &mut self,
        id: &str,
        record: &Record,
    ) -> Result<Vec<Outgoing>, DeviceError> {
        match self {
            Self::Teltonika(d) => d.report(record),
            Self::Omni(d) => d.report(id, record),
            Self::Gt06(d) => d.report(record),
        }
    }

    /// The next whole server frame in `buf`, if there is one.
    pub(crate) fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ServerFrame>, DeviceError> {
        match self {
            Self::Teltonika(d) => d.parse(buf),
            Self::Omni(_) => omni::parse(buf),
            Self::Gt06(_) => gt06::parse(buf),
        }
    }

    /// The answer to `command`.
    pub(crate) fn obey(
        &mut self,
        command: &ServerCommand,
        ctx: Ctx<'_>,
    ) -> Result<Response, DeviceError> {
        match self {
            Self::Teltonika(_) => teltonika::obey(command, &ctx),
            Self::Omni(d) => d.obey(command, ctx),
            Self::Gt06(d) => d.obey(command, &ctx),
        }
    }
}
