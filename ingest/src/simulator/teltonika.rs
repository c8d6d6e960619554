//! Teltonika TST100 device side: IMEI login answered by `01`/`00`, one Codec 8E record per
//! report ACKed by a 4-byte record count, Codec 12 commands answered by type 0x06 text.

use bytes::{Buf, BytesMut};

use super::driver::{Ctx, Response};
use super::link::{
    AckKey, CommandKind, DeviceError, Expect, MAX_SERVER_FRAME, Outgoing, ServerCommand,
    ServerFrame,
};
use crate::protocol::teltonika::{codec12, device};
use crate::protocol::{LockState, Protocol, Record};

/// Preamble + length before a Codec 12 data field, CRC after it.
const OVERHEAD: usize = 12;

/// Teltonika connection state: whether the next byte is the login answer.
#[derive(Debug, Default)]
pub(crate) struct Driver {
    awaiting_login: bool,
}

impl Driver {
    pub(crate) fn login(&mut self, imei: &str) -> Result<Outgoing, DeviceError> {
        self.awaiting_login = true;
        Ok(Outgoing {
            bytes: device::login_packet(imei)?,
            expect: Some(Expect::LoginReply),
        })
    }

    pub(crate) fn report(&mut self, record: &Record) -> Result<Vec<Outgoing>, DeviceError> {
        let packet = device::codec8e_packet(std::slice::from_ref(record))?;
        Ok(vec![Outgoing::acked(packet, AckKey::Count(1))])
    }

    /// Server → device bytes: the 1-byte login answer, then 4-byte ACK counts and Codec 12
    /// packets. A count is never `00000000` for data the device sent, so four zero bytes
    /// start a Codec 12 packet unless the length after them makes no sense.
    pub(crate) fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ServerFrame>, DeviceError> {
        if self.awaiting_login {
            let Some(&answer) = buf.first() else {
                return Ok(None);
            };
            buf.advance(1);
            self.awaiting_login = false;
            return Ok(Some(ServerFrame::LoginReply(answer == 0x01)));
        }
        let Some(head) = buf.get(..4) else {
            return Ok(None);
        };
        let count = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if count != 0 {
            buf.advance(4);
            return Ok(Some(ServerFrame::Ack(AckKey::Count(count))));
        }
        let Some(len) = buf.get(4..8) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if !(3..=MAX_SERVER_FRAME).contains(&len) {
            buf.advance(4);
            return Ok(Some(ServerFrame::Ack(AckKey::Count(0))));
        }
        if buf.len() < len + OVERHEAD {
            return Ok(None);
        }
        let raw = buf.split_to(len + OVERHEAD);
        let message = codec12::parse(&raw)?;
        if message.message_type != codec12::TYPE_COMMAND {
            return Err(DeviceError::BadFrame(
                "codec 12 reply sent to a device".into(),
            ));
        }
        Ok(Some(ServerFrame::Command(command(message.text()))))
    }
}

fn command(text: String) -> ServerCommand {
    let kind = match text.trim() {
        "sclockctrl 0" => CommandKind::Unlock,
        "sclockctrl 1" => CommandKind::Lock,
        "sclookfor" => CommandKind::Beep,
        "getgps" => CommandKind::Locate,
        _ => CommandKind::Other,
    };
    ServerCommand {
        protocol: Protocol::Teltonika,
        kind,
        text,
        params: Vec::new(),
        server_flag: None,
    }
}

/// Every command gets a Codec 12 type 0x06 answer (which the server must not ACK).
pub(crate) fn obey(command: &ServerCommand, ctx: &Ctx<'_>) -> Result<Response, DeviceError> {
    let (lock, text) = match command.kind {
        CommandKind::Unlock => (Some(LockState::Unlocked), "sclockctrl: unlocked".to_owned()),
        CommandKind::Lock => (Some(LockState::Locked), "sclockctrl: locked".to_owned()),
        CommandKind::Beep => (None, "sclookfor: ok".to_owned()),
        CommandKind::Locate => (None, gps_text(ctx)),
        CommandKind::KeyRequest { .. } | CommandKind::Other => {
            let reply = Outgoing::plain(device::command_response("Unknown command")?);
            return Ok(Response {
                reply: Some(reply),
                ..Response::default()
            });
        }
    };
    Ok(Response {
        lock,
        reply: Some(Outgoing::plain(device::command_response(&text)?)),
        obeyed: true,
    })
}

/// The `getgps` answer, in the style of FMB firmware.
fn gps_text(ctx: &Ctx<'_>) -> String {
    let s = ctx.scooter;
    let when = chrono::DateTime::from_timestamp_millis(ctx.now_ms).unwrap_or_default();
    format!(
        "GPS:1 Sat:10 Lat:{:.6} Long:{:.6} Alt:30 Speed:{:.0} Dir:{:.0} Date: {} Time: {}",
        s.lat_deg,
        s.lon_deg,
        s.speed_kmh,
        s.heading_deg,
        when.format("%Y/%-m/%-d"),
        when.format("%H:%M:%S"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::DeviceCommand;
    use crate::protocol::teltonika::{data_ack, encode_command, login_reply};

    #[test]
    fn login_answer_counts_and_commands_are_told_apart() {
        let mut d = Driver::default();
        d.login("350000000000000").unwrap();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&login_reply(true));
        buf.extend_from_slice(&encode_command(&DeviceCommand::Unlock).unwrap());
        buf.extend_from_slice(&data_ack(1));
        assert_eq!(
            d.parse(&mut buf).unwrap(),
            Some(ServerFrame::LoginReply(true))
        );
        let Some(ServerFrame::Command(cmd)) = d.parse(&mut buf).unwrap() else {
            panic!("expected a command");
        };
        assert_eq!(
            (cmd.kind, cmd.text.as_str()),
            (CommandKind::Unlock, "sclockctrl 0")
        );
        assert_eq!(
            d.parse(&mut buf).unwrap(),
            Some(ServerFrame::Ack(AckKey::Count(1)))
        );
        assert_eq!(d.parse(&mut buf).unwrap(), None);
    }
}
