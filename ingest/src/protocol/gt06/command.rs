//! GT06 0x80 server commands and the 0x15 replies that echo their server flag.

use bytes::Bytes;

use super::{COMMAND, build_packet};
use crate::protocol::cursor::Reader;
use crate::protocol::{CommandContext, CommandError, DecodeError, DeviceCommand};

/// Longest command text that keeps the packet in the 1-byte-length form.
pub const MAX_TEXT: usize = 245;

/// The command text of a [`DeviceCommand`] (`Relay,0#` unlock, `Relay,1#` lock, `WHERE#`).
pub fn command_text(command: &DeviceCommand) -> Result<&str, CommandError> {
    match command {
        DeviceCommand::Unlock => Ok("Relay,0#"),
        DeviceCommand::Lock => Ok("Relay,1#"),
        DeviceCommand::Locate => Ok("WHERE#"),
        DeviceCommand::Beep => Err(CommandError::Unsupported {
            protocol: "gt06",
            command: "beep",
        }),
        DeviceCommand::Custom(text) => Ok(text),
    }
}

/// A 0x80 packet: command length, 4-byte server flag, ASCII text (printable only).
pub fn encode_text_command(
    server_flag: u32,
    text: &str,
    serial: u16,
) -> Result<Bytes, CommandError> {
    if text.is_empty() {
        return Err(CommandError::Empty);
    }
    if text.len() > MAX_TEXT {
        return Err(CommandError::TooLong {
            len: text.len(),
            max: MAX_TEXT,
        });
    }
    if let Some(byte) = text.bytes().find(|b| !(0x20..=0x7E).contains(b)) {
        return Err(CommandError::ForbiddenByte {
            byte,
            param: text.to_owned(),
        });
    }
    let mut content = Vec::with_capacity(text.len() + 5);
    content.push((text.len() + 4) as u8);
    content.extend_from_slice(&server_flag.to_be_bytes());
    content.extend_from_slice(text.as_bytes());
    build_packet(COMMAND, &content, serial).map_err(|_| CommandError::TooLong {
        len: text.len(),
        max: MAX_TEXT,
    })
}

/// Encodes a [`DeviceCommand`] with `ctx.request_id` as the server flag.
pub fn encode_command(
    command: &DeviceCommand,
    ctx: &CommandContext,
) -> Result<Bytes, CommandError> {
    encode_text_command(ctx.request_id, command_text(command)?, ctx.serial)
}

/// A parsed 0x80 command or 0x15 reply content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandText {
    /// Server flag (request id) echoed by the device.
    pub server_flag: u32,
    /// Command or reply text.
    pub text: Bytes,
    /// Language field, when present.
    pub language: Option<u16>,
}

/// Parses the content of a 0x15 reply (or a 0x80 command): length, flag, text, language.
pub fn parse_command_reply(content: &[u8]) -> Result<CommandText, DecodeError> {
    let mut r = Reader::new(content);
    let len = usize::from(r.u8()?);
    if len < 4 {
        return Err(DecodeError::invalid("command length", len));
    }
    let server_flag = r.u32()?;
    let text = Bytes::copy_from_slice(r.take(len - 4)?);
    let language = if r.remaining() >= 2 {
        Some(r.u16()?)
    } else {
        None
    };
    Ok(CommandText {
        server_flag,
        text,
        language,
    })
}
