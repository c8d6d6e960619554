-- Forget one build of a projection (its schema is dropped by the caller in the same
-- transaction): its offsets, claims, lag, parked keys and records, and its version row.
-- $1 projection, $2 version.
WITH offsets AS (
    DELETE FROM projection_offsets WHERE projection = $1 AND version = $2
),
claims AS (
    DELETE FROM projection_claims WHERE projection = $1 AND version = $2
),
lag AS (
    DELETE FROM projection_lag WHERE projection = $1 AND version = $2
),
parked AS (
    DELETE FROM projection_parked WHERE projection = $1 AND version = $2
),
parked_records AS (
    DELETE FROM projection_parked_records WHERE projection = $1 AND version = $2
)
DELETE FROM projection_versions WHERE projection = $1 AND version = $2
