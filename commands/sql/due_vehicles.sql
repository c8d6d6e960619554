-- Vehicles whose reservation or saga step is due, locked; rows a batch holds are skipped
-- (the batch decides what is due itself).
SELECT vehicle_id, device_id, qr_code, state
FROM {schema}.vehicles
WHERE next_due_ms <= $1
ORDER BY next_due_ms
LIMIT $2
FOR UPDATE SKIP LOCKED
