-- The newest session event per device of a batch into devices: online, since when, on which
-- gateway. Only strictly newer (at_ms, event id) applies, so an old disconnect processed
-- late does not take a device offline. The protocol seen on the newest connect moves on its
-- own (at_ms, event id) order (wire_protocol*), whatever disconnects came after it, and
-- wins over the registered one: the same result however the log was cut into batches.
INSERT INTO {schema}.devices AS d (
    device_id, gateway_id, online, online_since_ms, session_event_id, last_event_id,
    wire_protocol, wire_protocol_ms, wire_protocol_event_id, protocol, updated_at
)
SELECT t.device_id, t.gateway_id, t.online, t.at_ms, t.event_id, t.event_id,
       t.wire_protocol, t.wire_ms, t.wire_event_id, t.wire_protocol, now()
FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[], $5::uuid[], $6::text[],
            $7::bigint[], $8::uuid[])
    AS t(device_id, gateway_id, online, at_ms, event_id, wire_protocol, wire_ms, wire_event_id)
ON CONFLICT (device_id) DO UPDATE SET
    gateway_id = CASE WHEN
        (d.online_since_ms IS NULL OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id) > (d.online_since_ms, d.session_event_id))
        THEN EXCLUDED.gateway_id ELSE d.gateway_id END,
    online = CASE WHEN
        (d.online_since_ms IS NULL OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id) > (d.online_since_ms, d.session_event_id))
        THEN EXCLUDED.online ELSE d.online END,
    online_since_ms = CASE WHEN
        (d.online_since_ms IS NULL OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id) > (d.online_since_ms, d.session_event_id))
        THEN EXCLUDED.online_since_ms ELSE d.online_since_ms END,
    session_event_id = CASE WHEN
        (d.online_since_ms IS NULL OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id) > (d.online_since_ms, d.session_event_id))
        THEN EXCLUDED.session_event_id ELSE d.session_event_id END,
    wire_protocol = CASE WHEN
        (EXCLUDED.wire_protocol_ms IS NOT NULL AND (d.wire_protocol_ms IS NULL OR (EXCLUDED.wire_protocol_ms, EXCLUDED.wire_protocol_event_id) > (d.wire_protocol_ms, d.wire_protocol_event_id)))
        THEN EXCLUDED.wire_protocol ELSE d.wire_protocol END,
    wire_protocol_ms = CASE WHEN
        (EXCLUDED.wire_protocol_ms IS NOT NULL AND (d.wire_protocol_ms IS NULL OR (EXCLUDED.wire_protocol_ms, EXCLUDED.wire_protocol_event_id) > (d.wire_protocol_ms, d.wire_protocol_event_id)))
        THEN EXCLUDED.wire_protocol_ms ELSE d.wire_protocol_ms END,
    wire_protocol_event_id = CASE WHEN
        (EXCLUDED.wire_protocol_ms IS NOT NULL AND (d.wire_protocol_ms IS NULL OR (EXCLUDED.wire_protocol_ms, EXCLUDED.wire_protocol_event_id) > (d.wire_protocol_ms, d.wire_protocol_event_id)))
        THEN EXCLUDED.wire_protocol_event_id ELSE d.wire_protocol_event_id END,
    protocol = COALESCE(CASE WHEN
        (EXCLUDED.wire_protocol_ms IS NOT NULL AND (d.wire_protocol_ms IS NULL OR (EXCLUDED.wire_protocol_ms, EXCLUDED.wire_protocol_event_id) > (d.wire_protocol_ms, d.wire_protocol_event_id)))
        THEN EXCLUDED.wire_protocol ELSE d.wire_protocol END, d.registered_protocol),
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
WHERE (d.online_since_ms IS NULL OR (EXCLUDED.online_since_ms, EXCLUDED.session_event_id) > (d.online_since_ms, d.session_event_id))
   OR (EXCLUDED.wire_protocol_ms IS NOT NULL AND (d.wire_protocol_ms IS NULL OR (EXCLUDED.wire_protocol_ms, EXCLUDED.wire_protocol_event_id) > (d.wire_protocol_ms, d.wire_protocol_event_id)))
