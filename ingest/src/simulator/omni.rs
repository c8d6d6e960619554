//! Omni device side: Q0 check-in, D0 position + S6 vehicle info per report (not ACKed), and
//! the unlock conversation: server R0 → device R0 with a key → server L0/L1 with the key →
//! device L0/L1 result, which the server ACKs.

use bytes::BytesMut;
use rand::Rng;

use super::driver::{Ctx, Response};
use super::link::{
    AckKey, CommandKind, DeviceError, MAX_SERVER_FRAME, Outgoing, ServerCommand, ServerFrame,
};
use super::scooter::Scooter;
use crate::protocol::omni::{ACKED_TYPES, KeyReply, Message, device, next_frame, parse_message};
use crate::protocol::{LockState, Protocol, Record};

/// GSM signal on the Omni 0–31 (CSQ) scale.
const GSM_CSQ: u8 = 24;
/// Speed mode reported in S6 (1 = normal).
const SPEED_MODE: u8 = 1;
/// L0/L1 status: done.
const STATUS_OK: u8 = 0;
/// L0/L1 status: wrong or expired key.
const STATUS_KEY_ERROR: u8 = 2;

/// A key handed out in answer to R0, waiting for the L0/L1 that uses it.
#[derive(Debug, Clone)]
struct IssuedKey {
    unlock: bool,
    key: String,
    user_id: String,
    unix_time: String,
    expires_ms: i64,
}

/// Omni state: the operation key last handed out.
#[derive(Debug, Default)]
pub(crate) struct Driver {
    key: Option<IssuedKey>,
}

impl Driver {
    /// Omni has no login: the Q0 check-in identifies the device and gets no answer.
    pub(crate) fn login(&mut self, imei: &str, s: &Scooter) -> Result<Outgoing, DeviceError> {
        let record = s.record(0);
        let battery = record.battery_pct.unwrap_or(0);
        let module_mv = record.device_voltage_mv.unwrap_or(0);
        Ok(Outgoing::plain(device::checkin(
            imei, module_mv, battery, GSM_CSQ,
        )?))
    }

    pub(crate) fn report(
        &mut self,
        imei: &str,
        record: &Record,
    ) -> Result<Vec<Outgoing>, DeviceError> {
        let mut info = record.clone();
        info.gsm_signal = Some(GSM_CSQ);
        Ok(vec![
            Outgoing::plain(device::position(imei, record, 1)?),
            Outgoing::plain(device::vehicle_info(imei, &info, SPEED_MODE)?),
        ])
    }

    pub(crate) fn obey(
        &mut self,
        command: &ServerCommand,
        ctx: Ctx<'_>,
    ) -> Result<Response, DeviceError> {
        let id = ctx.device_id;
        let reply = |out| Response {
            reply: Some(out),
            obeyed: true,
            ..Response::default()
        };
        match command.kind {
            CommandKind::KeyRequest { unlock } => self.issue_key(unlock, command, ctx),
            CommandKind::Unlock | CommandKind::Lock => self.use_key(command, &ctx),
            CommandKind::Locate => {
                let record = ctx.scooter.record(ctx.now_ms);
                Ok(reply(Outgoing::plain(device::position(id, &record, 0)?)))
            }
            CommandKind::Beep => {
                let params: Vec<&str> = command.params.iter().map(String::as_str).collect();
                Ok(reply(Outgoing::plain(device::message(id, "V0", &params)?)))
            }
            CommandKind::Other => Ok(Response::default()),
        }
    }

    /// R0 `<op>,<valid s>,<user>,<time>`: answer with a fresh key for that operation.
    fn issue_key(
        &mut self,
        unlock: bool,
        command: &ServerCommand,
        ctx: Ctx<'_>,
    ) -> Result<Response, DeviceError> {
        let param = |i: usize| command.params.get(i).cloned().unwrap_or_default();
        let valid_s: i64 = param(1).parse().unwrap_or(20);
        let issued = IssuedKey {
            unlock,
            key: ctx.rng.random_range(100_000..1_000_000u32).to_string(),
            user_id: param(2),
            unix_time: param(3),
            expires_ms: ctx.now_ms.saturating_add(valid_s.saturating_mul(1000)),
        };
        let answer = KeyReply {
            imei: ctx.device_id.to_owned(),
            operation: u8::from(!unlock),
            key: issued.key.clone(),
            user_id: issued.user_id.clone(),
            unix_time: issued.unix_time.clone(),
        };
        self.key = Some(issued);
        Ok(Response {
            reply: Some(Outgoing::plain(device::key_reply(&answer)?)),
            ..Response::default()
        })
    }

    /// L0 `<key>,<user>,<time>` / L1 `<key>`: act if the key matches, report the result
    /// (which the server must ACK).
    fn use_key(&mut self, command: &ServerCommand, ctx: &Ctx<'_>) -> Result<Response, DeviceError> {
        let unlock = command.kind == CommandKind::Unlock;
        let given = command.params.first().map(String::as_str);
        let issued = self.key.take().filter(|k| {
            k.unlock == unlock && Some(k.key.as_str()) == given && ctx.now_ms <= k.expires_ms
        });
        let user = issued
            .as_ref()
            .map_or_else(|| param_u32(command, 1), |k| num(&k.user_id));
        let time = issued
            .as_ref()
            .map_or_else(|| param_u32(command, 2), |k| num(&k.unix_time));
        let status = if issued.is_some() {
            STATUS_OK
        } else {
            STATUS_KEY_ERROR
        };
        let ride = ctx.scooter.ride_minutes(ctx.now_ms);
        let bytes = device::lock_result(ctx.device_id, !unlock, status, user, time, ride)?;
        let msg_type = if unlock { "L0" } else { "L1" };
        let lock = issued.map(|_| {
            if unlock {
                LockState::Unlocked
            } else {
                LockState::Locked
            }
        });
        Ok(Response {
            lock,
            reply: Some(Outgoing::acked(bytes, AckKey::Omni(msg_type.to_owned()))),
            obeyed: true,
        })
    }
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

fn param_u32(command: &ServerCommand, i: usize) -> u32 {
    command.params.get(i).map_or(0, |p| num(p))
}

/// Server frames: `0xFF 0xFF *SCOS,OM,<imei>,<type>[,…]#\n`. A bare L0/L1/W0/E0/E1 (or the
/// `*CMDS,…,Re,<type>#` variant) is an ACK; everything else is a command.
pub(crate) fn parse(buf: &mut BytesMut) -> Result<Option<ServerFrame>, DeviceError> {
    let Some(frame) = next_frame(buf, MAX_SERVER_FRAME)? else {
        return Ok(None);
    };
    let msg = parse_message(&frame.raw)?;
    if msg.is_from_device() {
        return Err(DeviceError::BadFrame(
            "device frame sent to a device".into(),
        ));
    }
    let acked = match (msg.msg_type.as_str(), msg.params.as_slice()) {
        ("Re", [acked]) => Some(acked.clone()),
        (t, []) if ACKED_TYPES.contains(&t) => Some(t.to_owned()),
        _ => None,
    };
    Ok(Some(match acked {
        Some(t) => ServerFrame::Ack(AckKey::Omni(t)),
        None => ServerFrame::Command(command(msg)),
    }))
}

fn command(msg: Message) -> ServerCommand {
    let kind = match (
        msg.msg_type.as_str(),
        msg.params.first().map(String::as_str),
    ) {
        ("R0", Some(op)) => CommandKind::KeyRequest { unlock: op == "0" },
        ("L0", _) => CommandKind::Unlock,
        ("L1", _) => CommandKind::Lock,
        ("D0", _) => CommandKind::Locate,
        ("V0", _) => CommandKind::Beep,
        _ => CommandKind::Other,
    };
    let text = std::iter::once(msg.msg_type.as_str())
        .chain(msg.params.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(",");
    ServerCommand {
        protocol: Protocol::Omni,
        kind,
        text,
        params: msg.params,
        server_flag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::omni::{ack, encode_server, parse_message};

    #[test]
    fn commands_and_acks_are_told_apart() {
        let imei = "350000000000001";
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&encode_server(imei, "R0", &["0", "20", "7", "99"]).unwrap());
        let l0 = parse_message(b"*SCOR,OM,350000000000001,L0,0,7,99#").unwrap();
        buf.extend_from_slice(&ack(&l0).unwrap());
        let Some(ServerFrame::Command(cmd)) = parse(&mut buf).unwrap() else {
            panic!("expected a command");
        };
        assert_eq!(cmd.kind, CommandKind::KeyRequest { unlock: true });
        assert_eq!(cmd.text, "R0,0,20,7,99");
        assert_eq!(
            parse(&mut buf).unwrap(),
            Some(ServerFrame::Ack(AckKey::Omni("L0".into())))
        );
    }
}
