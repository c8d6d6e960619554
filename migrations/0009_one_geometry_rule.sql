-- One geometry rule in SQL and in Rust (commands/src/geo.rs), checked to agree by
-- tests/tests/foundation/geometry.rs on vertices, edges, hole edges and random points.
--
-- Point in polygon: exact ray casting on the integer e7 coordinates (x = longitude,
-- y = latitude), `numeric` so that products do not round. A polygon is closed: a point on
-- an edge or a vertex of the outer ring is inside, and a point on a hole's edge is still
-- in the polygon (only a hole's interior is out). Rings may repeat their first point or
-- not (the closing edge is added either way). `rings` is the read model's JSON: an array
-- of rings, outer first, each an array of {"lat_e7", "lon_e7"}. Replaces 0006's rule, under
-- which boundary points were outside while the deciders counted them in.
CREATE OR REPLACE FUNCTION fleetlog_point_in_rings(lat_e7 bigint, lon_e7 bigint, rings jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH pts AS (
        SELECT r.n, p.i, count(*) OVER (PARTITION BY r.n) AS len,
               (p.value->>'lon_e7')::numeric AS x, (p.value->>'lat_e7')::numeric AS y
        FROM jsonb_array_elements(rings) WITH ORDINALITY AS r(ring, n),
             jsonb_array_elements(r.ring) WITH ORDINALITY AS p(value, i)
    ), edges AS (
        SELECT a.n, a.x AS x1, a.y AS y1, b.x AS x2, b.y AS y2,
               (b.x - a.x) * (lat_e7 - a.y) - (b.y - a.y) * (lon_e7 - a.x) AS cross_product
        FROM pts a JOIN pts b ON b.n = a.n AND b.i = a.i % a.len + 1
    ), per_ring AS (
        SELECT n,
               bool_or(cross_product = 0
                       AND lon_e7 BETWEEN least(x1, x2) AND greatest(x1, x2)
                       AND lat_e7 BETWEEN least(y1, y2) AND greatest(y1, y2)) AS on_boundary,
               count(*) FILTER (WHERE (y1 > lat_e7) <> (y2 > lat_e7)
                                  AND CASE WHEN y2 > y1 THEN cross_product > 0
                                           ELSE cross_product < 0 END) % 2 = 1 AS crossed_odd
        FROM edges GROUP BY n
    )
    SELECT coalesce(bool_or(n = 1 AND (on_boundary OR crossed_odd)), false)
       AND coalesce(bool_and(n = 1 OR on_boundary OR NOT crossed_odd), true)
    FROM per_ring
$$;

-- Great-circle distance in metres between two points in degrees: haversine with the mean
-- Earth radius (IUGG, 6,371,008.8 m), the formula of `commands::geo::haversine_m`.
CREATE OR REPLACE FUNCTION fleetlog_haversine_m(
    lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 2 * 6371008.8 * asin(least(1, sqrt(
        power(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2))))
$$;
