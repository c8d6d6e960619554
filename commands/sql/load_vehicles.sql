-- The batch's vehicles (by id, device or QR code), locked until the batch commits so the
-- ticker cannot decide them at the same time.
SELECT vehicle_id, device_id, qr_code, state
FROM {schema}.vehicles
WHERE vehicle_id = ANY($1::uuid[]) OR device_id = ANY($2::text[]) OR qr_code = ANY($3::text[])
ORDER BY vehicle_id
FOR UPDATE
