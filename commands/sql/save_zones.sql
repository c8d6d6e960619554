INSERT INTO {schema}.zones (zone_id, zone, last_command_id)
SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::uuid[])
ON CONFLICT (zone_id) DO UPDATE SET zone = EXCLUDED.zone, last_command_id = EXCLUDED.last_command_id
