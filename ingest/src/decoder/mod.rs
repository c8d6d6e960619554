//! The decoder: `scooter.frames.v1` → `scooter.telemetry.v1`.
//!
//! Each stored frame is decoded with the protocol modules; one `Telemetry` event per record
//! is appended (key = device id, correlation = the frame's, causation = the frame id). A
//! frame that cannot be decoded goes to `scooter.frames.v1.dlq.v1` with the reason in
//! `dlq_error`, and the decoder moves on; frames stored as bad (checksum, oversize) are
//! skipped.
//!
//! **Exactly-once effect without transactions.** Tansu 0.6.0 has no Kafka transactions,
//! so the decoder is at-least-once between the two topics: a batch's consumer offsets are
//! committed only after every record it produced was acknowledged, and a crash in between
//! re-decodes the batch. Every telemetry event id is derived deterministically —
//! UUID v5 of (frame id, `record-<index>`) — so the re-run produces the same ids and every
//! consumer dedupes on them (projections on `(device id, device time, record identity)`).
//! On a real Kafka cluster the produce and the offset commit would go in one transaction
//! (`send_offsets_to_transaction`), removing the duplicates at the source; the
//! deterministic ids stay as the second line of defence.

mod mapping;
mod service;

pub use mapping::telemetry;
pub use service::{Decoder, DecoderError, run};
