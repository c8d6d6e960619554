//! A connection's downlink side: sending the commands waiting for its device, and
//! matching the device's replies to them.

use fleetlog_schemas::events::ReplyOutcome;
use tokio::net::tcp::WriteHalf;

use super::{Close, Connection, write};
use crate::gateway::publish::now_ms;
use crate::protocol::Protocol;

impl Connection {
    pub(super) async fn on_command_reply(
        &mut self,
        reply: &crate::protocol::CommandReply,
        wr: &mut WriteHalf<'_>,
    ) -> Result<(), Close> {
        let Some(matched) = self.commands.on_reply(self.protocol, reply) else {
            tracing::debug!(device = ?self.device_id, "device reply matches no pending command");
            return Ok(());
        };
        if let Some(bytes) = matched.follow_up {
            write(wr, &bytes).await?;
        }
        if let Some((request, outcome, text)) = matched.finished {
            self.gw.report(request, outcome, Some(text));
        }
        Ok(())
    }

    /// Send waiting downlink commands, one at a time; Teltonika only once its data is ACKed.
    pub(super) async fn send_commands(
        &mut self,
        wr: &mut WriteHalf<'_>,
        data_acked: bool,
    ) -> Result<(), Close> {
        if !self.mailbox {
            return Ok(());
        }
        let Some(device_id) = self.device_id.clone() else {
            return Ok(());
        };
        while !self.commands.busy() && (data_acked || self.protocol != Protocol::Teltonika) {
            let Some(request) = self.gw.router.take(&device_id) else {
                self.mailbox = false;
                return Ok(());
            };
            if request.command.expires_at_ms <= now_ms() {
                self.gw.report(
                    request,
                    ReplyOutcome::Undeliverable,
                    Some("expired before delivery".into()),
                );
                continue;
            }
            match self.commands.start(self.protocol, &device_id, &request) {
                Ok(bytes) => {
                    write(wr, &bytes).await?;
                    self.gw.report(request, ReplyOutcome::Delivered, None);
                }
                Err(reason) => self
                    .gw
                    .report(request, ReplyOutcome::Rejected, Some(reason)),
            }
        }
        Ok(())
    }
}
