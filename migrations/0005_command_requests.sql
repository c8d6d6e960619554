-- Commands as the API accepted them (architecture §9): one row per command id, so that a
-- retried request with the same Idempotency-Key gets the same command (and no second
-- effect), and `GET /v1/commands/{id}` knows whose it is. The outcome is read from the
-- rides read model (`commands` table of `projection_live_schema('rides')`).
CREATE TABLE IF NOT EXISTS command_requests (
    command_id      uuid PRIMARY KEY,
    actor_id        uuid NOT NULL,
    actor_role      text NOT NULL,
    idempotency_key text NOT NULL,
    -- SHA-256 of the command's kind, target and body: the same key with another command
    -- is refused.
    fingerprint     text NOT NULL,
    kind            text NOT NULL,
    target_id       uuid NOT NULL,
    -- The AppCommand as appended to app.commands.v1 (appended again, unchanged, when a
    -- retry finds it still pending).
    command         jsonb NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_id, idempotency_key)
);

CREATE INDEX IF NOT EXISTS command_requests_target_idx
    ON command_requests (target_id, requested_at DESC);
