-- Every distinct device record of a batch into the history; a record already there (same
-- device, device time and record index) is left as it was.
INSERT INTO {schema}.telemetry_history (
    device_id, device_time_ms, record_index, day, lat_e7, lon_e7, position_valid, speed_kmh,
    heading_deg, battery_pct, lock_state, odometer_m, alarms, received_at_ms, event_id,
    frame_id
)
SELECT t.device_id, t.device_time_ms, t.record_index, t.day, t.lat_e7, t.lon_e7,
       t.position_valid, t.speed_kmh, t.heading_deg, t.battery_pct, t.lock_state,
       t.odometer_m, string_to_array(t.alarms, ','), t.received_at_ms, t.event_id, t.frame_id
FROM unnest(
    $1::text[], $2::bigint[], $3::integer[], $4::date[], $5::integer[], $6::integer[],
    $7::boolean[], $8::integer[], $9::integer[], $10::integer[], $11::text[], $12::bigint[],
    $13::text[], $14::bigint[], $15::uuid[], $16::uuid[]
) AS t(device_id, device_time_ms, record_index, day, lat_e7, lon_e7, position_valid, speed_kmh,
       heading_deg, battery_pct, lock_state, odometer_m, alarms, received_at_ms, event_id,
       frame_id)
ON CONFLICT (device_id, device_time_ms, record_index) DO NOTHING
