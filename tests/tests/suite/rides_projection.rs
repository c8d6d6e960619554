//! The rides projection end to end: fleet events and device replies with real envelopes,
//! encoded with the wire codec through the real registry, produced to a broker of the
//! test's own and projected into PostgreSQL. A reservation turned into a ride that starts
//! and ends with a fare, with both ride commands completed; a failed ride fails its
//! command; a rejection keeps its code; remote commands are settled by the device's reply,
//! also when the reply is read before the acceptance; and an event re-sent with the same
//! `ce_id` changes nothing.

use chrono::DateTime;
use fleetlog_projections::rides;
use fleetlog_schemas::envelope::Envelope;
use fleetlog_schemas::events::{
    CommandAccepted, CommandRejected, DeviceReply, FleetEvent, FleetEventBody, GeoPoint,
    ReplyOutcome, ReservationMade, RideEnded, RideFailed, RideRequested, RideStarted,
};
use fleetlog_schemas::topics;
use fleetlog_tests::test_stack::{Projected, TestStack};
use serde_json::Value;
use uuid::Uuid;

/// The rides tests' language over a stack running the rides projection.
struct Rides(TestStack);

async fn stack() -> Rides {
    Rides(
        TestStack::builder()
            .projection(Projected::Rides)
            .start()
            .await,
    )
}

const T0: i64 = 1_764_000_000_000;
const SOURCE: &str = "/fleetlog/test";

/// An app command as the API makes it: a root envelope whose id is the command id.
fn app_command(vehicle: Uuid) -> Envelope {
    Envelope::new_root(topics::APP_COMMANDS, "/fleetlog/api", vehicle.to_string())
}

impl Rides {
    async fn send(&self, topic: &str, key: &str, envelope: &Envelope, payload: &[u8]) {
        fleetlog_tests::log::append(&self.0.producer, topic, key, payload, envelope).await;
    }

    /// Produce a fleet event caused by `parent` (so correlated with its chain); returns
    /// its envelope and encoded value, for re-sending.
    async fn fleet(
        &self,
        parent: &Envelope,
        vehicle: Uuid,
        at_ms: i64,
        event: FleetEventBody,
    ) -> (Envelope, Vec<u8>) {
        let event = FleetEvent {
            occurred_at_ms: at_ms,
            event,
        };
        let value = self
            .0
            .codec
            .encode(topics::FLEET_EVENTS, &event)
            .await
            .unwrap();
        let subject = vehicle.to_string();
        let envelope = Envelope::child(parent, topics::FLEET_EVENTS, SOURCE, &subject);
        self.send(topics::FLEET_EVENTS.name(), &subject, &envelope, &value)
            .await;
        (envelope, value)
    }

    /// Produce the device's reply to a downlink sent for `command` (downlink → reply, both
    /// in the command's chain); returns the reply's envelope.
    async fn reply(
        &self,
        command: &Envelope,
        device: &str,
        at_ms: i64,
        outcome: ReplyOutcome,
    ) -> Envelope {
        let downlink = Envelope::child(command, topics::DOWNLINK, SOURCE, device);
        let reply = DeviceReply {
            command_id: Uuid::new_v5(&command.id, b"downlink"),
            device_id: device.into(),
            outcome,
            reply_text: (outcome == ReplyOutcome::Answered).then(|| "OK".into()),
            at_ms,
        };
        let value = self.0.codec.encode(topics::REPLIES, &reply).await.unwrap();
        let envelope = Envelope::child(&downlink, topics::REPLIES, SOURCE, device);
        self.send(topics::REPLIES.name(), device, &envelope, &value)
            .await;
        envelope
    }

    async fn accepted(&self, command: &Envelope, vehicle: Uuid, at_ms: i64) -> Envelope {
        let body = FleetEventBody::CommandAccepted(CommandAccepted {
            command_id: command.id,
            vehicle_id: Some(vehicle),
        });
        self.fleet(command, vehicle, at_ms, body).await.0
    }

    /// Wait until `fleet` fleet events and `replies` device replies are applied.
    async fn wait_applied(&self, fleet: i64, replies: i64) {
        let stack = &self.0;
        stack
            .wait_applied(rides::NAME, topics::FLEET_EVENTS.name(), fleet)
            .await;
        stack
            .wait_applied(rides::NAME, topics::REPLIES.name(), replies)
            .await;
    }

    /// The row of `table` (in the live rides schema) whose `key` column is `id`.
    async fn row(&self, table: &str, key: &str, id: Uuid) -> Value {
        let sql = format!(
            "SELECT to_jsonb(t) FROM proj_rides_v1.{table} t WHERE {key} = $1 \
             AND projection_live_schema('rides') = 'proj_rides_v1'"
        );
        sqlx::query_scalar(&sql)
            .bind(id)
            .fetch_optional(&self.0.app.pool)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no {table} row {id}"))
    }

    async fn command(&self, id: Uuid) -> Value {
        self.row("commands", "command_id", id).await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM proj_rides_v1.{table}"))
            .fetch_one(&self.0.app.pool)
            .await
            .unwrap()
    }
}

/// A `timestamptz` of a JSON row, in ms since the epoch.
fn ms(v: &Value) -> i64 {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn uuid(v: &Value) -> Uuid {
    Uuid::parse_str(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_reserved_ride_starts_and_ends_with_a_fare_and_a_re_sent_event_changes_nothing() {
    let stack = stack().await;
    let (vehicle, rider, device) = (Uuid::now_v7(), Uuid::now_v7(), "359000000000101");
    let (reservation, ride) = (Uuid::now_v7(), Uuid::now_v7());
    let start_pos = GeoPoint {
        lat_e7: 375_665_000,
        lon_e7: 1_269_780_000,
    };
    let end_pos = GeoPoint {
        lat_e7: 375_700_000,
        lon_e7: 1_270_000_000,
    };

    // Reserve.
    let reserve = app_command(vehicle);
    stack.accepted(&reserve, vehicle, T0).await;
    let made = FleetEventBody::ReservationMade(ReservationMade {
        vehicle_id: vehicle,
        reservation_id: reservation,
        rider_id: rider,
        expires_at_ms: T0 + 900_000,
    });
    stack.fleet(&reserve, vehicle, T0, made).await;

    // Start: accepted, requested (converts the reservation), the unlock answered, started.
    let start = app_command(vehicle);
    stack.accepted(&start, vehicle, T0 + 60_000).await;
    let requested = FleetEventBody::RideRequested(RideRequested {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        reservation_id: Some(reservation),
        unlock_command_id: Uuid::new_v5(&start.id, b"downlink"),
    });
    stack.fleet(&start, vehicle, T0 + 60_000, requested).await;
    let unlocked = stack
        .reply(&start, device, T0 + 61_000, ReplyOutcome::Answered)
        .await;
    let started = FleetEventBody::RideStarted(RideStarted {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        start_position: Some(start_pos),
    });
    stack.fleet(&unlocked, vehicle, T0 + 61_000, started).await;
    stack.wait_applied(5, 1).await;
    let row = stack.row("rides", "ride_id", ride).await;
    assert_eq!(row["state"], "started");
    assert_eq!(stack.command(start.id).await["status"], "completed");

    // End: accepted, the lock answered (read before the ride ends), ended with the fare.
    let end = app_command(vehicle);
    stack.accepted(&end, vehicle, T0 + 660_000).await;
    let locked = stack
        .reply(&end, device, T0 + 661_000, ReplyOutcome::Answered)
        .await;
    stack.wait_applied(6, 2).await;
    let ended = FleetEventBody::RideEnded(RideEnded {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        duration_ms: 600_000,
        distance_m: 2_150,
        fare_minor: 2_700,
        currency: "KRW".into(),
        end_position: Some(end_pos),
        forced: false,
    });
    let (ended_envelope, ended_value) = stack.fleet(&locked, vehicle, T0 + 661_000, ended).await;
    stack.wait_applied(7, 2).await;

    let row = stack.row("rides", "ride_id", ride).await;
    assert_eq!(row["state"], "ended");
    assert_eq!(uuid(&row["vehicle_id"]), vehicle);
    assert_eq!(uuid(&row["rider_id"]), rider);
    assert_eq!(uuid(&row["reservation_id"]), reservation);
    assert_eq!(ms(&row["requested_at"]), T0 + 60_000);
    assert_eq!(ms(&row["started_at"]), T0 + 61_000);
    assert_eq!(ms(&row["ended_at"]), T0 + 661_000);
    assert!(row["failed_at"].is_null());
    assert_eq!(row["start_lat_e7"], start_pos.lat_e7);
    assert_eq!(row["start_lon_e7"], start_pos.lon_e7);
    assert_eq!(row["end_lat_e7"], end_pos.lat_e7);
    assert_eq!(row["end_lon_e7"], end_pos.lon_e7);
    assert_eq!(row["duration_ms"], 600_000);
    assert_eq!(row["distance_m"], 2_150);
    assert_eq!(row["fare_minor"], 2_700);
    assert_eq!(row["currency"], "KRW");
    assert_eq!(row["forced"], false);
    assert_eq!(uuid(&row["start_command_id"]), start.id);
    assert_eq!(uuid(&row["end_command_id"]), end.id);
    assert_eq!(uuid(&row["last_event_id"]), ended_envelope.id);
    assert_eq!(ms(&row["updated_at"]), T0 + 661_000);

    let r = stack
        .row("reservations", "reservation_id", reservation)
        .await;
    assert_eq!(r["state"], "converted");
    assert_eq!(uuid(&r["ride_id"]), ride);
    assert_eq!(ms(&r["made_at"]), T0);
    assert_eq!(ms(&r["expires_at"]), T0 + 900_000);
    assert_eq!(ms(&r["ended_at"]), T0 + 60_000);

    let c = stack.command(reserve.id).await;
    assert_eq!(
        c["status"], "accepted",
        "a reservation has no later outcome"
    );
    let c = stack.command(start.id).await;
    assert_eq!(c["status"], "completed");
    assert_eq!(c["outcome_source"], "ride");
    assert_eq!(uuid(&c["ride_id"]), ride);
    assert_eq!(ms(&c["decided_at"]), T0 + 60_000);
    assert_eq!(ms(&c["finished_at"]), T0 + 61_000);
    let c = stack.command(end.id).await;
    assert_eq!(c["status"], "completed");
    assert_eq!(c["outcome_source"], "ride");
    assert_eq!(ms(&c["finished_at"]), T0 + 661_000);
    assert_eq!(uuid(&c["vehicle_id"]), vehicle);

    // The same event again (same ce_id, even with another fare): nothing changes.
    let before = (
        stack.row("rides", "ride_id", ride).await,
        stack.command(end.id).await,
        stack.count("applied_events").await,
    );
    let again = FleetEvent {
        occurred_at_ms: T0 + 700_000,
        event: FleetEventBody::RideEnded(RideEnded {
            vehicle_id: vehicle,
            ride_id: ride,
            rider_id: rider,
            duration_ms: 1,
            distance_m: 1,
            fare_minor: 99_999,
            currency: "KRW".into(),
            end_position: None,
            forced: true,
        }),
    };
    let changed = stack
        .0
        .codec
        .encode(topics::FLEET_EVENTS, &again)
        .await
        .unwrap();
    let key = vehicle.to_string();
    let topic = topics::FLEET_EVENTS.name();
    stack.send(topic, &key, &ended_envelope, &ended_value).await;
    stack.send(topic, &key, &ended_envelope, &changed).await;
    stack.wait_applied(9, 2).await;
    let after = (
        stack.row("rides", "ride_id", ride).await,
        stack.command(end.id).await,
        stack.count("applied_events").await,
    );
    assert_eq!(after, before);
    assert_eq!(after.2, 9, "7 fleet events and 2 replies, each once");
}

#[tokio::test]
async fn failed_rides_rejections_and_remote_commands_get_their_outcome() {
    let stack = stack().await;
    let (vehicle, rider, device) = (Uuid::now_v7(), Uuid::now_v7(), "359000000000202");
    let ride = Uuid::now_v7();

    // A ride whose unlock the device refuses: the ride fails, and so does its command —
    // from the ride event, not from the reply.
    let start = app_command(vehicle);
    stack.accepted(&start, vehicle, T0).await;
    let requested = FleetEventBody::RideRequested(RideRequested {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        reservation_id: None,
        unlock_command_id: Uuid::new_v5(&start.id, b"downlink"),
    });
    stack.fleet(&start, vehicle, T0, requested).await;
    let refused = stack
        .reply(&start, device, T0 + 2_000, ReplyOutcome::Rejected)
        .await;
    let failed = FleetEventBody::RideFailed(RideFailed {
        vehicle_id: vehicle,
        ride_id: ride,
        rider_id: rider,
        reason: "unlock_refused".into(),
        detail: Some("the scooter refused to unlock".into()),
    });
    stack.fleet(&refused, vehicle, T0 + 2_000, failed).await;

    // A rejected command.
    let rejected_cmd = app_command(vehicle);
    let rejected = FleetEventBody::CommandRejected(CommandRejected {
        command_id: rejected_cmd.id,
        vehicle_id: Some(vehicle),
        code: "vehicle_in_ride".into(),
        message: "the vehicle is not available".into(),
    });
    stack
        .fleet(&rejected_cmd, vehicle, T0 + 3_000, rejected)
        .await;
    stack.wait_applied(4, 1).await;

    let row = stack.row("rides", "ride_id", ride).await;
    assert_eq!(row["state"], "failed");
    assert_eq!(ms(&row["failed_at"]), T0 + 2_000);
    assert_eq!(row["failure_reason"], "unlock_refused");
    assert_eq!(row["failure_detail"], "the scooter refused to unlock");
    assert!(row["started_at"].is_null() && row["ended_at"].is_null());
    let c = stack.command(start.id).await;
    assert_eq!(c["status"], "failed");
    assert_eq!(c["outcome_source"], "ride");
    assert_eq!(c["code"], "unlock_refused");
    assert_eq!(c["message"], "the scooter refused to unlock");
    let c = stack.command(rejected_cmd.id).await;
    assert_eq!(c["status"], "rejected");
    assert_eq!(c["code"], "vehicle_in_ride");
    assert_eq!(c["message"], "the vehicle is not available");
    assert_eq!(ms(&c["decided_at"]), T0 + 3_000);

    // A remote lock: delivered changes nothing, answered completes it.
    let lock = app_command(vehicle);
    stack.accepted(&lock, vehicle, T0 + 10_000).await;
    stack
        .reply(&lock, device, T0 + 10_500, ReplyOutcome::Delivered)
        .await;
    stack.wait_applied(5, 2).await;
    assert_eq!(stack.command(lock.id).await["status"], "accepted");
    stack
        .reply(&lock, device, T0 + 11_000, ReplyOutcome::Answered)
        .await;
    stack.wait_applied(5, 3).await;
    let c = stack.command(lock.id).await;
    assert_eq!(c["status"], "completed");
    assert_eq!(c["outcome_source"], "device");
    assert_eq!(ms(&c["finished_at"]), T0 + 11_000);

    // A remote unlock whose reply (undeliverable) is read before its acceptance: the
    // acceptance finds it and the command fails; a later acceptance copy does not regress it.
    let unlock = app_command(vehicle);
    stack
        .reply(&unlock, device, T0 + 20_500, ReplyOutcome::Undeliverable)
        .await;
    stack.wait_applied(5, 4).await;
    assert_eq!(
        stack.count("command_replies").await,
        3,
        "refused unlock, lock, unlock"
    );
    stack.accepted(&unlock, vehicle, T0 + 20_000).await;
    stack.wait_applied(6, 4).await;
    let c = stack.command(unlock.id).await;
    assert_eq!(c["status"], "failed");
    assert_eq!(c["outcome_source"], "device");
    assert_eq!(c["code"], "device_undeliverable");
    assert_eq!(ms(&c["decided_at"]), T0 + 20_000);
    assert_eq!(ms(&c["finished_at"]), T0 + 20_500);
    stack.accepted(&unlock, vehicle, T0 + 20_000).await;
    stack.wait_applied(7, 4).await;
    assert_eq!(stack.command(unlock.id).await["status"], "failed");
}
