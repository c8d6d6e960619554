-- Partition claims of the processor runtime: every assignment of a partition to a
-- process raises its owner epoch; a batch commits only while its partitions' epochs are
-- still the ones its process claimed (fencing of a process whose partitions moved).
CREATE TABLE IF NOT EXISTS projection_claims (
    projection text        NOT NULL,
    version    integer     NOT NULL,
    topic      text        NOT NULL,
    partition  integer     NOT NULL CHECK (partition >= 0),
    epoch      bigint      NOT NULL CHECK (epoch > 0),
    owner      text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, version, topic, partition)
);
