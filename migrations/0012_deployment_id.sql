-- One id per deployment (per database): the processors' consumer groups carry it, so two
-- deployments sharing one Kafka cluster (a staging beside production, two test stacks)
-- never split each other's partitions. Their offsets and claims live in different
-- databases, so a shared group would leave each database without the partitions the
-- other deployment's processes were given.
INSERT INTO fleetlog_meta (key, value) VALUES ('deployment_id', gen_random_uuid()::text)
ON CONFLICT (key) DO NOTHING;
