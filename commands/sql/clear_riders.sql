DELETE FROM {schema}.riders WHERE vehicle_id = ANY($1::uuid[])
