-- The gateway directory and the downlink commands waiting for their device (issue 15).
--
-- device_sessions: which gateway (and which of its connections, session_id) holds each
-- device; written by the gateway itself on login (upsert: the newest login wins) and on
-- close (only its own session's row is closed). A delivery is claimed only for the session
-- the directory names, so a command reaches only the gateway holding its device.
CREATE TABLE IF NOT EXISTS device_sessions (
    device_id       text PRIMARY KEY,
    gateway_id      text NOT NULL,
    session_id      uuid NOT NULL,
    connected_at    timestamptz NOT NULL,
    disconnected_at timestamptz
);

-- pending_downlink: every command of scooter.downlink.v1 a gateway consumed (each gateway
-- inserts it, ON CONFLICT DO NOTHING), with the envelope it arrived with. delivered_* is
-- claimed by one conditional update before the command is written to the device; outcome
-- is set by one conditional update (outcome IS NULL) before a final outcome is appended,
-- so two gateways can never both report one command.
CREATE TABLE IF NOT EXISTS pending_downlink (
    command_id         uuid PRIMARY KEY,
    device_id          text NOT NULL,
    command            jsonb NOT NULL,
    expires_at         timestamptz NOT NULL,
    envelope_id        uuid NOT NULL,
    correlation_id     uuid NOT NULL,
    causation_id       uuid,
    event_type         text NOT NULL,
    source             text NOT NULL,
    subject            text NOT NULL,
    event_time         timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at       timestamptz,
    delivered_by       text,
    delivered_session  uuid,
    outcome            text,
    outcome_by         text,
    finished_at        timestamptz,
    CONSTRAINT pending_downlink_outcome CHECK (
        outcome IS NULL
        OR outcome IN ('ANSWERED', 'REJECTED', 'TIMED_OUT', 'UNDELIVERABLE'))
);

CREATE INDEX IF NOT EXISTS pending_downlink_open_by_device
    ON pending_downlink (device_id) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS pending_downlink_open_by_expiry
    ON pending_downlink (expires_at) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS pending_downlink_finished
    ON pending_downlink (finished_at) WHERE outcome IS NOT NULL;
