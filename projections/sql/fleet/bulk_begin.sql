-- The bulk load of a fresh fleet build: the history is appended with binary COPY to a
-- staging table without key or indexes, with each record's log position; the history
-- itself (empty) loses its key and secondary indexes until bulk_finish.sql. Idempotent.
CREATE TABLE IF NOT EXISTS {schema}.bulk_history (LIKE {schema}.telemetry_history);
ALTER TABLE {schema}.bulk_history
    ADD COLUMN IF NOT EXISTS log_partition integer,
    ADD COLUMN IF NOT EXISTS log_offset bigint;
ALTER TABLE {schema}.telemetry_history DROP CONSTRAINT IF EXISTS telemetry_history_pkey;
DROP INDEX IF EXISTS {schema}.telemetry_history_device_day_idx;
DROP INDEX IF EXISTS {schema}.telemetry_history_event_idx;
