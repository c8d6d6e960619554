SELECT zone, last_command_id FROM {schema}.zones ORDER BY zone_id
