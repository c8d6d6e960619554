//! Error types, one per kind of failure.

use thiserror::Error;

/// The byte stream cannot be framed: the gateway should cut the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The announced or accumulated frame is larger than the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    Oversize {
        /// Announced (or already buffered) size in bytes.
        size: usize,
        /// Configured maximum frame size.
        max: usize,
    },
    /// Bytes that cannot start or continue a frame of this protocol.
    #[error("garbage in stream: {0}")]
    Garbage(&'static str),
}

/// A stored raw frame cannot be decoded into records.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The frame ends before a field it announces.
    #[error("frame truncated: needed {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A Teltonika codec id this crate does not decode.
    #[error("unknown codec 0x{0:02x}")]
    UnknownCodec(u8),
    /// The frame's checksum does not match its content.
    #[error("bad checksum: frame says 0x{expected:04x}, computed 0x{computed:04x}")]
    BadChecksum {
        /// Checksum carried by the frame.
        expected: u32,
        /// Checksum computed over the frame.
        computed: u32,
    },
    /// The two record counts of a Teltonika packet differ.
    #[error("record counts differ: {first} at the start, {second} at the end")]
    CountMismatch {
        /// Count before the records.
        first: u8,
        /// Count after the records.
        second: u8,
    },
    /// A field has a value outside its domain.
    #[error("invalid {field}: {value}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// Offending value, printed.
        value: String,
    },
    /// The frame is not of this protocol's shape.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// A well-formed message of a kind this crate does not decode.
    #[error("unsupported message {0}")]
    Unsupported(String),
}

impl DecodeError {
    /// Shorthand for [`DecodeError::InvalidField`].
    pub(crate) fn invalid(field: &'static str, value: impl std::fmt::Display) -> Self {
        Self::InvalidField {
            field,
            value: value.to_string(),
        }
    }
}

/// A command cannot be encoded for the device.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// A parameter contains a byte that could break out of the command's framing.
    #[error("forbidden byte 0x{byte:02x} in command parameter {param:?}")]
    ForbiddenByte {
        /// The rejected byte.
        byte: u8,
        /// The parameter (lossy text).
        param: String,
    },
    /// A parameter or command text is empty where a value is required.
    #[error("empty command parameter")]
    Empty,
    /// The encoded command would not fit the protocol's length fields.
    #[error("command too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the offending part.
        len: usize,
        /// Maximum that fits.
        max: usize,
    },
    /// The device id is not usable in a command (e.g. not an IMEI).
    #[error("invalid device id {0:?}")]
    InvalidDeviceId(String),
    /// This protocol has no encoding for the requested command.
    #[error("{protocol} does not support command {command}")]
    Unsupported {
        /// Protocol name.
        protocol: &'static str,
        /// Command name.
        command: &'static str,
    },
}

/// Data for the simulator's device-side encoders is out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A value does not fit its field.
    #[error("{field} out of range: {value}")]
    OutOfRange {
        /// Field name.
        field: &'static str,
        /// Offending value, printed.
        value: String,
    },
    /// The encoded frame would exceed the protocol's length fields.
    #[error("frame too large: {0} bytes")]
    TooLarge(usize),
    /// A text field contains a byte that would break the framing.
    #[error("forbidden byte 0x{0:02x} in text field")]
    ForbiddenByte(u8),
}

impl EncodeError {
    /// Shorthand for [`EncodeError::OutOfRange`].
    pub(crate) fn range(field: &'static str, value: impl std::fmt::Display) -> Self {
        Self::OutOfRange {
            field,
            value: value.to_string(),
        }
    }
}

/// A frame breaks the connection's handshake rules: the gateway should cut the connection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SessionError {
    /// A data frame arrived before the device identified itself.
    #[error("data before login")]
    NotLoggedIn,
    /// The login frame does not carry a usable device id.
    #[error("invalid login: {0}")]
    InvalidLogin(String),
    /// A later frame names another device than the login did.
    #[error("device id changed from {old} to {new}")]
    DeviceIdChanged {
        /// Id learned at login.
        old: String,
        /// Id in the offending frame.
        new: String,
    },
    /// The frame belongs to another protocol than the session.
    #[error("frame of another protocol")]
    WrongProtocol,
    /// The frame cannot be parsed far enough to run the session.
    #[error("malformed frame: {0}")]
    Malformed(#[from] DecodeError),
}
