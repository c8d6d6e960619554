-- Claim partitions for a process: each one's owner epoch goes up by one (1 for a first
-- claim). Waits for the share lock of a batch in flight on them (`ensure_held`), so the
-- offsets read after this statement include that batch.
-- $1 projection, $2 version, $3 topics, $4 partitions, $5 owner.
INSERT INTO projection_claims (projection, version, topic, partition, epoch, owner)
SELECT $1, $2, topic, partition, 1, $5
FROM unnest($3::text[], $4::integer[]) AS t(topic, partition)
ORDER BY topic, partition
ON CONFLICT (projection, version, topic, partition) DO UPDATE
SET epoch = projection_claims.epoch + 1,
    owner = EXCLUDED.owner,
    claimed_at = now()
RETURNING topic, partition, epoch
