-- Store records of parked keys (and the poison records themselves) set-wise.
-- $1 projection, $2 version, then one array per column.
INSERT INTO projection_parked_records
    (projection, version, topic, partition, "offset", key, payload, headers,
     timestamp_ms, poison, error)
SELECT $1, $2, t.topic, t.partition, t.record_offset, t.key, t.payload, t.headers::jsonb,
       t.timestamp_ms, t.poison, t.error
FROM unnest($3::text[], $4::integer[], $5::bigint[], $6::bytea[], $7::bytea[], $8::text[],
            $9::bigint[], $10::boolean[], $11::text[])
    AS t(topic, partition, record_offset, key, payload, headers, timestamp_ms, poison, error)
ON CONFLICT DO NOTHING
