-- End of the bulk load: the first copy of every device record in log order (a device's
-- records share its partition, so the lowest offset is the copy the incremental path's
-- ON CONFLICT DO NOTHING keeps) into the history in one statement, then its primary key
-- and the secondary indexes of migrate.sql; the staging table goes.
INSERT INTO {schema}.telemetry_history (
    device_id, device_time_ms, record_index, day, lat_e7, lon_e7, position_valid, speed_kmh,
    heading_deg, battery_pct, lock_state, odometer_m, alarms, received_at_ms, event_id,
    frame_id
)
SELECT DISTINCT ON (device_id, device_time_ms, record_index)
    device_id, device_time_ms, record_index, day, lat_e7, lon_e7, position_valid, speed_kmh,
    heading_deg, battery_pct, lock_state, odometer_m, alarms, received_at_ms, event_id,
    frame_id
FROM {schema}.bulk_history
ORDER BY device_id, device_time_ms, record_index, log_partition, log_offset;
DROP TABLE {schema}.bulk_history;
ALTER TABLE {schema}.telemetry_history
    ADD PRIMARY KEY (device_id, device_time_ms, record_index);
CREATE INDEX IF NOT EXISTS telemetry_history_device_day_idx
    ON {schema}.telemetry_history (device_id, day);
CREATE INDEX IF NOT EXISTS telemetry_history_event_idx
    ON {schema}.telemetry_history (event_id);
