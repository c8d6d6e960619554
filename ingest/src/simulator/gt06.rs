//! GT06 device side: 0x01 login answered by an echo, 0x12 location (not answered) plus 0x13
//! heartbeat (echoed) per report, 0x80 commands answered by 0x15 echoing the server flag.

use bytes::BytesMut;

use super::driver::{Ctx, Response};
use super::link::{
    AckKey, CommandKind, DeviceError, MAX_SERVER_FRAME, Outgoing, ServerCommand, ServerFrame,
};
use crate::protocol::gt06::{
    COMMAND, HEARTBEAT, LOGIN, device, next_frame, parse_command_reply, parse_packet,
};
use crate::protocol::{LockState, Protocol, Record};

/// GSM signal on the GT06 0–4 scale.
const GSM_LEVEL: u8 = 4;

/// GT06 state: the packet serial, counting up from 1 for every packet sent.
#[derive(Debug, Default)]
pub(crate) struct Driver {
    serial: u16,
}

impl Driver {
    fn next_serial(&mut self) -> u16 {
        self.serial = self.serial.wrapping_add(1).max(1);
        self.serial
    }

    pub(crate) fn login(&mut self, imei: &str) -> Result<Outgoing, DeviceError> {
        let serial = self.next_serial();
        let key = AckKey::Gt06 {
            protocol_number: LOGIN,
            serial,
        };
        Ok(Outgoing::acked(device::login(imei, serial)?, key))
    }

    pub(crate) fn report(&mut self, record: &Record) -> Result<Vec<Outgoing>, DeviceError> {
        let mut record = record.clone();
        record.gsm_signal = Some(GSM_LEVEL);
        let location = device::location(&record, self.next_serial())?;
        let serial = self.next_serial();
        let key = AckKey::Gt06 {
            protocol_number: HEARTBEAT,
            serial,
        };
        Ok(vec![
            Outgoing::plain(location),
            Outgoing::acked(device::heartbeat(&record, serial)?, key),
        ])
    }

    /// `Relay,0#` unlocks and `Relay,1#` locks (power restored / cut), `WHERE#` answers
    /// with the position; every command gets a 0x15 reply echoing its server flag.
    pub(crate) fn obey(
        &mut self,
        command: &ServerCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Response, DeviceError> {
        let (lock, text) = match command.kind {
            CommandKind::Unlock => (
                Some(LockState::Unlocked),
                "Restore fuel supply: Success!".to_owned(),
            ),
            CommandKind::Lock => (
                Some(LockState::Locked),
                "Cut off the fuel supply: Success!".to_owned(),
            ),
            CommandKind::Locate => (None, where_text(ctx)),
            _ => (None, "Unknown command".to_owned()),
        };
        let flag = command.server_flag.unwrap_or(0);
        let reply = device::command_reply(flag, &text, self.next_serial())?;
        Ok(Response {
            lock,
            reply: Some(Outgoing::plain(reply)),
            obeyed: command.kind != CommandKind::Other,
        })
    }
}

fn where_text(ctx: &Ctx<'_>) -> String {
    let s = ctx.scooter;
    let when = chrono::DateTime::from_timestamp_millis(ctx.now_ms).unwrap_or_default();
    let (ns, ew) = (
        if s.lat_deg < 0.0 { 'S' } else { 'N' },
        if s.lon_deg < 0.0 { 'W' } else { 'E' },
    );
    format!(
        "Lat:{ns}{:.6},Lon:{ew}{:.6},Course:{:.2},Speed:{:.2},DateTime:{}",
        s.lat_deg.abs(),
        s.lon_deg.abs(),
        s.heading_deg,
        s.speed_kmh,
        when.format("%Y-%m-%d %H:%M:%S"),
    )
}

/// Server packets: 0x80 is a command; an empty-content packet is the echo (ACK) of the
/// device packet with that protocol number and serial. Others are skipped.
pub(crate) fn parse(buf: &mut BytesMut) -> Result<Option<ServerFrame>, DeviceError> {
    while let Some(frame) = next_frame(buf, MAX_SERVER_FRAME)? {
        let packet = parse_packet(&frame.raw)?;
        if packet.protocol_number == COMMAND {
            let parsed = parse_command_reply(packet.content)?;
            return Ok(Some(ServerFrame::Command(command(
                parsed.server_flag,
                &parsed.text,
            ))));
        }
        if packet.content.is_empty() {
            return Ok(Some(ServerFrame::Ack(AckKey::Gt06 {
                protocol_number: packet.protocol_number,
                serial: packet.serial,
            })));
        }
    }
    Ok(None)
}

fn command(server_flag: u32, text: &[u8]) -> ServerCommand {
    let text = String::from_utf8_lossy(text).into_owned();
    let kind = match text.trim().to_ascii_uppercase().as_str() {
        "RELAY,0#" => CommandKind::Unlock,
        "RELAY,1#" => CommandKind::Lock,
        "WHERE#" => CommandKind::Locate,
        _ => CommandKind::Other,
    };
    ServerCommand {
        protocol: Protocol::Gt06,
        kind,
        text,
        params: Vec::new(),
        server_flag: Some(server_flag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::gt06::{encode_text_command, reply};

    #[test]
    fn commands_carry_their_server_flag_and_echoes_are_acks() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&reply(LOGIN, 1));
        buf.extend_from_slice(&encode_text_command(0xDEAD_BEEF, "Relay,0#", 9).unwrap());
        assert_eq!(
            parse(&mut buf).unwrap(),
            Some(ServerFrame::Ack(AckKey::Gt06 {
                protocol_number: LOGIN,
                serial: 1
            }))
        );
        let Some(ServerFrame::Command(cmd)) = parse(&mut buf).unwrap() else {
            panic!("expected a command");
        };
        assert_eq!(
            (cmd.kind, cmd.server_flag),
            (CommandKind::Unlock, Some(0xDEAD_BEEF))
        );
    }
}
