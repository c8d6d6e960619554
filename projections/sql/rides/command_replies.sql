-- The first terminal device reply per correlation id of a batch into command_replies; a
-- stored one stays.
INSERT INTO {schema}.command_replies (
    command_id, device_id, outcome, reply_text, status, code, message, replied_at, event_id
)
SELECT *
FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::timestamptz[], $9::uuid[]
)
ON CONFLICT (command_id) DO NOTHING
