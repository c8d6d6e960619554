-- The projection runtime (projections/src/runtime/): versions of each read model, the
-- consumed offsets (written in the same transaction as the read-model change), parked
-- keys behind poison records, and the lag table refreshed by running projectors.

-- One row per version of a projection; each writes into the schema proj_<name>_v<N>.
-- At most one version of a projection is live: readers find it with
-- projection_live_schema(name) (or live_schema() in Rust).
CREATE TABLE IF NOT EXISTS projection_versions (
    projection  text        NOT NULL,
    version     integer     NOT NULL CHECK (version > 0),
    state       text        NOT NULL CHECK (state IN ('live', 'rebuilding', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    PRIMARY KEY (projection, version)
);

CREATE UNIQUE INDEX IF NOT EXISTS projection_versions_one_live_idx
    ON projection_versions (projection) WHERE state = 'live';

-- The schema readers of a projection read from, NULL while no version is live.
CREATE OR REPLACE FUNCTION projection_live_schema(name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'proj_' || projection || '_v' || version
    FROM projection_versions
    WHERE projection = name AND state = 'live'
$$;

-- The next offset to read per partition: the only offsets that count. Kafka's committed
-- offsets are advisory.
CREATE TABLE IF NOT EXISTS projection_offsets (
    projection     text        NOT NULL,
    version        integer     NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL CHECK (partition >= 0),
    next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
    last_record_at timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, version, topic, partition)
);

-- Keys parked behind a poison record: their later records wait in
-- projection_parked_records until an operator releases or skips them.
CREATE TABLE IF NOT EXISTS projection_parked (
    projection       text        NOT NULL,
    version          integer     NOT NULL,
    topic            text        NOT NULL,
    key              bytea       NOT NULL,
    poison_partition integer     NOT NULL,
    poison_offset    bigint      NOT NULL,
    error            text        NOT NULL,
    parked_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, version, topic, key)
);

-- The poison record itself (poison = true) and every later record of a parked key.
-- headers: a JSON array of [name, hex value] pairs, in the record's order.
CREATE TABLE IF NOT EXISTS projection_parked_records (
    projection   text        NOT NULL,
    version      integer     NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    key          bytea       NOT NULL,
    payload      bytea,
    headers      jsonb       NOT NULL DEFAULT '[]',
    timestamp_ms bigint,
    poison       boolean     NOT NULL DEFAULT false,
    error        text,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, version, topic, partition, "offset")
);

CREATE INDEX IF NOT EXISTS projection_parked_records_key_idx
    ON projection_parked_records (projection, version, topic, key, partition, "offset");

-- How far behind each running projector is, refreshed every few seconds.
CREATE TABLE IF NOT EXISTS projection_lag (
    projection     text        NOT NULL,
    version        integer     NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    next_offset    bigint      NOT NULL,
    high_watermark bigint      NOT NULL,
    lag_records    bigint      NOT NULL,
    last_record_at timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, version, topic, partition)
);
