//! Every end-to-end test of fleetlog, in one test binary (one link instead of one per
//! area; `cargo test -p fleetlog-tests --test suite <area>::` runs one area). Each module
//! is one area, tested against the real broker and PostgreSQL that `make test` starts;
//! the harness they share (brokers, [`fleetlog_tests::test_stack::TestStack`], processes,
//! waits on the log and the read models) is the `fleetlog_tests` library.

#![allow(
    clippy::unwrap_used,
    reason = "end-to-end tests: a failed unwrap is a failed test"
)]

mod accounts;
mod broker_failover;
mod command_auth;
mod commands_crash;
mod confluent_client;
mod console;
mod decoder;
mod decoder_kill;
mod demo;
mod deployment;
mod export;
mod export_range;
mod fleet_projection;
mod fleet_projection_kill;
mod fleet_queries;
mod foundation;
mod gateway;
mod gbfs;
mod lineage;
mod live_stream;
mod mds;
mod openapi;
mod projection_runtime;
mod projections_rebuild;
mod projections_status;
mod projector_group;
mod registry;
mod request_limits;
mod ride_journey;
mod rides_projection;
mod scale_out;
mod secrets;
mod sessions;
mod stream_sharing;
mod tour;
mod wire_format;
