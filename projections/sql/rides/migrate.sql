-- The rides read model (schema from the runtime, e.g. proj_rides_v1): rides, reservations and
-- the outcome of every app command, from fleet.events.v1 and scooter.replies.v1. Every time
-- is an event time (occurred_at_ms of a fleet event, at_ms of a device reply), never the
-- wall clock, so a rebuild writes the same rows. last_event_id is the ce_id of the last
-- event that changed a row.

-- Precedence of a ride's state: requested < started < ended | failed (never backwards).
CREATE OR REPLACE FUNCTION {schema}.ride_state_rank(state text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE state WHEN 'requested' THEN 1 WHEN 'started' THEN 2 ELSE 3 END
$$;

-- Precedence of a command's status: accepted 1 < an outcome from a device reply 2 < a
-- rejection or an outcome from a ride event 3. A higher rank replaces a lower one; on equal
-- ranks the stored status stays.
CREATE OR REPLACE FUNCTION {schema}.command_status_rank(status text, source text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status = 'accepted' THEN 1 WHEN source = 'device' THEN 2 ELSE 3 END
$$;

-- Every event id (ce_id) this projection has applied: a record re-sent with the same ce_id
-- changes nothing. Only events the projection uses are recorded.
CREATE TABLE IF NOT EXISTS {schema}.applied_events (
    event_id    uuid        PRIMARY KEY,
    topic       text        NOT NULL,
    occurred_at timestamptz NOT NULL
);

-- One row per ride. Each part (requested_*, started_*, ended/end_*, failed_*/failure_*) is
-- set by the first event of its kind and never overwritten; state only moves forward.
CREATE TABLE IF NOT EXISTS {schema}.rides (
    ride_id            uuid        PRIMARY KEY,
    vehicle_id         uuid        NOT NULL,
    rider_id           uuid        NOT NULL,
    state              text        NOT NULL
        CHECK (state IN ('requested', 'started', 'ended', 'failed')),
    reservation_id     uuid,
    requested_at       timestamptz,
    started_at         timestamptz,
    ended_at           timestamptz,
    failed_at          timestamptz,
    start_lat_e7       integer,
    start_lon_e7       integer,
    end_lat_e7         integer,
    end_lon_e7         integer,
    duration_ms        bigint,
    distance_m         bigint,
    fare_minor         bigint,
    currency           text,
    forced             boolean,
    failure_reason     text,
    failure_detail     text,
    -- The start-ride command (correlation id of RideRequested) and its UNLOCK downlink.
    start_command_id   uuid,
    unlock_command_id  uuid,
    -- The end-ride command (correlation id of RideEnded).
    end_command_id     uuid,
    last_event_id      uuid        NOT NULL,
    updated_at         timestamptz NOT NULL
);
-- A rider's and a vehicle's rides, newest first (keyset: requested_at, ride_id).
CREATE INDEX IF NOT EXISTS rides_rider_time_idx
    ON {schema}.rides (rider_id, requested_at DESC NULLS LAST, ride_id DESC);
CREATE INDEX IF NOT EXISTS rides_vehicle_time_idx
    ON {schema}.rides (vehicle_id, requested_at DESC NULLS LAST, ride_id DESC);
-- A rider's ride in progress.
CREATE INDEX IF NOT EXISTS rides_rider_open_idx
    ON {schema}.rides (rider_id) WHERE state IN ('requested', 'started');
-- The ride of a command (also: is a command linked to a ride?).
CREATE INDEX IF NOT EXISTS rides_start_command_idx ON {schema}.rides (start_command_id);
CREATE INDEX IF NOT EXISTS rides_end_command_idx ON {schema}.rides (end_command_id);

-- One row per reservation: active, then the first of cancelled | expired | converted (a
-- ride was requested with it; ride_id names the ride).
CREATE TABLE IF NOT EXISTS {schema}.reservations (
    reservation_id    uuid        PRIMARY KEY,
    vehicle_id        uuid        NOT NULL,
    rider_id          uuid        NOT NULL,
    state             text        NOT NULL
        CHECK (state IN ('active', 'cancelled', 'expired', 'converted')),
    made_at           timestamptz,
    expires_at        timestamptz,
    ended_at          timestamptz,
    cancelled_by_id   text,
    cancelled_by_role text,
    reason            text,
    ride_id           uuid,
    last_event_id     uuid        NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_rider_time_idx
    ON {schema}.reservations (rider_id, made_at DESC NULLS LAST, reservation_id DESC);
CREATE INDEX IF NOT EXISTS reservations_vehicle_time_idx
    ON {schema}.reservations (vehicle_id, made_at DESC NULLS LAST, reservation_id DESC);
CREATE INDEX IF NOT EXISTS reservations_active_vehicle_idx
    ON {schema}.reservations (vehicle_id) WHERE state = 'active';

-- The outcome of every app command (no row: pending). status: accepted | completed |
-- failed | rejected; outcome_source: decision (CommandAccepted/Rejected), ride (a ride
-- event correlated with it) or device (a device reply correlated with it); see
-- command_status_rank. code/message explain a rejection or failure.
CREATE TABLE IF NOT EXISTS {schema}.commands (
    command_id     uuid        PRIMARY KEY,
    vehicle_id     uuid,
    status         text        NOT NULL
        CHECK (status IN ('accepted', 'completed', 'failed', 'rejected')),
    outcome_source text        NOT NULL CHECK (outcome_source IN ('decision', 'ride', 'device')),
    code           text,
    message        text,
    ride_id        uuid,
    decided_at     timestamptz,
    finished_at    timestamptz,
    last_event_id  uuid        NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS commands_vehicle_time_idx
    ON {schema}.commands (vehicle_id, updated_at DESC);

-- The first terminal device reply (answered, rejected, timed out, undeliverable) per
-- correlation id, and the status it gives an accepted command that no ride is linked to.
-- Kept apart from commands so that a reply read before its command's CommandAccepted
-- (another topic) still applies when that arrives.
CREATE TABLE IF NOT EXISTS {schema}.command_replies (
    command_id   uuid        PRIMARY KEY,
    device_id    text        NOT NULL,
    outcome      text        NOT NULL,
    reply_text   text,
    status       text        NOT NULL,
    code         text,
    message      text,
    replied_at   timestamptz NOT NULL,
    event_id     uuid        NOT NULL
);
