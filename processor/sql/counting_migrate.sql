-- The counting test projection's read model (schema from the runtime).
CREATE TABLE IF NOT EXISTS {schema}.counts (
    key        text   PRIMARY KEY,
    records    bigint NOT NULL,
    total      bigint NOT NULL,
    deliveries bigint NOT NULL,
    last_id    text   NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.seen (
    id text PRIMARY KEY
);
