-- Which keys of a batch are parked. FOR SHARE: a concurrent release or skip of one of
-- them waits for the batch to commit (and a batch waits for a running release), so a
-- parked record is never left behind a key that was just released.
-- $1 projection, $2 version, $3 topics, $4 keys (deduplicated).
SELECT p.topic, p.key
FROM projection_parked p
JOIN unnest($3::text[], $4::bytea[]) AS b(topic, key)
    ON p.topic = b.topic AND p.key = b.key
WHERE p.projection = $1 AND p.version = $2
FOR SHARE OF p
