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
//! - The final outcome's reply is an outbox row of `pending_downlink` (migration
//!   `0013_downlink_outcome_relay.sql`, `directory/outcomes.rs`): the update that records
//!   the outcome also fixes its text, time and event id, and `reported_at` is set once the
//!   broker acknowledged the append. What a gateway recorded but never got appended (it
//!   died in between, or the append failed) is appended again, identically, by the sweep.

mod outcomes;

use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::DownlinkCommand;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::router::DownlinkRequest;

pub(crate) use outcomes::Final;

/// The directory and the pending downlink commands of one gateway process.
#[derive(Clone)]
pub struct Directory {
    pool: PgPool,
    gateway_id: String,
}

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
}
