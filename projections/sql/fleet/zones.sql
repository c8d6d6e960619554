-- The newest definition per zone of a batch into zones. A stored definition is replaced only
-- by a strictly newer one by (defined_at_ms, event id), so a late or re-sent ZoneDefined
-- changes nothing.
INSERT INTO {schema}.zones AS z (
    zone_id, kind, name, rings, speed_limit_kmh, defined_at_ms, last_event_id, updated_at
)
SELECT t.zone_id, t.kind, t.name, t.rings, t.speed_limit_kmh, t.defined_at_ms, t.event_id, now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::integer[], $6::bigint[],
            $7::uuid[])
    AS t(zone_id, kind, name, rings, speed_limit_kmh, defined_at_ms, event_id)
ON CONFLICT (zone_id) DO UPDATE SET
    kind = EXCLUDED.kind,
    name = EXCLUDED.name,
    rings = EXCLUDED.rings,
    speed_limit_kmh = EXCLUDED.speed_limit_kmh,
    defined_at_ms = EXCLUDED.defined_at_ms,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
WHERE (EXCLUDED.defined_at_ms, EXCLUDED.last_event_id) > (z.defined_at_ms, z.last_event_id)
