-- The newest session event per device of a batch into devices: online, since when, on which
-- gateway, and the protocol seen on connect. Only strictly newer (at_ms, event id) applies,
-- so an old disconnect processed late does not take a device offline. The protocol is the
-- one exception: a device without one takes it from a connect even when that is older than
-- the stored session, so the protocol does not depend on the order sessions are applied in.
INSERT INTO {schema}.devices AS d (
    device_id, protocol, gateway_id, online, online_since_ms, session_event_id, last_event_id,
    updated_at
)
SELECT t.device_id, t.protocol, t.gateway_id, t.online, t.at_ms, t.event_id, t.event_id, now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::uuid[])
    AS t(device_id, protocol, gateway_id, online, at_ms, event_id)
ON CONFLICT (device_id) DO UPDATE SET
    protocol = CASE WHEN d.online_since_ms IS NULL
                      OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id)
                         > (d.online_since_ms, d.session_event_id)
                    THEN COALESCE(EXCLUDED.protocol, d.protocol)
                    ELSE COALESCE(d.protocol, EXCLUDED.protocol) END,
    gateway_id = CASE WHEN d.online_since_ms IS NULL
                        OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id)
                           > (d.online_since_ms, d.session_event_id)
                      THEN EXCLUDED.gateway_id ELSE d.gateway_id END,
    online = CASE WHEN d.online_since_ms IS NULL
                    OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id)
                       > (d.online_since_ms, d.session_event_id)
                  THEN EXCLUDED.online ELSE d.online END,
    online_since_ms = GREATEST(EXCLUDED.online_since_ms, d.online_since_ms),
    session_event_id = CASE WHEN d.online_since_ms IS NULL
                              OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id)
                                 > (d.online_since_ms, d.session_event_id)
                            THEN EXCLUDED.session_event_id ELSE d.session_event_id END,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
WHERE d.online_since_ms IS NULL
   OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id)
      > (d.online_since_ms, d.session_event_id)
   OR (d.protocol IS NULL AND EXCLUDED.protocol IS NOT NULL)
