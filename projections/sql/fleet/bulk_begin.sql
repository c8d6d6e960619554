-- The bulk load of a fresh fleet build: the history is appended with binary COPY, without
-- its primary key or secondary indexes (dropped here; idempotent). bulk_finish.sql removes
-- re-sent records and builds them again.
ALTER TABLE {schema}.telemetry_history DROP CONSTRAINT IF EXISTS telemetry_history_pkey;
DROP INDEX IF EXISTS {schema}.telemetry_history_device_day_idx;
DROP INDEX IF EXISTS {schema}.telemetry_history_event_idx;
