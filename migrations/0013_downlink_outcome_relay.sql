-- The final outcome of a downlink command reaches scooter.replies.v1 even when the gateway
-- that recorded it dies (or its append fails) before the broker acknowledged it: an outbox
-- on pending_downlink.
--
-- outcome_text, outcome_at_ms and outcome_event_id are set by the same conditional update
-- as outcome (the first final outcome wins), so the reply can be appended again exactly as
-- it was first appended: the same envelope id (outcome_event_id), the same value bytes.
-- reported_at is set once the broker acknowledged the append. The sweep every gateway runs
-- relays rows finished but still unreported a few seconds after they were finished (or
-- last relayed): it claims them by a conditional update of relayed_at, so two gateways do
-- not relay one row at once. A relay may duplicate an append that was merely slow; that
-- duplicate is the same event, which consumers dedupe by its id.
ALTER TABLE pending_downlink
    ADD COLUMN IF NOT EXISTS outcome_text     text,
    ADD COLUMN IF NOT EXISTS outcome_at_ms    bigint,
    ADD COLUMN IF NOT EXISTS outcome_event_id uuid,
    ADD COLUMN IF NOT EXISTS reported_at      timestamptz,
    ADD COLUMN IF NOT EXISTS relayed_at       timestamptz;

-- Outcomes finished before this migration were appended (or lost) by the gateway of the
-- time, which recorded nothing to append them again with: they count as reported, so an
-- upgrade does not append history again.
UPDATE pending_downlink SET reported_at = finished_at
WHERE outcome IS NOT NULL AND reported_at IS NULL;

CREATE INDEX IF NOT EXISTS pending_downlink_unreported
    ON pending_downlink (coalesce(relayed_at, finished_at))
    WHERE outcome IS NOT NULL AND reported_at IS NULL;
