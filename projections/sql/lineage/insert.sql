-- One batch of events (one row per event id, merged in Rust). An event already recorded
-- keeps its first position; a dead-letter copy only adds its dlq_* columns, once.
INSERT INTO {schema}.events AS e (
    event_id, synthetic_id, event_type, topic, partition, "offset", key, correlation_id,
    causation_id, time, source, subject, log_time, dlq_record, dlq_error, dlq_processor
)
SELECT * FROM unnest(
    $1::uuid[], $2::boolean[], $3::text[], $4::text[], $5::integer[], $6::bigint[],
    $7::text[], $8::uuid[], $9::uuid[], $10::timestamptz[], $11::text[], $12::text[],
    $13::timestamptz[], $14::text[], $15::text[], $16::text[]
)
ON CONFLICT (event_id) DO UPDATE SET
    dlq_record = EXCLUDED.dlq_record,
    dlq_error = EXCLUDED.dlq_error,
    dlq_processor = EXCLUDED.dlq_processor
WHERE e.dlq_record IS NULL AND EXCLUDED.dlq_record IS NOT NULL
