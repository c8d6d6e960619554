-- The commands processor's state, in its schema (proj_commands_v1). It moves only inside
-- the projection runtime's transaction, together with the consumed offsets.

-- One row per vehicle id ever commanded: the vehicle decider's state (serde JSON of
-- fleetlog_commands::vehicle::Vehicle), and the registration facts other keys need.
CREATE TABLE IF NOT EXISTS {schema}.vehicles (
    vehicle_id  uuid PRIMARY KEY,
    device_id   text UNIQUE,
    qr_code     text UNIQUE,
    state       jsonb NOT NULL,
    next_due_ms bigint,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS vehicles_next_due_idx
    ON {schema}.vehicles (next_due_ms) WHERE next_due_ms IS NOT NULL;

-- The rider index: one active reservation or ride per rider, across vehicles (the primary
-- key is the rule).
CREATE TABLE IF NOT EXISTS {schema}.riders (
    rider_id   uuid PRIMARY KEY,
    vehicle_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS riders_vehicle_idx ON {schema}.riders (vehicle_id);

-- Zones as the deciders see them (serde JSON of fleetlog_commands::Zone).
CREATE TABLE IF NOT EXISTS {schema}.zones (
    zone_id         uuid PRIMARY KEY,
    zone            jsonb NOT NULL,
    last_command_id uuid NOT NULL
);

-- Decided events and downlinks not yet on the log, in decision order. The relay appends
-- them and deletes them once the broker acknowledged.
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    seq            bigserial PRIMARY KEY,
    topic          text NOT NULL,
    record_key     text NOT NULL,
    payload        bytea NOT NULL,
    event_id       uuid NOT NULL,
    event_type     text NOT NULL,
    source         text NOT NULL,
    subject        text NOT NULL,
    correlation_id uuid NOT NULL,
    causation_id   uuid,
    event_time     timestamptz NOT NULL
);
