-- The events of one chain: every event sharing the correlation id $1, plus the event $2
-- itself (which may have none). At most 10001 rows, so the caller can tell it cut.
SELECT event_id, synthetic_id, event_type, topic, partition, "offset", key, correlation_id,
       causation_id, time, source, subject, log_time, dlq_record, dlq_error, dlq_processor
FROM {schema}.events
WHERE correlation_id = $1 OR event_id = $2
ORDER BY time NULLS LAST, topic, partition, "offset"
LIMIT 10001
