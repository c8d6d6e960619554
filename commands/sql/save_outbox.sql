-- In decision order, so `seq` keeps each key's order for the relay.
INSERT INTO {schema}.outbox (
    topic, record_key, payload, event_id, event_type, source, subject, correlation_id,
    causation_id, event_time
)
SELECT t.topic, t.record_key, t.payload, t.event_id, t.event_type, t.source, t.subject,
       t.correlation_id, t.causation_id, t.event_time
FROM unnest(
    $1::text[], $2::text[], $3::bytea[], $4::uuid[], $5::text[], $6::text[], $7::text[],
    $8::uuid[], $9::uuid[], $10::timestamptz[]
) WITH ORDINALITY AS t(topic, record_key, payload, event_id, event_type, source, subject,
                       correlation_id, causation_id, event_time, n)
ORDER BY t.n
