-- Whether the point (lat_e7, lon_e7) lies in a zone of the fleet read model, given its
-- `rings` (a JSON array of rings, outer ring first, then holes; each ring closed, of
-- {"lat_e7", "lon_e7"} points): inside the outer ring and outside every hole, by ray
-- casting — the rule the deciders apply in Rust (commands/src/geo.rs). Used by the
-- operator's fleet list (`GET /v1/admin/vehicles?zone=`).
CREATE OR REPLACE FUNCTION fleetlog_point_in_rings(lat_e7 bigint, lon_e7 bigint, rings jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH pts AS (
        SELECT r.n, p.i,
               (p.value->>'lat_e7')::numeric AS lat, (p.value->>'lon_e7')::numeric AS lon
        FROM jsonb_array_elements(rings) WITH ORDINALITY AS r(ring, n),
             jsonb_array_elements(r.ring) WITH ORDINALITY AS p(value, i)
    ), edges AS (
        SELECT a.n, a.lat AS lat1, a.lon AS lon1, b.lat AS lat2, b.lon AS lon2
        FROM pts a JOIN pts b ON b.n = a.n AND b.i = a.i + 1
    ), per_ring AS (
        SELECT n, count(*) FILTER (WHERE CASE
                   WHEN (lat1 > lat_e7) <> (lat2 > lat_e7)
                   THEN lon_e7 < (lon2 - lon1) * (lat_e7 - lat1) / (lat2 - lat1) + lon1
                   ELSE false END) AS crossings
        FROM edges GROUP BY n
    )
    SELECT coalesce(bool_and(CASE WHEN n = 1 THEN crossings % 2 = 1
                                  ELSE crossings % 2 = 0 END)
                    AND bool_or(n = 1), false)
    FROM per_ring
$$;
