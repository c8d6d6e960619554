-- The lineage read model (schema from the runtime, e.g. proj_lineage_v1): one row per event
-- on any topic, from its envelope headers only, so any chain can be walked by correlation
-- and causation. A record without a valid ce_id has a synthetic id (UUID v5 of its
-- position, synthetic_id = true) and no correlation. A dead-letter copy of an event adds
-- dlq_* to the event's row (its position stays the original one).
CREATE TABLE IF NOT EXISTS {schema}.events (
    event_id       uuid        PRIMARY KEY,
    synthetic_id   boolean     NOT NULL DEFAULT false,
    event_type     text,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    "offset"       bigint      NOT NULL,
    key            text,
    correlation_id uuid,
    causation_id   uuid,
    time           timestamptz,
    source         text,
    subject        text,
    log_time       timestamptz,
    dlq_record     text,
    dlq_error      text,
    dlq_processor  text,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_correlation_idx ON {schema}.events (correlation_id);
CREATE INDEX IF NOT EXISTS events_causation_idx ON {schema}.events (causation_id);
