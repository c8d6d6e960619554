-- The newest registration and state change per vehicle of a batch into vehicles. Either part
-- may be absent (NULL columns); each applies only when strictly newer by (occurred_at_ms,
-- event id) than the stored one. last_event_id is the newest part that applied.
INSERT INTO {schema}.vehicles AS v (
    vehicle_id, device_id, protocol, model, qr_code, registered_at_ms, registered_event_id,
    state, state_since_ms, state_event_id, last_event_id, updated_at
)
SELECT t.vehicle_id,
       CASE WHEN f.reg_newer THEN t.device_id ELSE cur.device_id END,
       CASE WHEN f.reg_newer THEN t.protocol ELSE cur.protocol END,
       CASE WHEN f.reg_newer THEN t.model ELSE cur.model END,
       CASE WHEN f.reg_newer THEN t.qr_code ELSE cur.qr_code END,
       CASE WHEN f.reg_newer THEN t.registered_at_ms ELSE cur.registered_at_ms END,
       CASE WHEN f.reg_newer THEN t.registered_event_id ELSE cur.registered_event_id END,
       CASE WHEN f.state_newer THEN t.state ELSE cur.state END,
       CASE WHEN f.state_newer THEN t.state_since_ms ELSE cur.state_since_ms END,
       CASE WHEN f.state_newer THEN t.state_event_id ELSE cur.state_event_id END,
       CASE WHEN f.state_newer AND (NOT f.reg_newer
                              OR (t.state_since_ms, t.state_event_id)
                                 > (t.registered_at_ms, t.registered_event_id))
            THEN t.state_event_id ELSE t.registered_event_id END,
       now()
FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::uuid[],
    $8::text[], $9::bigint[], $10::uuid[]
) AS t(vehicle_id, device_id, protocol, model, qr_code, registered_at_ms, registered_event_id,
       state, state_since_ms, state_event_id)
LEFT JOIN {schema}.vehicles cur ON cur.vehicle_id = t.vehicle_id
CROSS JOIN LATERAL (
    SELECT t.registered_at_ms IS NOT NULL
               AND (cur.registered_at_ms IS NULL
                    OR (t.registered_at_ms, t.registered_event_id)
                       > (cur.registered_at_ms, cur.registered_event_id)) AS reg_newer,
           t.state_since_ms IS NOT NULL
               AND (cur.state_since_ms IS NULL
                    OR (t.state_since_ms, t.state_event_id)
                       > (cur.state_since_ms, cur.state_event_id)) AS state_newer
) f
WHERE f.reg_newer OR f.state_newer
ON CONFLICT (vehicle_id) DO UPDATE SET
    device_id = EXCLUDED.device_id,
    protocol = EXCLUDED.protocol,
    model = EXCLUDED.model,
    qr_code = EXCLUDED.qr_code,
    registered_at_ms = EXCLUDED.registered_at_ms,
    registered_event_id = EXCLUDED.registered_event_id,
    state = EXCLUDED.state,
    state_since_ms = EXCLUDED.state_since_ms,
    state_event_id = EXCLUDED.state_event_id,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
