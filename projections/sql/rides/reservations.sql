-- One change per reservation of a batch into reservations. The made part is taken only when
-- the stored row lacks it; the end (state, ended_at, who cancelled, why, the ride it was
-- converted into) only when the stored row has not ended, so the first end stays.
INSERT INTO {schema}.reservations AS r (
    reservation_id, vehicle_id, rider_id, state, made_at, expires_at, ended_at,
    cancelled_by_id, cancelled_by_role, reason, ride_id, last_event_id, updated_at
)
SELECT *
FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[],
    $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::uuid[], $12::uuid[],
    $13::timestamptz[]
)
ON CONFLICT (reservation_id) DO UPDATE SET
    made_at = COALESCE(r.made_at, EXCLUDED.made_at),
    expires_at = CASE WHEN r.made_at IS NULL THEN EXCLUDED.expires_at ELSE r.expires_at END,
    state = CASE WHEN r.ended_at IS NULL AND EXCLUDED.ended_at IS NOT NULL
        THEN EXCLUDED.state ELSE r.state END,
    ended_at = COALESCE(r.ended_at, EXCLUDED.ended_at),
    cancelled_by_id = CASE WHEN r.ended_at IS NULL
        THEN EXCLUDED.cancelled_by_id ELSE r.cancelled_by_id END,
    cancelled_by_role = CASE WHEN r.ended_at IS NULL
        THEN EXCLUDED.cancelled_by_role ELSE r.cancelled_by_role END,
    reason = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.reason ELSE r.reason END,
    ride_id = CASE WHEN r.ended_at IS NULL THEN EXCLUDED.ride_id ELSE r.ride_id END,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = GREATEST(r.updated_at, EXCLUDED.updated_at)
WHERE (r.made_at IS NULL AND EXCLUDED.made_at IS NOT NULL)
   OR (r.ended_at IS NULL AND EXCLUDED.ended_at IS NOT NULL)
