-- Move the stored offsets of a batch's partitions forward, in the batch's transaction.
-- A row is only moved from the offset this process last stored (`expected`; NULL: no
-- row yet), so two processes that consume the same partition by mistake cannot both
-- commit: the caller compares the returned count with the number of partitions.
-- $1 projection, $2 version, $3 topics, $4 partitions, $5 next offsets,
-- $6 last record timestamps (ms), $7 expected current offsets.
WITH input AS (
    SELECT *
    FROM unnest($3::text[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[])
        AS t(topic, partition, next_offset, ts_ms, expected)
),
updated AS (
    UPDATE projection_offsets o
    SET next_offset = i.next_offset,
        last_record_at = COALESCE(to_timestamp(i.ts_ms / 1000.0), o.last_record_at),
        updated_at = now()
    FROM input i
    WHERE o.projection = $1 AND o.version = $2
      AND o.topic = i.topic AND o.partition = i.partition
      AND o.next_offset = i.expected
    RETURNING 1
),
inserted AS (
    INSERT INTO projection_offsets
        (projection, version, topic, partition, next_offset, last_record_at)
    SELECT $1, $2, topic, partition, next_offset, to_timestamp(ts_ms / 1000.0)
    FROM input
    WHERE expected IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)
