SELECT seq, topic, record_key, payload, event_id, event_type, source, subject, correlation_id,
       causation_id, event_time
FROM {schema}.outbox
ORDER BY seq
LIMIT $1
