//! Devices of registered vehicles: known to the gateway besides
//! `FLEETLOG_GATEWAY__KNOWN_DEVICES`.
//!
//! Every gateway follows `fleet.events.v1` from its beginning with a consumer of its own
//! (every partition assigned, nothing committed) and keeps the device id of every
//! `VehicleRegistered`. A quarantined connection looks again at each frame, so a device
//! registered while it is online is admitted from its next frame on. Until the gateway has
//! read the topic, a registered device's frames are stored as `unknown_device` (they are
//! kept in the log, only not decoded).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use fleetlog_runtime::detached_drop::DetachedDrop;
use fleetlog_runtime::settings::KafkaSettings;
use fleetlog_schemas::events::FleetEventBody;
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::WireCodec;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// How long one metadata request for the topic's partitions may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before trying again after the broker or the registry failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The device ids of registered vehicles seen so far (vehicles are never unregistered).
#[derive(Debug, Default)]
pub struct RegisteredDevices {
    ids: RwLock<HashSet<String>>,
}

impl RegisteredDevices {
    /// Whether `device_id` belongs to a registered vehicle.
    pub fn contains(&self, device_id: &str) -> bool {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(device_id)
    }

    /// Remember `device_id`; true when it was new.
    pub fn insert(&self, device_id: &str) -> bool {
        self.ids
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(device_id.to_owned())
    }
}

/// Follow `fleet.events.v1` into `devices` until `shutdown`. Waits (and says so) while the
/// broker or the topic is not there yet; never gives up on a record the registry cannot
/// decode yet.
///
/// # Errors
/// When the consumer cannot be created.
pub async fn follow(
    devices: Arc<RegisteredDevices>,
    kafka: &KafkaSettings,
    group: &str,
    codec: Arc<WireCodec>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let consumer: StreamConsumer =
        fleetlog_runtime::kafka::consumer_config(kafka, group).create()?;
    // Dropped on a thread of its own: its close can wait without end (see `DetachedDrop`).
    let consumer = Arc::new(DetachedDrop::new(consumer, "vehicles-consumer-close"));
    loop {
        match assign_from_beginning(&consumer).await {
            Ok(partitions) => {
                tracing::info!(partitions, "following vehicle registrations");
                break;
            }
            Err(err) => tracing::warn!(error = %err, "vehicle registrations not readable yet"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(RETRY_AFTER) => {}
        }
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            message = consumer.recv() => match message {
                Ok(message) => {
                    if !remember(&devices, &codec, &message, &shutdown).await {
                        return Ok(());
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "vehicle registrations: consumer error");
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
}

/// Assign every partition of the fleet events topic at its beginning; how many.
async fn assign_from_beginning(
    consumer: &Arc<DetachedDrop<StreamConsumer>>,
) -> anyhow::Result<usize> {
    let reader = Arc::clone(consumer);
    let partitions = tokio::task::spawn_blocking(move || {
        let metadata =
            reader.fetch_metadata(Some(topics::FLEET_EVENTS.name()), METADATA_TIMEOUT)?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topics::FLEET_EVENTS.name() && t.error().is_none())
            .map_or(0, |t| t.partitions().len());
        Ok::<_, rdkafka::error::KafkaError>(count)
    })
    .await??;
    anyhow::ensure!(
        partitions > 0,
        "topic {} has no partitions",
        topics::FLEET_EVENTS.name()
    );
    let mut list = TopicPartitionList::new();
    for partition in 0..i32::try_from(partitions)? {
        list.add_partition_offset(topics::FLEET_EVENTS.name(), partition, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(partitions)
}

/// Take the device id of a `VehicleRegistered` record; false when `shutdown` came while the
/// registry could not be reached.
async fn remember(
    devices: &RegisteredDevices,
    codec: &WireCodec,
    message: &BorrowedMessage<'_>,
    shutdown: &CancellationToken,
) -> bool {
    let payload = message.payload().unwrap_or_default();
    loop {
        match codec.decode(topics::FLEET_EVENTS, payload).await {
            Ok((event, _)) => {
                if let FleetEventBody::VehicleRegistered(registered) = event.event
                    && devices.insert(&registered.device_id)
                {
                    tracing::debug!(device = %registered.device_id, "registered device known");
                }
                return true;
            }
            Err(err) if err.is_permanent() => {
                tracing::warn!(offset = message.offset(), error = %err,
                    "fleet event undecodable: skipped by the gateway");
                return true;
            }
            Err(err) => {
                tracing::warn!(error = %err, "registry unreachable; retrying the fleet event");
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_devices_are_remembered_once() {
        let devices = RegisteredDevices::default();
        assert!(!devices.contains("356307042441013"));
        assert!(devices.insert("356307042441013"));
        assert!(!devices.insert("356307042441013"));
        assert!(devices.contains("356307042441013"));
        assert!(!devices.contains("35630704244101"));
    }
}
