//! Final outcomes in `pending_downlink`, and their outbox (migration
//! `0013_downlink_outcome_relay.sql`).
//!
//! One conditional update (`outcome IS NULL`) records a command's first final outcome
//! together with everything its reply on `scooter.replies.v1` is made of: the text, the
//! time (`outcome_at_ms`) and the reply's envelope id (`outcome_event_id`, a fresh v7).
//! The gateway that recorded it appends it at once and, once the broker acknowledged,
//! marks it reported ([`Directory::reported`]). When that never happens (the process was
//! killed in between, the append failed), the sweep of any gateway claims the row after
//! [`RELAY_AFTER_S`] ([`Directory::unreported`]) and appends the same reply again: the same
//! envelope id, source, time and value bytes. A relay can thus duplicate an append that
//! was merely slow; the duplicate is the same event, which consumers dedupe by its id.

use fleetlog_schemas::events::ReplyOutcome;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Directory, PENDING_COLUMNS, PendingRow, request};
use crate::gateway::publish::now_ms;
use crate::gateway::router::DownlinkRequest;

/// Delivered commands still unanswered this long after their expiry are finished by the
/// sweep as `TIMED_OUT` (their connection's timer, at the expiry itself, normally is first:
/// this covers a gateway that crashed or lost the database meanwhile).
const DELIVERED_GRACE_S: f64 = 10.0;

/// Finished commands are kept this long (a gateway replaying `scooter.downlink.v1` within
/// it finds them finished and reports nothing again).
const KEEP_FINISHED_DAYS: i32 = 7;

/// A final outcome not reported this long after it was recorded (or last relayed) is
/// appended again by the sweep: far beyond an acknowledged append's usual latency, so a
/// relay seldom duplicates an append that is merely slow (a duplicate is the same event).
const RELAY_AFTER_S: f64 = 5.0;

/// At most this many outcomes are relayed per sweep (a backlog drains over several).
const RELAY_BATCH: i64 = 100;

/// What the sweep finishes: expired undelivered, or delivered and past the grace period
/// (in seconds, the query parameter `grace`, e.g. `$2`).
fn expired(grace: &str) -> String {
    format!(
        "outcome IS NULL AND (expires_at <= now() AND delivered_at IS NULL \
         OR expires_at <= now() - make_interval(secs => {grace}))"
    )
}

/// Whether the device of the `pending_downlink` row at hand was connected to some gateway
/// during the command's lifetime, from its envelope time (when it was appended) to its
/// expiry: its newest session (`device_sessions` keeps one per device) began before the
/// expiry and was open at or after the envelope time. The newest session is enough while
/// the sweep runs at the expiry (every 250 ms): any earlier session that overlapped ended
/// before it. Only a sweep long after the expiry (every gateway down) can see a session
/// newer than the lifetime and miss an older one.
const DEVICE_CONNECTED: &str = "EXISTS (SELECT 1 FROM device_sessions d \
     WHERE d.device_id = pending_downlink.device_id \
     AND d.connected_at <= pending_downlink.expires_at \
     AND (d.disconnected_at IS NULL OR d.disconnected_at >= pending_downlink.event_time))";

/// The outcome of an expired command: `UNDELIVERABLE` only for one that reached the
/// gateways before its expiry, was not delivered, and whose device was connected to no
/// gateway during its lifetime ([`DEVICE_CONNECTED`]); otherwise `TIMED_OUT` (delivered and
/// unanswered, expired before it reached the gateways — decided too late, for example
/// across a processor handover — or not delivered though the device was there).
fn expired_outcome() -> String {
    format!(
        "CASE WHEN delivered_at IS NULL AND received_at < expires_at \
         AND NOT {DEVICE_CONNECTED} THEN 'UNDELIVERABLE' ELSE 'TIMED_OUT' END"
    )
}

/// Why [`expired_outcome`] gave what it gave (the reply's text).
fn expired_text() -> String {
    format!(
        "CASE WHEN delivered_at IS NOT NULL THEN 'delivered, no answer before expiry' \
         WHEN received_at >= expires_at THEN 'expired before it reached the gateways' \
         WHEN {DEVICE_CONNECTED} \
         THEN 'not delivered before expiry, though the device was connected' \
         ELSE 'device not connected to any gateway before expiry' END"
    )
}

/// What the relay claims: recorded with its event id (by this version), not reported, and
/// neither recorded nor relayed in the last [`RELAY_AFTER_S`].
const UNREPORTED: &str = "outcome IS NOT NULL AND reported_at IS NULL \
     AND outcome_event_id IS NOT NULL AND outcome_at_ms IS NOT NULL \
     AND coalesce(relayed_at, finished_at) < now() - make_interval(secs => $1)";

/// A recorded final outcome: everything its reply is appended with, again identically.
pub(crate) struct Final {
    /// The command, with its envelope (the reply's cause).
    pub(crate) request: DownlinkRequest,
    /// The outcome.
    pub(crate) outcome: ReplyOutcome,
    /// The device's answer, or why the sweep finished it.
    pub(crate) text: Option<String>,
    /// The reply's `at_ms` (and envelope time).
    pub(crate) at_ms: i64,
    /// The reply's envelope id.
    pub(crate) event_id: Uuid,
    /// The gateway that recorded it (the reply's source).
    pub(crate) recorded_by: String,
}

fn outcome_text(outcome: ReplyOutcome) -> &'static str {
    match outcome {
        ReplyOutcome::Delivered => "DELIVERED",
        ReplyOutcome::Answered => "ANSWERED",
        ReplyOutcome::TimedOut => "TIMED_OUT",
        ReplyOutcome::Undeliverable => "UNDELIVERABLE",
        ReplyOutcome::Rejected => "REJECTED",
    }
}

fn parse_outcome(text: &str) -> Option<ReplyOutcome> {
    match text {
        "ANSWERED" => Some(ReplyOutcome::Answered),
        "TIMED_OUT" => Some(ReplyOutcome::TimedOut),
        "UNDELIVERABLE" => Some(ReplyOutcome::Undeliverable),
        "REJECTED" => Some(ReplyOutcome::Rejected),
        _ => None,
    }
}

impl Directory {
    /// Give `request` its final `outcome` (with `text`), fixing its reply's time and event
    /// id: `Some` only for the first final outcome (the caller then appends it, see
    /// [`Final`]), `None` when it already has one.
    ///
    /// # Errors
    /// When the database does not answer.
    pub(crate) async fn finish(
        &self,
        request: DownlinkRequest,
        outcome: ReplyOutcome,
        text: Option<String>,
    ) -> Result<Option<Final>, sqlx::Error> {
        let (at_ms, event_id) = (now_ms(), Uuid::now_v7());
        let done = sqlx::query(
            "UPDATE pending_downlink SET outcome = $2, outcome_by = $3, finished_at = now(), \
             outcome_text = $4, outcome_at_ms = $5, outcome_event_id = $6 \
             WHERE command_id = $1 AND outcome IS NULL",
        )
        .bind(request.command.command_id)
        .bind(outcome_text(outcome))
        .bind(&self.gateway_id)
        .bind(text.as_deref())
        .bind(at_ms)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then(|| Final {
            request,
            outcome,
            text,
            at_ms,
            event_id,
            recorded_by: self.gateway_id.clone(),
        }))
    }

    /// The broker acknowledged the reply of `command_id`'s final outcome: the relay leaves
    /// it alone from now on.
    ///
    /// # Errors
    /// When the database does not answer.
    pub(crate) async fn reported(&self, command_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE pending_downlink SET reported_at = now() \
             WHERE command_id = $1 AND reported_at IS NULL",
        )
        .bind(command_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Finish what expired: undelivered commands as `UNDELIVERABLE` (or `TIMED_OUT`, see
    /// [`expired_outcome`]), delivered ones never
    /// answered (past the grace period) as `TIMED_OUT`, each by its own conditional update
    /// (with its own event id); returns those this gateway finished, to be appended. Also
    /// forgets finished commands older than the retention.
    ///
    /// # Errors
    /// When the database does not answer.
    pub(crate) async fn sweep(&self) -> Result<Vec<Final>, sqlx::Error> {
        let candidates: Vec<Uuid> = sqlx::query_scalar(&format!(
            "SELECT command_id FROM pending_downlink WHERE {}",
            expired("$1")
        ))
        .bind(DELIVERED_GRACE_S)
        .fetch_all(&self.pool)
        .await?;
        let mut finished = Vec::with_capacity(candidates.len());
        let still_expired = expired("$2");
        for command_id in candidates {
            let (at_ms, event_id) = (now_ms(), Uuid::now_v7());
            let row: Option<OutcomeRow> = sqlx::query_as(&format!(
                "UPDATE pending_downlink SET outcome = {outcome}, outcome_text = {text}, \
                 outcome_by = $1, finished_at = now(), outcome_at_ms = $4, \
                 outcome_event_id = $5 \
                 WHERE command_id = $3 AND {still_expired} \
                 RETURNING {OUTCOME_COLUMNS}, {PENDING_COLUMNS}",
                outcome = expired_outcome(),
                text = expired_text(),
            ))
            .bind(&self.gateway_id)
            .bind(DELIVERED_GRACE_S)
            .bind(command_id)
            .bind(at_ms)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
            finished.extend(row.and_then(|row| row.into_final(&self.gateway_id)));
        }
        sqlx::query(
            "DELETE FROM pending_downlink WHERE outcome IS NOT NULL \
             AND finished_at < now() - make_interval(days => $1)",
        )
        .bind(KEEP_FINISHED_DAYS)
        .execute(&self.pool)
        .await?;
        Ok(finished)
    }

    /// Claim the final outcomes recorded but not reported for [`RELAY_AFTER_S`] (their
    /// gateway died before the broker acknowledged, or the append failed), at most
    /// [`RELAY_BATCH`]: one conditional update sets `relayed_at`, so of gateways sweeping at
    /// once exactly one relays each, and a failed relay is tried again after
    /// [`RELAY_AFTER_S`]. The caller appends them as recorded and marks them reported.
    ///
    /// # Errors
    /// When the database does not answer.
    pub(crate) async fn unreported(&self) -> Result<Vec<Final>, sqlx::Error> {
        let rows: Vec<OutcomeRow> = sqlx::query_as(&format!(
            "UPDATE pending_downlink SET relayed_at = now() \
             WHERE command_id IN (SELECT command_id FROM pending_downlink \
                 WHERE {UNREPORTED} ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             AND {UNREPORTED} \
             RETURNING {OUTCOME_COLUMNS}, {PENDING_COLUMNS}"
        ))
        .bind(RELAY_AFTER_S)
        .bind(RELAY_BATCH)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.into_final(&self.gateway_id))
            .collect())
    }
}

const OUTCOME_COLUMNS: &str = "outcome, outcome_text, outcome_at_ms, outcome_event_id, outcome_by";

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    outcome: String,
    outcome_text: Option<String>,
    outcome_at_ms: Option<i64>,
    outcome_event_id: Option<Uuid>,
    outcome_by: Option<String>,
    command: Json<fleetlog_schemas::events::DownlinkCommand>,
    envelope_id: Uuid,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    event_type: String,
    source: String,
    subject: String,
    event_time: chrono::DateTime<chrono::Utc>,
}

impl OutcomeRow {
    /// The outcome to append; `None` (with a warning) for a row this version cannot append
    /// identically (no event id or time: recorded by an older gateway, which appended it).
    /// `gateway_id` is the source when the row names no recording gateway.
    fn into_final(self, gateway_id: &str) -> Option<Final> {
        let command_id = self.command.0.command_id;
        let (Some(outcome), Some(at_ms), Some(event_id)) = (
            parse_outcome(&self.outcome),
            self.outcome_at_ms,
            self.outcome_event_id,
        ) else {
            tracing::warn!(command = %command_id, outcome = %self.outcome,
                "recorded outcome without its reply's time or id: not appended");
            return None;
        };
        let row: PendingRow = (
            self.command,
            self.envelope_id,
            self.correlation_id,
            self.causation_id,
            self.event_type,
            self.source,
            self.subject,
            self.event_time,
        );
        Some(Final {
            request: request(row),
            outcome,
            text: self.outcome_text,
            at_ms,
            event_id,
            recorded_by: self.outcome_by.unwrap_or_else(|| gateway_id.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_final_outcome_reads_back_as_recorded_and_delivered_is_never_final() {
        for outcome in [
            ReplyOutcome::Answered,
            ReplyOutcome::Rejected,
            ReplyOutcome::TimedOut,
            ReplyOutcome::Undeliverable,
        ] {
            assert_eq!(parse_outcome(outcome_text(outcome)), Some(outcome));
        }
        assert_eq!(parse_outcome(outcome_text(ReplyOutcome::Delivered)), None);
    }
}
