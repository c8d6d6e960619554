-- Rebuilds of projections (`fleetlog projections rebuild|reset|verify`, see
-- docs/projections.md). A version number is a *build* of a projection: version N+1 is
-- built from offset 0 in proj_<name>_v<N+1> beside the live version N, then switched live
-- in one transaction. The shape of the read model (the code's `Projection::version()`) is
-- recorded per build; NULL for builds made before this migration, whose shape was their
-- version number.

ALTER TABLE projection_versions
    ADD COLUMN IF NOT EXISTS shape      integer CHECK (shape > 0),
    -- serve: a build meant to go live; verify: a scratch build compared with the live one
    -- by `fleetlog projections verify`, never switched live.
    ADD COLUMN IF NOT EXISTS purpose    text NOT NULL DEFAULT 'serve',
    ADD COLUMN IF NOT EXISTS retired_at timestamptz,
    -- When the schema of a retired version may be dropped (its keep time has passed).
    ADD COLUMN IF NOT EXISTS drop_after timestamptz,
    -- The bulk load of a fresh build: the offsets it runs to (the log's end when the build
    -- started; JSON [[topic, partition, offset], …]) and when it finished (then the
    -- incremental path takes over).
    ADD COLUMN IF NOT EXISTS bulk_end     jsonb,
    ADD COLUMN IF NOT EXISTS bulk_done_at timestamptz;

DO $$
BEGIN
    ALTER TABLE projection_versions
        ADD CONSTRAINT projection_versions_purpose_check
        CHECK (purpose IN ('serve', 'verify'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- At most one build per projection and purpose is in progress, so a rebuild (or verify)
-- that was killed finds its build again instead of starting another.
CREATE UNIQUE INDEX IF NOT EXISTS projection_versions_one_build_idx
    ON projection_versions (projection, purpose) WHERE state = 'rebuilding';
