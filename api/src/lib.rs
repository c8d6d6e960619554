//! HTTP for fleetlog: the query side and the operational endpoints.
//!
//! In the flow it is both ends: `api (POST)` appends commands, `api (GET)` serves the
//! read models. Today it serves the operational endpoints every process exposes
//! ([`ops`]: `/healthz`, `/readyz`, `/metrics`); rider, operator, GBFS, MDS, trace and
//! SSE routes join the same router as they land.

pub mod ops;
pub mod server;
