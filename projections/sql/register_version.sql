-- A projection version is live when it is the first of its projection, otherwise it
-- starts as `rebuilding` until a rebuild switches it. Existing rows are left alone.
INSERT INTO projection_versions (projection, version, state, switched_at)
SELECT $1, $2, s.state, CASE WHEN s.state = 'live' THEN now() END
FROM (
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM projection_versions WHERE projection = $1 AND state = 'live'
    ) THEN 'rebuilding' ELSE 'live' END AS state
) AS s
ON CONFLICT (projection, version) DO NOTHING
