-- The decided states of a batch, one row per vehicle.
INSERT INTO {schema}.vehicles AS v (vehicle_id, device_id, qr_code, state, next_due_ms, updated_at)
SELECT t.vehicle_id, t.device_id, t.qr_code, t.state, t.next_due_ms, now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[])
     AS t(vehicle_id, device_id, qr_code, state, next_due_ms)
ON CONFLICT (vehicle_id) DO UPDATE SET
    device_id = EXCLUDED.device_id,
    qr_code = EXCLUDED.qr_code,
    state = EXCLUDED.state,
    next_due_ms = EXCLUDED.next_due_ms,
    updated_at = EXCLUDED.updated_at
