//! Server → device commands: `0xFF 0xFF *SCOS,OM,<imei>,<type>[,<param>…]#\n`, with every
//! parameter checked so it cannot break out of its field (Traccar issue 5822).

use bytes::{BufMut, Bytes, BytesMut};

use super::message::Message;
use super::{SERVER_PREFIX, VENDOR};
use crate::protocol::{CommandContext, CommandError, DeviceCommand};

/// Longest encoded command accepted.
const MAX_COMMAND: usize = 512;
/// Default key validity for R0, seconds.
const DEFAULT_KEY_VALID_S: u16 = 20;

/// Rejects `,`, `#`, `*`, CR, LF and any non-printable byte in one command parameter.
pub fn validate_param(param: &str) -> Result<(), CommandError> {
    let forbidden = |b: &u8| matches!(b, b',' | b'#' | b'*') || !(0x20..=0x7E).contains(b);
    match param.bytes().find(forbidden) {
        Some(byte) => Err(CommandError::ForbiddenByte {
            byte,
            param: param.to_owned(),
        }),
        None => Ok(()),
    }
}

fn validate_imei(imei: &str) -> Result<(), CommandError> {
    if imei.is_empty() || imei.len() > 20 || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::InvalidDeviceId(imei.to_owned()));
    }
    Ok(())
}

pub(crate) fn validate_type(cmd_type: &str) -> Result<(), CommandError> {
    if cmd_type.is_empty() {
        return Err(CommandError::Empty);
    }
    match cmd_type.bytes().find(|b| !b.is_ascii_alphanumeric()) {
        Some(byte) => Err(CommandError::ForbiddenByte {
            byte,
            param: cmd_type.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Builds `<prefix>*<header>,<vendor>,<imei>,[<time>,]<fields…>#\n` after validating all.
pub(crate) fn frame(
    prefix: &[u8],
    header: &str,
    imei: &str,
    time: Option<&str>,
    fields: &[&str],
) -> Result<Bytes, CommandError> {
    validate_imei(imei)?;
    for part in time.into_iter().chain(fields.iter().copied()) {
        validate_param(part)?;
    }
    let mut out = BytesMut::with_capacity(64);
    out.put_slice(prefix);
    out.put_slice(format!("*{header},{VENDOR},{imei}").as_bytes());
    for part in time.into_iter().chain(fields.iter().copied()) {
        out.put_u8(b',');
        out.put_slice(part.as_bytes());
    }
    out.put_slice(b"#\n");
    if out.len() > MAX_COMMAND {
        return Err(CommandError::TooLong {
            len: out.len(),
            max: MAX_COMMAND,
        });
    }
    Ok(out.freeze())
}

/// `0xFF 0xFF *SCOS,OM,<imei>,<cmd_type>[,<param>…]#\n`.
pub fn encode_server(imei: &str, cmd_type: &str, params: &[&str]) -> Result<Bytes, CommandError> {
    validate_type(cmd_type)?;
    let fields: Vec<&str> = std::iter::once(cmd_type)
        .chain(params.iter().copied())
        .collect();
    frame(&SERVER_PREFIX, "SCOS", imei, None, &fields)
}

/// The ACK of a device L0/L1/W0/E0/E1 message: `*SCOS,OM,<imei>,<type>#`. For the
/// `*CMDR` variant with a time field: `*CMDS,OM,<imei>,<time>,Re,<type>#`.
pub fn ack(msg: &Message) -> Result<Bytes, CommandError> {
    match (msg.header.as_str(), &msg.time) {
        ("CMDR", Some(time)) => {
            validate_type(&msg.msg_type)?;
            frame(
                &SERVER_PREFIX,
                "CMDS",
                &msg.imei,
                Some(time),
                &["Re", &msg.msg_type],
            )
        }
        _ => encode_server(&msg.imei, &msg.msg_type, &[]),
    }
}

/// R0: ask the device for an operation key (`unlock` → op 0, else op 1).
pub fn key_request(imei: &str, unlock: bool, ctx: &CommandContext) -> Result<Bytes, CommandError> {
    let valid = if ctx.key_valid_s == 0 {
        DEFAULT_KEY_VALID_S
    } else {
        ctx.key_valid_s
    };
    let params = [
        if unlock { "0" } else { "1" }.to_owned(),
        valid.to_string(),
        ctx.user_id.to_string(),
        ctx.unix_time_s.to_string(),
    ];
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    encode_server(imei, "R0", &params)
}

/// The device's answer to R0: operation, key, user id, time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReply {
    /// Device IMEI.
    pub imei: String,
    /// 0 unlock, 1 lock.
    pub operation: u8,
    /// Operation key to put in L0/L1.
    pub key: String,
    /// User id echoed.
    pub user_id: String,
    /// Unix time echoed.
    pub unix_time: String,
}

impl KeyReply {
    /// Reads an R0 device message; `None` if it is not one or lacks fields.
    pub fn from_message(msg: &Message) -> Option<Self> {
        if msg.msg_type != "R0" || !msg.is_from_device() {
            return None;
        }
        let operation = msg.params.first()?.parse().ok()?;
        Some(Self {
            imei: msg.imei.clone(),
            operation,
            key: msg.params.get(1)?.clone(),
            user_id: msg.params.get(2).cloned().unwrap_or_default(),
            unix_time: msg.params.get(3).cloned().unwrap_or_default(),
        })
    }
}

/// The second step after the key arrived: `L0,<key>,<user>,<time>` to unlock, `L1,<key>`
/// to lock.
pub fn follow_up(reply: &KeyReply) -> Result<Bytes, CommandError> {
    if reply.key.is_empty() {
        return Err(CommandError::Empty);
    }
    match reply.operation {
        0 => encode_server(
            &reply.imei,
            "L0",
            &[&reply.key, &reply.user_id, &reply.unix_time],
        ),
        _ => encode_server(&reply.imei, "L1", &[&reply.key]),
    }
}

/// Encodes a [`DeviceCommand`]; Unlock/Lock give the R0 first step.
pub fn encode_command(
    imei: &str,
    command: &DeviceCommand,
    ctx: &CommandContext,
) -> Result<Bytes, CommandError> {
    match command {
        DeviceCommand::Unlock => key_request(imei, true, ctx),
        DeviceCommand::Lock => key_request(imei, false, ctx),
        DeviceCommand::Locate => encode_server(imei, "D0", &[]),
        DeviceCommand::Beep => encode_server(imei, "V0", &["2"]),
        DeviceCommand::Custom(text) => {
            let mut parts = text.split(',');
            let cmd_type = parts.next().unwrap_or_default();
            let params: Vec<&str> = parts.collect();
            encode_server(imei, cmd_type, &params)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injection_is_rejected() {
        for bad in ["1#\n*SCOS,OM,1,L0", "a,b", "x*", "\r", "\u{7f}", "é"] {
            assert!(
                encode_server("123456789012345", "V0", &[bad]).is_err(),
                "{bad:?}"
            );
        }
        let custom = DeviceCommand::Custom("S7,0#\n".into());
        assert!(encode_command("1", &custom, &CommandContext::default()).is_err());
        assert!(encode_server("12345;", "D0", &[]).is_err());
        assert!(encode_server("1", "D 0", &[]).is_err());
    }
}
