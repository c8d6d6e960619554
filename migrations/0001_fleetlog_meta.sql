-- Bookkeeping shared by every service: one row per applied setup step, so that a
-- fresh stack can tell it has been initialised (and tests can check migrations ran).
CREATE TABLE IF NOT EXISTS fleetlog_meta (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO fleetlog_meta (key, value) VALUES ('schema_generation', '1')
ON CONFLICT (key) DO NOTHING;
