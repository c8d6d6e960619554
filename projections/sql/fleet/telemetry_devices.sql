-- The newest telemetry per device of a batch into devices. The new values are merged with
-- the current row in the SELECT (each part only if strictly newer), and rows where nothing
-- is newer are not written at all, so applying a batch twice changes nothing.
INSERT INTO {schema}.devices AS d (
    device_id, device_time_ms, record_index, received_at_ms, speed_kmh, heading_deg, alarms,
    lat_e7, lon_e7, position_time_ms, battery_pct, battery_time_ms, lock_state, lock_time_ms,
    odometer_m, odometer_time_ms, record_event_id, last_event_id, updated_at
)
SELECT t.device_id,
       CASE WHEN f.newer THEN t.device_time_ms ELSE cur.device_time_ms END,
       CASE WHEN f.newer THEN t.record_index ELSE cur.record_index END,
       CASE WHEN f.newer THEN t.received_at_ms ELSE cur.received_at_ms END,
       CASE WHEN f.newer THEN t.speed_kmh ELSE cur.speed_kmh END,
       CASE WHEN f.newer THEN t.heading_deg ELSE cur.heading_deg END,
       CASE WHEN f.newer THEN string_to_array(t.alarms, ',') ELSE cur.alarms END,
       CASE WHEN f.position_newer THEN t.lat_e7 ELSE cur.lat_e7 END,
       CASE WHEN f.position_newer THEN t.lon_e7 ELSE cur.lon_e7 END,
       CASE WHEN f.position_newer THEN t.position_time_ms ELSE cur.position_time_ms END,
       CASE WHEN f.battery_newer THEN t.battery_pct ELSE cur.battery_pct END,
       CASE WHEN f.battery_newer THEN t.battery_time_ms ELSE cur.battery_time_ms END,
       CASE WHEN f.lock_newer THEN t.lock_state ELSE cur.lock_state END,
       CASE WHEN f.lock_newer THEN t.lock_time_ms ELSE cur.lock_time_ms END,
       CASE WHEN f.odometer_newer THEN t.odometer_m ELSE cur.odometer_m END,
       CASE WHEN f.odometer_newer THEN t.odometer_time_ms ELSE cur.odometer_time_ms END,
       CASE WHEN f.newer THEN t.event_id ELSE cur.record_event_id END,
       t.event_id,
       now()
FROM unnest(
    $1::text[], $2::bigint[], $3::integer[], $4::bigint[], $5::integer[], $6::integer[],
    $7::text[], $8::integer[], $9::integer[], $10::bigint[], $11::integer[], $12::bigint[],
    $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::uuid[]
) AS t(device_id, device_time_ms, record_index, received_at_ms, speed_kmh, heading_deg, alarms,
       lat_e7, lon_e7, position_time_ms, battery_pct, battery_time_ms, lock_state, lock_time_ms,
       odometer_m, odometer_time_ms, event_id)
LEFT JOIN {schema}.devices cur ON cur.device_id = t.device_id
CROSS JOIN LATERAL (
    SELECT cur.device_time_ms IS NULL
               OR (t.device_time_ms, t.record_index) > (cur.device_time_ms, cur.record_index)
               AS newer,
           COALESCE(t.position_time_ms > cur.position_time_ms, t.position_time_ms IS NOT NULL)
               AS position_newer,
           COALESCE(t.battery_time_ms > cur.battery_time_ms, t.battery_time_ms IS NOT NULL)
               AS battery_newer,
           COALESCE(t.lock_time_ms > cur.lock_time_ms, t.lock_time_ms IS NOT NULL)
               AS lock_newer,
           COALESCE(t.odometer_time_ms > cur.odometer_time_ms, t.odometer_time_ms IS NOT NULL)
               AS odometer_newer
) f
WHERE f.newer OR f.position_newer OR f.battery_newer OR f.lock_newer OR f.odometer_newer
ON CONFLICT (device_id) DO UPDATE SET
    device_time_ms = EXCLUDED.device_time_ms,
    record_index = EXCLUDED.record_index,
    received_at_ms = EXCLUDED.received_at_ms,
    speed_kmh = EXCLUDED.speed_kmh,
    heading_deg = EXCLUDED.heading_deg,
    alarms = EXCLUDED.alarms,
    lat_e7 = EXCLUDED.lat_e7,
    lon_e7 = EXCLUDED.lon_e7,
    position_time_ms = EXCLUDED.position_time_ms,
    battery_pct = EXCLUDED.battery_pct,
    battery_time_ms = EXCLUDED.battery_time_ms,
    lock_state = EXCLUDED.lock_state,
    lock_time_ms = EXCLUDED.lock_time_ms,
    odometer_m = EXCLUDED.odometer_m,
    odometer_time_ms = EXCLUDED.odometer_time_ms,
    record_event_id = EXCLUDED.record_event_id,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
