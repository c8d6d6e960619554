-- Refresh projection_lag from the broker's watermarks and the stored offsets, and
-- return each partition's lag for the metrics. A partition with no stored offset is read
-- from its low watermark. Lag in seconds is 0 when caught up.
-- $1 projection, $2 version, $3 topics, $4 partitions, $5 low, $6 high watermarks.
WITH input AS (
    SELECT w.topic, w.partition, w.high,
           COALESCE(o.next_offset, w.low) AS next_offset,
           o.last_record_at
    FROM unnest($3::text[], $4::integer[], $5::bigint[], $6::bigint[])
        AS w(topic, partition, low, high)
    LEFT JOIN projection_offsets o
        ON o.projection = $1 AND o.version = $2
       AND o.topic = w.topic AND o.partition = w.partition
)
INSERT INTO projection_lag AS l
    (projection, version, topic, partition, next_offset, high_watermark, lag_records,
     last_record_at, updated_at)
SELECT $1, $2, topic, partition, next_offset, high, GREATEST(high - next_offset, 0),
       last_record_at, now()
FROM input
ON CONFLICT (projection, version, topic, partition) DO UPDATE
SET next_offset = EXCLUDED.next_offset,
    high_watermark = EXCLUDED.high_watermark,
    lag_records = EXCLUDED.lag_records,
    last_record_at = EXCLUDED.last_record_at,
    updated_at = now()
RETURNING l.topic, l.partition, l.lag_records,
    CASE WHEN l.lag_records = 0 THEN 0.0::float8
         ELSE extract(epoch FROM now() - l.last_record_at)::float8 END AS lag_seconds
