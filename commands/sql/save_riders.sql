-- A rider already holding another vehicle violates the primary key: the batch fails and is
-- retried, and the retry sees the rider busy.
INSERT INTO {schema}.riders (rider_id, vehicle_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[])
