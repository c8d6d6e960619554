-- Stored device replies applied to the commands of $1 (accepted or replied to in this batch):
-- only to a command that is still accepted and that no ride names as its start or end
-- command (a ride command's outcome comes from its ride events; remote lock, unlock and
-- locate wait on the device alone). Runs after rides and commands, so links made in the
-- same batch count.
UPDATE {schema}.commands AS c SET
    status = r.status,
    outcome_source = 'device',
    code = r.code,
    message = r.message,
    finished_at = r.replied_at,
    last_event_id = r.event_id,
    updated_at = GREATEST(c.updated_at, r.replied_at)
FROM {schema}.command_replies AS r
WHERE r.command_id = ANY($1::uuid[])
  AND c.command_id = r.command_id
  AND c.status = 'accepted'
  AND NOT EXISTS (SELECT 1 FROM {schema}.rides x WHERE x.start_command_id = c.command_id)
  AND NOT EXISTS (SELECT 1 FROM {schema}.rides x WHERE x.end_command_id = c.command_id)
