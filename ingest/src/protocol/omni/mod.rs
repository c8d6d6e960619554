//! The Omni scooter text protocol: device `*SCOR,OM,<imei>,<type>,…#` frames, server
//! `0xFF 0xFF *SCOS,OM,<imei>,<type>,…#\n` commands, and the R0 → key → L0/L1 unlock
//! exchange. No checksum, no length field: frames end at `#`.

mod command;
mod decode;
pub mod device;
mod framing;
mod message;
mod position;
mod session;

pub use command::{
    KeyReply, ack, encode_command, encode_server, follow_up, key_request, validate_param,
};
pub use decode::decode_records;
pub use framing::next_frame;
pub use message::{Message, parse_message};
pub use session::Session;

/// Prefix of every server → device frame.
pub const SERVER_PREFIX: [u8; 2] = [0xFF, 0xFF];
/// Vendor code the server writes.
pub const VENDOR: &str = "OM";
/// Message types the server must ACK with `*SCOS,OM,<imei>,<type>#`.
pub const ACKED_TYPES: [&str; 5] = ["L0", "L1", "W0", "E0", "E1"];
