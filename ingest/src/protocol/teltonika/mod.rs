//! Teltonika FMB/TST100 over TCP: IMEI login, Codec 8 / 8 Extended / 16 AVL data with
//! a 4-byte record-count ACK, and Codec 12 commands (type 0x05) and replies (type 0x06).

mod avl;
pub mod codec12;
pub mod device;
mod framing;
mod session;

use bytes::Bytes;

pub use avl::decode_records;
pub use framing::{MAX_IMEI_LEN, Packet, next_frame, parse_login, split_packet};
pub use session::Session;

use super::{CommandError, DeviceCommand};

/// Codec 8 id.
pub const CODEC_8: u8 = 0x08;
/// Codec 8 Extended id.
pub const CODEC_8E: u8 = 0x8E;
/// Codec 16 id.
pub const CODEC_16: u8 = 0x10;
/// Codec 12 (GPRS commands) id.
pub const CODEC_12: u8 = 0x0C;
/// Codec 13 (device → server with timestamp) id.
pub const CODEC_13: u8 = 0x0D;
/// Codec 14 (IMEI-addressed command) id.
pub const CODEC_14: u8 = 0x0E;

/// Server reply to the IMEI login: `01` to accept, `00` to reject.
pub fn login_reply(accepted: bool) -> Bytes {
    Bytes::from_static(if accepted { &[0x01] } else { &[0x00] })
}

/// Server ACK of an AVL packet: the number of records accepted, 4 bytes big-endian.
pub fn data_ack(record_count: u32) -> Bytes {
    Bytes::copy_from_slice(&record_count.to_be_bytes())
}

/// The SMS-style text a [`DeviceCommand`] maps to on a TST100.
pub fn command_text(command: &DeviceCommand) -> Result<String, CommandError> {
    let text = match command {
        DeviceCommand::Unlock => "sclockctrl 0",
        DeviceCommand::Lock => "sclockctrl 1",
        DeviceCommand::Locate => "getgps",
        DeviceCommand::Beep => "sclookfor",
        DeviceCommand::Custom(text) => {
            validate_text(text)?;
            text
        }
    };
    Ok(text.to_owned())
}

/// Encodes a [`DeviceCommand`] as a Codec 12 command frame.
pub fn encode_command(command: &DeviceCommand) -> Result<Bytes, CommandError> {
    codec12::encode_command(command_text(command)?.as_bytes())
}

/// SMS-style command text must be non-empty printable ASCII.
fn validate_text(text: &str) -> Result<(), CommandError> {
    if text.is_empty() {
        return Err(CommandError::Empty);
    }
    match text.bytes().find(|b| !(0x20..=0x7E).contains(b)) {
        Some(byte) => Err(CommandError::ForbiddenByte {
            byte,
            param: text.to_owned(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_text_rejects_control_bytes() {
        let bad = DeviceCommand::Custom("getinfo\r\nsetdigout 1".into());
        assert!(matches!(
            encode_command(&bad),
            Err(CommandError::ForbiddenByte { byte: b'\r', .. })
        ));
        assert_eq!(
            encode_command(&DeviceCommand::Custom(String::new())),
            Err(CommandError::Empty)
        );
    }
}
