//! The decoder: `scooter.frames.v1` → `scooter.telemetry.v1`.
//!
//! Each stored frame is decoded with the protocol modules; one `Telemetry` event per record
//! is appended (key = device id, correlation = the frame's, causation = the frame id). A
//! frame that cannot be decoded goes to `scooter.frames.v1.dlq.v1` with the reason in
//! `dlq_error`, and the decoder moves on; frames stored as bad (checksum, oversize) and
//! those of quarantined devices (`unknown_device`: kept as evidence, never fleet state) are
//! skipped.
//!
//! **Exactly once between the two topics.** Each batch is one Kafka transaction: its
//! telemetry, its dead letters and the batch's input offsets commit together
//! (`send_offsets_to_transaction` with the consumer's group metadata). The
//! `transactional.id` is stable per instance (`<client id>-decoder-<instance id>`), so a
//! restarted decoder fences its earlier self and aborts what it left open; readers use
//! `read_committed` and never see an aborted batch. A value the registry can never decode
//! (unknown schema id, a body that does not match) is dead-lettered like a frame no
//! protocol decodes; only a registry or broker that does not answer aborts and retries the
//! batch. Every telemetry event id is still derived deterministically — UUID v5 of (frame
//! id, `record-<index>`) — as the second line of defence, and consumers dedupe on them.

mod mapping;
mod service;
mod txn;

pub use mapping::{MAX_FUTURE_MS, clamped_device_time, telemetry};
pub use service::{Decoder, DecoderError, run};
