//! The gateway directory and the pending downlink commands, in PostgreSQL (migration
//! `0011_downlink_directory.sql`), shared by every gateway process (and readable by the
//! commands processor).
//!
//! - `device_sessions`: which gateway, and which of its connections (`session_id`, the id
//!   of the session events), holds each device. The gateway writes it itself on a login
//!   (the newest login wins) and on close (only its own session's row), so the directory is
//!   current before the gateway delivers anything to the new session: a projection of
//!   `scooter.sessions.v1` would lag behind the login it describes.
//! - `pending_downlink`: every downlink command a gateway consumed (each inserts it, the
//!   first insert wins). Two conditional updates make every command's fate single:
//!   [`Directory::claim_delivery`] (not delivered, not finished, not expired, and the
//!   directory names this very session) before the command is written to a device, and
//!   [`Directory::finish`] (`outcome IS NULL`) before a final outcome is appended. Row
//!   locks re-check the condition, so of two gateways racing for one command exactly one
//!   wins; the sweep ([`Directory::sweep`], run by every gateway) finishes what expired
//!   undelivered (`UNDELIVERABLE`) or delivered and never answered (`TIMED_OUT`, after a
//!   grace period that leaves the connection's own timer the first word).

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{DownlinkCommand, ReplyOutcome};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::router::DownlinkRequest;

/// Delivered commands still unanswered this long after their expiry are finished by the
/// sweep as `TIMED_OUT` (their connection's timer, at the expiry itself, normally is first:
/// this covers a gateway that crashed or lost the database meanwhile).
const DELIVERED_GRACE_S: f64 = 10.0;

/// Finished commands are kept this long (a gateway replaying `scooter.downlink.v1` within
/// it finds them finished and reports nothing again).
const KEEP_FINISHED_DAYS: i32 = 7;

/// The directory and the pending downlink commands of one gateway process.
#[derive(Clone)]
pub struct Directory {
    pool: PgPool,
    gateway_id: String,
}

/// A command the sweep finished, with the outcome it was given (already recorded).
pub(crate) type Swept = (DownlinkRequest, ReplyOutcome, String);

type PendingRow = (
    Json<DownlinkCommand>,
    Uuid,
    Uuid,
    Option<Uuid>,
    String,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
);

const PENDING_COLUMNS: &str = "command, envelope_id, correlation_id, causation_id, \
     event_type, source, subject, event_time";

fn request(row: PendingRow) -> DownlinkRequest {
    let (command, id, correlation, causation, event_type, source, subject, time) = row;
    DownlinkRequest {
        command: command.0,
        envelope: Envelope::from_parts(
            id,
            correlation,
            causation,
            event_type,
            source,
            subject,
            time,
        ),
    }
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

impl Directory {
    /// The directory of gateway `gateway_id` on `pool`.
    pub fn new(pool: PgPool, gateway_id: impl Into<String>) -> Self {
        Self {
            pool,
            gateway_id: gateway_id.into(),
        }
    }

    /// Session `session_id` of this gateway holds `device_id` now (the newest login wins).
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn open(&self, device_id: &str, session_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO device_sessions (device_id, gateway_id, session_id, connected_at) \
             VALUES ($1, $2, $3, now()) \
             ON CONFLICT (device_id) DO UPDATE SET gateway_id = EXCLUDED.gateway_id, \
             session_id = EXCLUDED.session_id, connected_at = EXCLUDED.connected_at, \
             disconnected_at = NULL",
        )
        .bind(device_id)
        .bind(&self.gateway_id)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Session `session_id` ended (a no-op when a newer session holds the device).
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn close(&self, device_id: &str, session_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE device_sessions SET disconnected_at = now() \
             WHERE device_id = $1 AND session_id = $2 AND disconnected_at IS NULL",
        )
        .bind(device_id)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keep `request` until it is finished (a command another gateway stored first is
    /// left as it is).
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn record(&self, request: &DownlinkRequest) -> Result<(), sqlx::Error> {
        let (command, envelope) = (&request.command, &request.envelope);
        let expires_at = chrono::DateTime::from_timestamp_millis(command.expires_at_ms)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        sqlx::query(
            "INSERT INTO pending_downlink (command_id, device_id, command, expires_at, \
             envelope_id, correlation_id, causation_id, event_type, source, subject, event_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (command_id) DO NOTHING",
        )
        .bind(command.command_id)
        .bind(&command.device_id)
        .bind(Json(command))
        .bind(expires_at)
        .bind(envelope.id)
        .bind(envelope.correlation_id)
        .bind(envelope.causation_id)
        .bind(&envelope.event_type)
        .bind(&envelope.source)
        .bind(&envelope.subject)
        .bind(envelope.time)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The commands waiting for `device_id`: neither delivered nor finished nor expired,
    /// oldest first.
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn pending_for(&self, device_id: &str) -> Result<Vec<DownlinkRequest>, sqlx::Error> {
        let rows: Vec<PendingRow> = sqlx::query_as(&format!(
            "SELECT {PENDING_COLUMNS} FROM pending_downlink \
             WHERE device_id = $1 AND outcome IS NULL AND delivered_at IS NULL \
             AND expires_at > now() ORDER BY received_at, command_id"
        ))
        .bind(device_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(request).collect())
    }

    /// Claim `command_id` for delivery on session `session_id`: `true` only when it is
    /// neither delivered nor finished nor expired and the directory names this session as
    /// the device's holder.
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn claim_delivery(
        &self,
        command_id: Uuid,
        device_id: &str,
        session_id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE pending_downlink SET delivered_at = now(), delivered_by = $3, \
             delivered_session = $4 \
             WHERE command_id = $1 AND device_id = $2 AND delivered_at IS NULL \
             AND outcome IS NULL AND expires_at > now() \
             AND EXISTS (SELECT 1 FROM device_sessions d WHERE d.device_id = $2 \
                 AND d.session_id = $4 AND d.disconnected_at IS NULL)",
        )
        .bind(command_id)
        .bind(device_id)
        .bind(&self.gateway_id)
        .bind(session_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Give `command_id` its final `outcome`: `true` only for the first final outcome (the
    /// caller then appends it), `false` when it already has one.
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn finish(
        &self,
        command_id: Uuid,
        outcome: ReplyOutcome,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE pending_downlink SET outcome = $2, outcome_by = $3, finished_at = now() \
             WHERE command_id = $1 AND outcome IS NULL",
        )
        .bind(command_id)
        .bind(outcome_text(outcome))
        .bind(&self.gateway_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Finish what expired: undelivered commands as `UNDELIVERABLE`, delivered ones never
    /// answered (past the grace period) as `TIMED_OUT`; returns them to be appended. Also
    /// forgets finished commands older than the retention.
    ///
    /// # Errors
    /// When the database does not answer.
    pub(crate) async fn sweep(&self) -> Result<Vec<Swept>, sqlx::Error> {
        let rows: Vec<(String, PendingRow)> = sqlx::query_as::<_, SweptRow>(&format!(
            "UPDATE pending_downlink SET outcome = CASE WHEN delivered_at IS NULL \
                 THEN 'UNDELIVERABLE' ELSE 'TIMED_OUT' END, \
             outcome_by = $1, finished_at = now() \
             WHERE outcome IS NULL AND (expires_at <= now() AND delivered_at IS NULL \
                 OR expires_at <= now() - make_interval(secs => $2)) \
             RETURNING outcome, {PENDING_COLUMNS}"
        ))
        .bind(&self.gateway_id)
        .bind(DELIVERED_GRACE_S)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(SweptRow::split)
        .collect();
        sqlx::query(
            "DELETE FROM pending_downlink WHERE outcome IS NOT NULL \
             AND finished_at < now() - make_interval(days => $1)",
        )
        .bind(KEEP_FINISHED_DAYS)
        .execute(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(outcome, row)| {
                let (outcome, text) = if outcome == "UNDELIVERABLE" {
                    (
                        ReplyOutcome::Undeliverable,
                        "device not connected to any gateway before expiry",
                    )
                } else {
                    (ReplyOutcome::TimedOut, "delivered, no answer before expiry")
                };
                (request(row), outcome, text.to_owned())
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct SweptRow {
    outcome: String,
    command: Json<DownlinkCommand>,
    envelope_id: Uuid,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    event_type: String,
    source: String,
    subject: String,
    event_time: chrono::DateTime<chrono::Utc>,
}

impl SweptRow {
    fn split(self) -> (String, PendingRow) {
        (
            self.outcome,
            (
                self.command,
                self.envelope_id,
                self.correlation_id,
                self.causation_id,
                self.event_type,
                self.source,
                self.subject,
                self.event_time,
            ),
        )
    }
}
