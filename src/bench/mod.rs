//! `fleetlog bench …`: benchmarks of the hot paths against the real broker and database,
//! each printing its figures beside a baseline measured in the same run.

pub(crate) mod api;
pub(crate) mod commands;
pub(crate) mod export;
pub(crate) mod ingest;
mod ingest_phases;
mod load;
mod proc_stats;
pub(crate) mod projection;
pub(crate) mod rebuild;
pub(crate) mod scale;
mod stack;
mod targets;
