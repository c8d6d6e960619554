//! Protocol-neutral downlink commands and what a session tells the gateway.

use std::borrow::Cow;

use bytes::Bytes;

/// A command the downlink asks the gateway to send to a scooter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceCommand {
    /// Unlock the scooter (Teltonika `sclockctrl 0`, Omni R0 op 0 → L0, GT06 `Relay,0#`).
    Unlock,
    /// Lock the scooter (Teltonika `sclockctrl 1`, Omni R0 op 1 → L1, GT06 `Relay,1#`).
    Lock,
    /// Ask for one position now (Teltonika `getgps`, Omni `D0`, GT06 `WHERE#`).
    Locate,
    /// Sound/flash a find-me alert (Teltonika `sclookfor`, Omni `V0,2`).
    Beep,
    /// Protocol-specific text sent as is after validation: a Teltonika SMS-style command
    /// (`sclockctrl 0`), an Omni `<type>,<param>,…` body (`S7,0,3,0,0,20,25`) or a GT06
    /// command text (`Relay,1#`).
    Custom(String),
}

impl DeviceCommand {
    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::Lock => "lock",
            Self::Locate => "locate",
            Self::Beep => "beep",
            Self::Custom(_) => "custom",
        }
    }
}

/// Values a command encoder may need besides the command itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandContext {
    /// Request id: the GT06 4-byte server flag the device echoes in its 0x15 reply.
    pub request_id: u32,
    /// Packet serial for GT06 server packets.
    pub serial: u16,
    /// Omni user id carried through R0/L0/L1.
    pub user_id: u32,
    /// Current Unix time in seconds (Omni R0).
    pub unix_time_s: u32,
    /// Omni key validity in seconds for R0 (0 means the default of 20).
    pub key_valid_s: u16,
}

/// A device frame that answers a command sent earlier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandReply {
    /// Id echoed by the device (GT06 server flag); `None` where the protocol has none
    /// (Teltonika: match to the single pending command).
    pub correlation: Option<u32>,
    /// Command type echoed by the device (Omni `R0`, `L0`, `L1`, `D0`).
    pub command_type: Option<String>,
    /// Reply payload: Teltonika/GT06 reply text, Omni fields after the type.
    pub payload: Bytes,
    /// Whether the device reports success, when it says.
    pub success: Option<bool>,
    /// The next step to send, if the command is not finished (Omni: the L0/L1 frame built
    /// from the key in the device's R0 answer). Send it only if the matching R0 is pending.
    pub follow_up: Option<Bytes>,
}

impl CommandReply {
    /// Whether the command is finished with this reply.
    pub fn is_final(&self) -> bool {
        self.follow_up.is_none()
    }

    /// The payload as text (lossy).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.payload)
    }
}

/// A device identified itself; the gateway decides whether to admit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Device id: IMEI (Teltonika, Omni) or the BCD-decoded GT06 terminal id.
    pub device_id: String,
    /// Bytes to send when the device is admitted (Teltonika `01`, GT06 login echo; Omni none).
    pub accept_reply: Option<Bytes>,
    /// Bytes to send before closing when it is refused (Teltonika `00`; others none).
    pub reject_reply: Option<Bytes>,
}

/// What the gateway should do with one inbound frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inbound {
    /// Set when this frame identifies the device.
    pub login: Option<Login>,
    /// Whether to append the frame to the log (data, command replies, bad-checksum frames).
    pub append: bool,
    /// ACK to send once the append is durable.
    pub ack: Option<Bytes>,
    /// Set when the frame answers a pending command.
    pub command_reply: Option<CommandReply>,
}
