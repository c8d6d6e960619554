-- The records parked behind one key, in log order.
SELECT partition, "offset", payload, headers::text, timestamp_ms, poison
FROM projection_parked_records
WHERE projection = $1 AND version = $2 AND topic = $3 AND key = $4
ORDER BY partition, "offset"
