//! The processor's inputs: log records decoded into commands and device facts, each with
//! its envelope (the parent of everything decided from it).

use fleetlog_processor::decode_value;
use fleetlog_processor::{ProjectionError, SourceRecord};
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{AppCommand, DeviceReply, SessionEvent, Telemetry};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::message::{Header, OwnedHeaders};

use crate::vehicle::VehicleInput;

/// One decoded record.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    /// Its envelope.
    pub(crate) envelope: Envelope,
    /// What it is.
    pub(crate) kind: InputKind,
}

/// A command (keyed by vehicle or zone id) or a device fact (keyed by device id).
#[derive(Debug, Clone)]
pub(crate) enum InputKind {
    /// From `app.commands.v1`.
    Command(AppCommand),
    /// From telemetry, sessions or replies: routed to the device's vehicle.
    Device {
        device_id: String,
        input: VehicleInput,
    },
}

/// Decode every record of `batch` the processor reads; others are skipped.
///
/// # Errors
/// Poison for a record without a readable envelope or value; transient when the registry
/// cannot be asked.
pub(crate) async fn decode_batch(
    codec: &WireCodec,
    batch: &[SourceRecord],
) -> Result<Vec<Input>, ProjectionError> {
    let mut out = Vec::with_capacity(batch.len());
    for record in batch {
        let kind = match record.topic.as_str() {
            t if t == topics::APP_COMMANDS.name() => {
                InputKind::Command(decode_value(codec, topics::APP_COMMANDS, record).await?)
            }
            t if t == topics::TELEMETRY.name() => {
                let t: Telemetry = decode_value(codec, topics::TELEMETRY, record).await?;
                device(t.device_id.clone(), VehicleInput::Telemetry(t))
            }
            t if t == topics::SESSIONS.name() => {
                let s: SessionEvent = decode_value(codec, topics::SESSIONS, record).await?;
                device(s.device_id.clone(), VehicleInput::Session(s))
            }
            t if t == topics::REPLIES.name() => {
                let r: DeviceReply = decode_value(codec, topics::REPLIES, record).await?;
                device(r.device_id.clone(), VehicleInput::Reply(r))
            }
            _ => continue,
        };
        out.push(Input {
            envelope: envelope(record)?,
            kind,
        });
    }
    Ok(out)
}

fn device(device_id: String, input: VehicleInput) -> InputKind {
    InputKind::Device { device_id, input }
}

fn envelope(record: &SourceRecord) -> Result<Envelope, ProjectionError> {
    let headers = record
        .headers
        .iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        });
    Envelope::from_headers(&headers)
        .map_err(|err| ProjectionError::poison(record, format!("envelope: {err}")))
}
