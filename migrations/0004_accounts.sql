-- Accounts (riders sign up; operators and admins are created by `fleetlog admin create`),
-- their refresh tokens, and MDS provider tokens. Tokens are stored only as SHA-256.

CREATE TABLE IF NOT EXISTS accounts (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('rider', 'operator', 'admin')),
    -- Base32 RFC 6238 secret; NULL when login needs no TOTP code.
    totp_secret    text,
    -- Step (Unix time / 30) of the last TOTP code accepted: a code works only once.
    totp_last_step bigint,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One family per login; each refresh revokes the presented token and adds the next.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    id         uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_account_id ON refresh_tokens (account_id);

CREATE TABLE IF NOT EXISTS provider_tokens (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz,
    revoked_at timestamptz,
    created_by uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
