-- End of the bulk load: keep the first copy of every device record (the history was only
-- appended to, in log order per partition, and a device's records share its partition,
-- so the lowest ctid is the copy the incremental path keeps), then the primary key and
-- the secondary indexes of migrate.sql.
DELETE FROM {schema}.telemetry_history a
USING {schema}.telemetry_history b
WHERE a.device_id = b.device_id
  AND a.device_time_ms = b.device_time_ms
  AND a.record_index = b.record_index
  AND a.ctid > b.ctid;
ALTER TABLE {schema}.telemetry_history
    ADD PRIMARY KEY (device_id, device_time_ms, record_index);
CREATE INDEX IF NOT EXISTS telemetry_history_device_day_idx
    ON {schema}.telemetry_history (device_id, day);
CREATE INDEX IF NOT EXISTS telemetry_history_event_idx
    ON {schema}.telemetry_history (event_id);
