//! A connection's downlink side: sending the commands waiting for its device, and
//! matching the device's replies to them. A command is written only after its delivery was
//! claimed in `pending_downlink` for this session (see `gateway::directory`): a copy that
//! another connection or gateway delivered, that is finished or expired, or whose device
//! the directory names elsewhere, is dropped here without an outcome.

use fleetlog_schemas::events::ReplyOutcome;
use tokio::net::tcp::WriteHalf;

use super::{Close, Connection, write};
use crate::gateway::publish::now_ms;
use crate::gateway::router::DownlinkRequest;
use crate::gateway::session_events::session_id;
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
            if request.command.expires_at_ms <= now_ms() || !self.claim(&device_id, &request).await
            {
                // Expired: the sweep reports it once. Not claimed: someone else's.
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

    async fn claim(&self, device_id: &str, request: &DownlinkRequest) -> bool {
        let session = session_id(&self.gw, self.conn_id);
        let command = request.command.command_id;
        match self
            .gw
            .directory
            .claim_delivery(command, device_id, session)
            .await
        {
            Ok(claimed) => {
                tracing::debug!(%command, claimed, "delivery claim");
                claimed
            }
            Err(err) => {
                // Still pending: a later login (or the sweep at its expiry) takes it.
                tracing::warn!(%command, error = %err, "delivery not claimed");
                false
            }
        }
    }
}
