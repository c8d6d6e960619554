-- One change per command of a batch's fleet events (decisions and ride outcomes) into
-- commands, upserted even when an outcome comes before the decision. The status part
-- (status, outcome_source, code, message, finished_at) is replaced only by a strictly higher
-- command_status_rank, so a terminal status never regresses to accepted; vehicle, ride and
-- decision time are filled once.
INSERT INTO {schema}.commands AS c (
    command_id, vehicle_id, status, outcome_source, code, message, ride_id, decided_at,
    finished_at, last_event_id, updated_at
)
SELECT *
FROM unnest(
    $1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[],
    $8::timestamptz[], $9::timestamptz[], $10::uuid[], $11::timestamptz[]
)
ON CONFLICT (command_id) DO UPDATE SET
    status = CASE WHEN {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
                       > {schema}.command_status_rank(c.status, c.outcome_source)
        THEN EXCLUDED.status ELSE c.status END,
    outcome_source = CASE
        WHEN {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
             > {schema}.command_status_rank(c.status, c.outcome_source)
        THEN EXCLUDED.outcome_source ELSE c.outcome_source END,
    code = CASE WHEN {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
                     > {schema}.command_status_rank(c.status, c.outcome_source)
        THEN EXCLUDED.code ELSE c.code END,
    message = CASE WHEN {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
                        > {schema}.command_status_rank(c.status, c.outcome_source)
        THEN EXCLUDED.message ELSE c.message END,
    finished_at = CASE
        WHEN {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
             > {schema}.command_status_rank(c.status, c.outcome_source)
        THEN EXCLUDED.finished_at ELSE c.finished_at END,
    vehicle_id = COALESCE(c.vehicle_id, EXCLUDED.vehicle_id),
    ride_id = COALESCE(c.ride_id, EXCLUDED.ride_id),
    decided_at = COALESCE(c.decided_at, EXCLUDED.decided_at),
    last_event_id = EXCLUDED.last_event_id,
    updated_at = GREATEST(c.updated_at, EXCLUDED.updated_at)
WHERE {schema}.command_status_rank(EXCLUDED.status, EXCLUDED.outcome_source)
      > {schema}.command_status_rank(c.status, c.outcome_source)
   OR (c.decided_at IS NULL AND EXCLUDED.decided_at IS NOT NULL)
   OR (c.ride_id IS NULL AND EXCLUDED.ride_id IS NOT NULL)
   OR (c.vehicle_id IS NULL AND EXCLUDED.vehicle_id IS NOT NULL)
