DELETE FROM {schema}.outbox WHERE seq = ANY($1::bigint[])
