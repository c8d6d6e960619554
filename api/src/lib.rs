//! HTTP for fleetlog: the query side, accounts and the operational endpoints.
//!
//! In the flow it is both ends: `api (POST)` appends commands, `api (GET)` serves the
//! read models. Today it serves the operational endpoints every process exposes
//! ([`ops`]: `/healthz`, `/readyz`, `/metrics`) and accounts ([`auth`]: sign-up, login
//! with optional TOTP, JWT access and rotating refresh tokens, MDS provider tokens), all
//! composed by [`router`]. Errors have one JSON shape ([`ApiError`]); JSON bodies are read
//! with [`json::ApiJson`]. [`commands`] takes riders' and operators' commands (appended to
//! `app.commands.v1`, answered `202`) and reports their outcome. Rider and operator
//! queries ([`fleet`]: nearby, QR, the operator's fleet, vehicle and device detail, zones,
//! trace) and [`rides`] (rides with their route, and reservations) serve the read models,
//! and [`gbfs`] the public GBFS 2.3 and 3.0 feeds. [`mds`] is the MDS 2.0 provider API for
//! cities, [`stream`] the live updates (SSE), and [`console`] serves the operator console
//! at `/console/`. [`openapi`] serves
//! `/openapi.json`, the OpenAPI document of every `/v1` route, generated from the code.

pub mod auth;
pub mod commands;
pub mod console;
pub mod error;
pub mod fleet;
pub mod gbfs;
pub mod json;
pub mod mds;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod read_model;
pub mod rides;
pub mod routes;
pub mod server;
pub mod state;
pub mod stream;

pub use error::ApiError;
pub use routes::router;
pub use state::ApiState;
