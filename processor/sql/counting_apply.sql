-- Apply one batch of the counting projection set-wise: one statement for both tables.
-- `seen` dedupes on the record id carried in the payload (never on offsets); `records`
-- and `total` count each id once, `deliveries` counts every record handed to apply (so
-- tests can see a batch applied twice). $1 ids, $2 keys, $3 numbers, in batch order.
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY
        AS t(id, key, n, ord)
),
first_seen AS (
    SELECT DISTINCT ON (id) id, key, n, ord FROM input ORDER BY id, ord
),
fresh AS (
    INSERT INTO {schema}.seen (id) SELECT id FROM first_seen
    ON CONFLICT DO NOTHING
    RETURNING id
),
delivered AS (
    SELECT key, count(*) AS deliveries FROM input GROUP BY key
),
counted AS (
    SELECT s.key, count(*) AS records, sum(s.n) AS total,
           (array_agg(s.id ORDER BY s.ord DESC))[1] AS last_id
    FROM first_seen s JOIN fresh f ON f.id = s.id
    GROUP BY s.key
)
INSERT INTO {schema}.counts AS cur (key, records, total, deliveries, last_id)
SELECT d.key, COALESCE(c.records, 0), COALESCE(c.total, 0), d.deliveries,
       COALESCE(c.last_id, '')
FROM delivered d LEFT JOIN counted c ON c.key = d.key
ON CONFLICT (key) DO UPDATE
SET records = cur.records + EXCLUDED.records,
    total = cur.total + EXCLUDED.total,
    deliveries = cur.deliveries + EXCLUDED.deliveries,
    last_id = CASE WHEN EXCLUDED.records > 0 THEN EXCLUDED.last_id ELSE cur.last_id END
