//! What a batch changes: the state types the reduction produces and the writer stores —
//! rides and their parts, reservations, command statuses and device replies — with their
//! column values and precedences, and the status a device reply gives a command.

use fleetlog_schemas::events::{Actor, DeviceReply, GeoPoint, ReplyOutcome};
use uuid::Uuid;

use super::Event;

/// A ride's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RideState {
    Requested,
    Started,
    Ended,
    Failed,
}

impl RideState {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Started => "started",
            Self::Ended => "ended",
            Self::Failed => "failed",
        }
    }

    /// Precedence: `requested < started < ended | failed` (as `ride_state_rank` in SQL).
    fn rank(self) -> u8 {
        match self {
            Self::Requested => 1,
            Self::Started => 2,
            Self::Ended | Self::Failed => 3,
        }
    }
}

/// The requested part of a ride (`RideRequested`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    pub(crate) at_ms: i64,
    pub(crate) reservation_id: Option<Uuid>,
    pub(crate) unlock_command_id: Uuid,
    /// The start-ride command: the event's correlation id.
    pub(crate) command_id: Uuid,
}

/// The started part of a ride (`RideStarted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    pub(crate) at_ms: i64,
    pub(crate) position: Option<GeoPoint>,
}

/// The ended part of a ride (`RideEnded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub(crate) at_ms: i64,
    pub(crate) duration_ms: i64,
    pub(crate) distance_m: i64,
    pub(crate) fare_minor: i64,
    pub(crate) currency: String,
    pub(crate) position: Option<GeoPoint>,
    pub(crate) forced: bool,
    /// The end-ride command: the event's correlation id.
    pub(crate) command_id: Uuid,
}

/// The failed part of a ride (`RideFailed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed {
    pub(crate) at_ms: i64,
    pub(crate) reason: String,
    pub(crate) detail: Option<String>,
}

/// What one batch changes of one ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RideChange {
    pub(crate) ride_id: Uuid,
    pub(crate) vehicle_id: Uuid,
    pub(crate) rider_id: Uuid,
    /// The highest state of the batch's events (the first terminal one on a tie).
    pub(crate) state: RideState,
    pub(crate) requested: Option<Requested>,
    pub(crate) started: Option<Started>,
    pub(crate) ended: Option<Ended>,
    pub(crate) failed: Option<Failed>,
    /// The last event of the batch about this ride (log order).
    pub(crate) last_event_id: Uuid,
    /// The latest event time of the batch's events about this ride.
    pub(crate) updated_at_ms: i64,
}

impl RideChange {
    pub(super) fn new(
        ride_id: Uuid,
        vehicle_id: Uuid,
        rider_id: Uuid,
        state: RideState,
        e: &Event,
    ) -> Self {
        Self {
            ride_id,
            vehicle_id,
            rider_id,
            state,
            requested: None,
            started: None,
            ended: None,
            failed: None,
            last_event_id: e.id,
            updated_at_ms: e.at_ms,
        }
    }

    pub(super) fn touch(&mut self, state: RideState, e: &Event) {
        if state.rank() > self.state.rank() {
            self.state = state;
        }
        self.last_event_id = e.id;
        self.updated_at_ms = self.updated_at_ms.max(e.at_ms);
    }
}

/// A reservation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReservationState {
    Active,
    Cancelled,
    Expired,
    Converted,
}

impl ReservationState {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Converted => "converted",
        }
    }
}

/// The made part of a reservation (`ReservationMade`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub(crate) at_ms: i64,
    pub(crate) expires_at_ms: i64,
}

/// How a reservation ended: cancelled, expired, or converted into a ride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReservationEnd {
    pub(crate) state: ReservationState,
    pub(crate) at_ms: i64,
    pub(crate) cancelled_by: Option<Actor>,
    pub(crate) reason: Option<String>,
    /// The ride it was converted into.
    pub(crate) ride_id: Option<Uuid>,
}

/// What one batch changes of one reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReservationChange {
    pub(crate) reservation_id: Uuid,
    pub(crate) vehicle_id: Uuid,
    pub(crate) rider_id: Uuid,
    pub(crate) made: Option<Made>,
    /// The first end of the batch.
    pub(crate) ended: Option<ReservationEnd>,
    pub(crate) last_event_id: Uuid,
    pub(crate) updated_at_ms: i64,
}

impl ReservationChange {
    /// `active` until it ended.
    pub(crate) fn state(&self) -> ReservationState {
        self.ended
            .as_ref()
            .map_or(ReservationState::Active, |e| e.state)
    }
}

/// A command's status; no row means `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandStatus {
    Accepted,
    Completed,
    Failed,
    Rejected,
}

impl CommandStatus {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
}

/// Where a command's status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeSource {
    /// `CommandAccepted` / `CommandRejected`.
    Decision,
    /// `RideStarted` / `RideEnded` / `RideFailed` correlated with the command.
    Ride,
    /// A device reply correlated with the command (applied by the writer).
    Device,
}

impl OutcomeSource {
    /// The column value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Ride => "ride",
            Self::Device => "device",
        }
    }
}

/// Precedence of a status (as `command_status_rank` in SQL): `accepted` 1, a device-reply
/// outcome 2, a rejection or ride outcome 3.
pub(crate) fn command_rank(status: CommandStatus, source: OutcomeSource) -> u8 {
    match (status, source) {
        (CommandStatus::Accepted, _) => 1,
        (_, OutcomeSource::Device) => 2,
        _ => 3,
    }
}

/// The status part of a [`CommandChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusChange {
    pub(crate) status: CommandStatus,
    pub(crate) source: OutcomeSource,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    /// When it became terminal (`None` for `accepted`).
    pub(crate) finished_at_ms: Option<i64>,
}

impl StatusChange {
    pub(super) fn rank(&self) -> u8 {
        command_rank(self.status, self.source)
    }
}

/// What one batch's fleet events change of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandChange {
    pub(crate) command_id: Uuid,
    pub(crate) vehicle_id: Option<Uuid>,
    /// When it was accepted or rejected (the first decision).
    pub(crate) decided_at_ms: Option<i64>,
    /// The ride a ride outcome was about.
    pub(crate) ride_id: Option<Uuid>,
    /// The highest-ranked status of the batch (the first on a tie).
    pub(crate) status: StatusChange,
    pub(crate) last_event_id: Uuid,
    pub(crate) updated_at_ms: i64,
}

/// The first terminal device reply of a batch per correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplyChange {
    /// The envelope's correlation id: the app command the downlink was sent for.
    pub(crate) command_id: Uuid,
    pub(crate) device_id: String,
    pub(crate) outcome: ReplyOutcome,
    pub(crate) reply_text: Option<String>,
    /// What it does to the command ([`reply_status`]).
    pub(crate) status: StatusChange,
    pub(crate) at_ms: i64,
    pub(crate) event_id: Uuid,
}

/// The status a terminal device reply gives an `accepted` command with no ride linked;
/// `None` for `DELIVERED`, which changes nothing.
pub(crate) fn reply_status(reply: &DeviceReply, at_ms: i64) -> Option<StatusChange> {
    let (status, failure) = match reply.outcome {
        ReplyOutcome::Delivered => return None,
        ReplyOutcome::Answered => (CommandStatus::Completed, None),
        ReplyOutcome::Rejected => (
            CommandStatus::Failed,
            Some(("device_rejected", "the vehicle refused the command")),
        ),
        ReplyOutcome::TimedOut => (
            CommandStatus::Failed,
            Some(("device_timed_out", "the vehicle did not answer in time")),
        ),
        ReplyOutcome::Undeliverable => (
            CommandStatus::Failed,
            Some(("device_undeliverable", "the vehicle is not connected")),
        ),
    };
    Some(StatusChange {
        status,
        source: OutcomeSource::Device,
        code: failure.map(|(code, _)| code.to_owned()),
        message: failure.map(|(_, message)| {
            reply
                .reply_text
                .clone()
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| message.to_owned())
        }),
        finished_at_ms: Some(at_ms),
    })
}

/// Everything one batch changes, each list ordered by its key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) rides: Vec<RideChange>,
    pub(crate) reservations: Vec<ReservationChange>,
    pub(crate) commands: Vec<CommandChange>,
    pub(crate) replies: Vec<ReplyChange>,
    /// Commands a stored device reply may now complete: those accepted in this batch and
    /// those a reply of this batch is about, ordered.
    pub(crate) reply_candidates: Vec<Uuid>,
}

impl Changes {
    /// Whether the batch changes nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.rides.is_empty()
            && self.reservations.is_empty()
            && self.commands.is_empty()
            && self.replies.is_empty()
    }
}
