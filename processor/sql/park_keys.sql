-- Park keys behind their poison records.
-- $1 projection, $2 version, $3 topics, $4 keys, $5 partitions, $6 offsets, $7 errors.
INSERT INTO projection_parked
    (projection, version, topic, key, poison_partition, poison_offset, error)
SELECT $1, $2, t.topic, t.key, t.partition, t.record_offset, t.error
FROM unnest($3::text[], $4::bytea[], $5::integer[], $6::bigint[], $7::text[])
    AS t(topic, key, partition, record_offset, error)
ON CONFLICT DO NOTHING
