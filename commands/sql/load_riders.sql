SELECT rider_id, vehicle_id FROM {schema}.riders WHERE rider_id = ANY($1::uuid[])
