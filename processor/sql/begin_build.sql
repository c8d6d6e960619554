-- Find the build of this purpose in progress, or register a new one numbered one past
-- every existing build. Run under the projection's advisory lock.
-- $1 projection, $2 purpose ('serve' | 'verify'), $3 the code's shape.
-- Returns the version and whether it was found (resumed) rather than created.
WITH found AS (
    SELECT version, true AS resumed
    FROM projection_versions
    WHERE projection = $1 AND purpose = $2 AND state = 'rebuilding'
),
created AS (
    INSERT INTO projection_versions (projection, version, state, shape, purpose)
    SELECT $1,
           COALESCE((SELECT max(version) FROM projection_versions WHERE projection = $1), 0) + 1,
           'rebuilding', $3, $2
    WHERE NOT EXISTS (SELECT 1 FROM found)
    RETURNING version, false AS resumed
)
SELECT version, resumed FROM found
UNION ALL
SELECT version, resumed FROM created
