-- Sessions end when an account changes: a token version every access token carries
-- (bumped by a password change or a disable, checked on refresh and by live streams), the
-- time an account was disabled, and the start of each refresh family (for the absolute
-- session lifetime; families older than this migration count from it).

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS token_version integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS disabled_at timestamptz;

ALTER TABLE refresh_tokens
    ADD COLUMN IF NOT EXISTS family_started_at timestamptz NOT NULL DEFAULT now();
