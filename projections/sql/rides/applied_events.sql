-- The batch's event ids into applied_events; returns the ids not applied before, the only
-- events the rest of the batch's statements see.
INSERT INTO {schema}.applied_events (event_id, topic, occurred_at)
SELECT t.event_id, t.topic, t.occurred_at
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS t(event_id, topic, occurred_at)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
