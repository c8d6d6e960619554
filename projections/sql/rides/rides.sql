-- One change per ride of a batch into rides. Each part (requested, started, ended, failed)
-- is taken only when the stored row lacks it; the state only moves up the ranks of
-- ride_state_rank (the first terminal state stays). Rows where nothing is new are not
-- written.
INSERT INTO {schema}.rides AS r (
    ride_id, vehicle_id, rider_id, state, reservation_id, requested_at, started_at, ended_at,
    failed_at, start_lat_e7, start_lon_e7, end_lat_e7, end_lon_e7, duration_ms, distance_m,
    fare_minor, currency, forced, failure_reason, failure_detail, start_command_id,
    unlock_command_id, end_command_id, last_event_id, updated_at
)
SELECT *
FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[],
    $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::integer[], $11::integer[],
    $12::integer[], $13::integer[], $14::bigint[], $15::bigint[], $16::bigint[], $17::text[],
    $18::boolean[], $19::text[], $20::text[], $21::uuid[], $22::uuid[], $23::uuid[],
    $24::uuid[], $25::timestamptz[]
)
ON CONFLICT (ride_id) DO UPDATE SET
    state = CASE
        WHEN {schema}.ride_state_rank(EXCLUDED.state) > {schema}.ride_state_rank(r.state)
        THEN EXCLUDED.state ELSE r.state END,
    -- requested
    requested_at = COALESCE(r.requested_at, EXCLUDED.requested_at),
    reservation_id = CASE WHEN r.requested_at IS NULL
        THEN EXCLUDED.reservation_id ELSE r.reservation_id END,
    start_command_id = CASE WHEN r.requested_at IS NULL
        THEN EXCLUDED.start_command_id ELSE r.start_command_id END,
    unlock_command_id = CASE WHEN r.requested_at IS NULL
        THEN EXCLUDED.unlock_command_id ELSE r.unlock_command_id END,
    -- started
    started_at = COALESCE(r.started_at, EXCLUDED.started_at),
    start_lat_e7 = CASE WHEN r.started_at IS NULL
        THEN EXCLUDED.start_lat_e7 ELSE r.start_lat_e7 END,
    start_lon_e7 = CASE WHEN r.started_at IS NULL
        THEN EXCLUDED.start_lon_e7 ELSE r.start_lon_e7 END,
    -- ended
    ended_at = COALESCE(r.ended_at, EXCLUDED.ended_at),
    end_lat_e7 = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.end_lat_e7 ELSE r.end_lat_e7 END,
    end_lon_e7 = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.end_lon_e7 ELSE r.end_lon_e7 END,
    duration_ms = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.duration_ms ELSE r.duration_ms END,
    distance_m = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.distance_m ELSE r.distance_m END,
    fare_minor = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.fare_minor ELSE r.fare_minor END,
    currency = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.currency ELSE r.currency END,
    forced = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.forced ELSE r.forced END,
    end_command_id = CASE WHEN r.ended_at IS NULL
        THEN EXCLUDED.end_command_id ELSE r.end_command_id END,
    -- failed
    failed_at = COALESCE(r.failed_at, EXCLUDED.failed_at),
    failure_reason = CASE WHEN r.failed_at IS NULL
        THEN EXCLUDED.failure_reason ELSE r.failure_reason END,
    failure_detail = CASE WHEN r.failed_at IS NULL
        THEN EXCLUDED.failure_detail ELSE r.failure_detail END,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = GREATEST(r.updated_at, EXCLUDED.updated_at)
WHERE {schema}.ride_state_rank(EXCLUDED.state) > {schema}.ride_state_rank(r.state)
   OR (r.requested_at IS NULL AND EXCLUDED.requested_at IS NOT NULL)
   OR (r.started_at IS NULL AND EXCLUDED.started_at IS NOT NULL)
   OR (r.ended_at IS NULL AND EXCLUDED.ended_at IS NOT NULL)
   OR (r.failed_at IS NULL AND EXCLUDED.failed_at IS NOT NULL)
