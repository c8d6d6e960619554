-- The fleet read model (schema from the runtime, e.g. proj_fleet_v1).

-- One row per device: its latest known state. Every part moves only forward: the record
-- part by (device_time_ms, record_index); position, battery, lock state and odometer each by
-- the device time of the record that reported them (*_time_ms); online by the session
-- event's (at_ms, event id); vehicle_id by the registration's (occurred_at_ms, event id).
-- No secondary index, so the frequent updates stay HOT.
CREATE TABLE IF NOT EXISTS {schema}.devices (
    device_id        text        PRIMARY KEY,
    protocol         text,
    vehicle_id       uuid,
    vehicle_since_ms bigint,
    vehicle_event_id uuid,
    lat_e7           integer,
    lon_e7           integer,
    position_time_ms bigint,
    speed_kmh        integer,
    heading_deg      integer,
    battery_pct      integer,
    battery_time_ms  bigint,
    lock_state       text,
    lock_time_ms     bigint,
    odometer_m       bigint,
    odometer_time_ms bigint,
    alarms           text[]      NOT NULL DEFAULT '{}',
    device_time_ms   bigint,
    record_index     integer,
    received_at_ms   bigint,
    online           boolean     NOT NULL DEFAULT false,
    online_since_ms  bigint,
    session_event_id uuid,
    gateway_id       text,
    last_event_id    uuid        NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);

-- protocol = the protocol of the newest connect (wire_protocol, by its own (at_ms, event
-- id)), else of the newest registration: never dependent on batch boundaries. Added after
-- v1 first shipped; a version built before has order-dependent protocols until rebuilt.
ALTER TABLE {schema}.devices
    ADD COLUMN IF NOT EXISTS wire_protocol          text,
    ADD COLUMN IF NOT EXISTS wire_protocol_ms       bigint,
    ADD COLUMN IF NOT EXISTS wire_protocol_event_id uuid,
    ADD COLUMN IF NOT EXISTS registered_protocol    text;

-- The telemetry event of the newest record (device_time_ms, record_index): what
-- `fleetlog trace` finds the row by even after a session or registration changed it since
-- (last_event_id names only the latest change).
ALTER TABLE {schema}.devices ADD COLUMN IF NOT EXISTS record_event_id uuid;

-- One row per device record, once per device-record identity: a device re-sending a frame
-- (new frame and event ids, same records) adds nothing.
CREATE TABLE IF NOT EXISTS {schema}.telemetry_history (
    device_id      text    NOT NULL,
    device_time_ms bigint  NOT NULL,
    record_index   integer NOT NULL,
    day            date    NOT NULL,
    lat_e7         integer NOT NULL,
    lon_e7         integer NOT NULL,
    position_valid boolean NOT NULL,
    speed_kmh      integer NOT NULL,
    heading_deg    integer NOT NULL,
    battery_pct    integer,
    lock_state     text,
    odometer_m     bigint,
    alarms         text[]  NOT NULL,
    received_at_ms bigint  NOT NULL,
    event_id       uuid    NOT NULL,
    frame_id       uuid    NOT NULL,
    PRIMARY KEY (device_id, device_time_ms, record_index)
);
CREATE INDEX IF NOT EXISTS telemetry_history_device_day_idx
    ON {schema}.telemetry_history (device_id, day);
-- For `fleetlog trace`: the rows an event wrote.
CREATE INDEX IF NOT EXISTS telemetry_history_event_idx
    ON {schema}.telemetry_history (event_id);

-- One row per vehicle from fleet.events.v1; state is NULL until its first state change.
CREATE TABLE IF NOT EXISTS {schema}.vehicles (
    vehicle_id          uuid        PRIMARY KEY,
    device_id           text,
    protocol            text,
    model               text,
    qr_code             text,
    registered_at_ms    bigint,
    registered_event_id uuid,
    state               text,
    state_since_ms      bigint,
    state_event_id      uuid,
    last_event_id       uuid        NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS vehicles_device_idx ON {schema}.vehicles (device_id);

-- One row per zone from ZoneDefined: the newest definition by (defined_at_ms, event id).
-- rings: a JSON array of rings, the outer ring first, then holes; each ring an array of
-- {"lat_e7", "lon_e7"} points as in the event (closed: the first point repeated last).
-- Added to version 1 with CREATE TABLE IF NOT EXISTS: a database projected before it gets
-- the table at the next start but only the zones defined from then on (rebuild the
-- projection, or define the zones again, to see older ones).
CREATE TABLE IF NOT EXISTS {schema}.zones (
    zone_id         uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    name            text        NOT NULL,
    rings           jsonb       NOT NULL,
    speed_limit_kmh integer,
    defined_at_ms   bigint      NOT NULL,
    last_event_id   uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
