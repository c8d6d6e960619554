-- The newest VehicleRegistered per device of a batch into devices (device ↔ vehicle) with
-- its registered protocol; the protocol seen on the wire (wire_protocol) wins over it.
INSERT INTO {schema}.devices AS d (
    device_id, vehicle_id, protocol, registered_protocol, vehicle_since_ms, vehicle_event_id,
    last_event_id, updated_at
)
SELECT t.device_id, t.vehicle_id, t.protocol, t.protocol, t.at_ms, t.event_id, t.event_id, now()
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[], $5::uuid[])
    AS t(device_id, vehicle_id, protocol, at_ms, event_id)
ON CONFLICT (device_id) DO UPDATE SET
    vehicle_id = EXCLUDED.vehicle_id,
    registered_protocol = EXCLUDED.registered_protocol,
    protocol = COALESCE(d.wire_protocol, EXCLUDED.registered_protocol),
    vehicle_since_ms = EXCLUDED.vehicle_since_ms,
    vehicle_event_id = EXCLUDED.vehicle_event_id,
    last_event_id = EXCLUDED.last_event_id,
    updated_at = EXCLUDED.updated_at
WHERE d.vehicle_since_ms IS NULL
   OR (EXCLUDED.vehicle_since_ms, EXCLUDED.vehicle_event_id)
      > (d.vehicle_since_ms, d.vehicle_event_id)
