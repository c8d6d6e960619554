//! The write side: app and operator commands are decided here.
//!
//! In the flow: `api (POST) ──▶ app.commands.v1 ──▶ deciders / ride saga ──▶
//! fleet.events.v1 + scooter.downlink.v1`. Deciders are pure functions; their state moves
//! in the same PostgreSQL transaction as their offsets. Not built yet (see the issues).
