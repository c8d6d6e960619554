-- The build a serving projector writes: the live one, or, when none is live, a new live
-- build numbered with the code's shape or one past every existing build, whichever is
-- higher (a fresh database gets version = shape, as before rebuilds existed). Nothing
-- when none is live but a build for serving is in progress (`reset`): the caller waits
-- for its switch. Run under the projection's advisory lock.
-- $1 projection, $2 the code's shape.
WITH live AS (
    SELECT version, COALESCE(shape, version) AS shape
    FROM projection_versions
    WHERE projection = $1 AND state = 'live'
),
created AS (
    INSERT INTO projection_versions (projection, version, state, switched_at, shape)
    SELECT $1,
           GREATEST($2, COALESCE((SELECT max(version) FROM projection_versions
                                  WHERE projection = $1), 0) + 1),
           'live', now(), $2
    WHERE NOT EXISTS (SELECT 1 FROM live)
      AND NOT EXISTS (SELECT 1 FROM projection_versions
                      WHERE projection = $1 AND state = 'rebuilding' AND purpose = 'serve')
    RETURNING version, shape
)
SELECT version, shape FROM live
UNION ALL
SELECT version, shape FROM created
