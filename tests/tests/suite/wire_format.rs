//! Values in Confluent wire format through `schema_registry_converter`, against the real
//! registry (fleetlog's own, on a fresh PostgreSQL database).

#[path = "../../../schemas/tests/fixtures/mod.rs"]
mod fixtures;

/// The registry of a fresh test database; its URL.
async fn start_registry() -> String {
    let app = fleetlog_tests::spawn_app().await;
    // Dropping the token does not stop the registry: it serves until the test ends.
    let (url, _token) = fleetlog_tests::stack::registry(&app).await;
    url
}

use fleetlog_schemas::catalog;
use fleetlog_schemas::events::{AppCommand, FleetEvent, RawFrame, SessionEvent, Telemetry};
use fleetlog_schemas::registration::{register, register_all};
use fleetlog_schemas::topics;
use fleetlog_schemas::wire::{HEADER_LEN, WireCodec, WireError, schema_id};

#[test]
fn the_schema_id_is_read_from_the_five_byte_header() {
    assert_eq!(schema_id(&[0, 0, 0, 1, 2, 0xaa]).expect("framed"), 258);
    assert_eq!(
        schema_id(&[0, 0, 0, 0, 7]).expect("empty body is framed"),
        7
    );
}

#[test]
fn bytes_without_the_magic_byte_or_id_are_not_wire_format() {
    for bytes in [&[][..], &[0, 0, 0, 1][..], &[1, 0, 0, 0, 1, 2][..]] {
        assert!(
            matches!(schema_id(bytes), Err(WireError::NotWireFormat { .. })),
            "{bytes:?}"
        );
    }
}

#[tokio::test]
async fn registering_every_topic_twice_gives_the_same_ids() {
    let url = start_registry().await;
    let first = register_all(&url).await.expect("registers");
    let subjects: Vec<String> = first.iter().map(|(s, _)| s.clone()).collect();
    let expected: Vec<String> = topics::PRIMARY
        .iter()
        .map(|t| format!("{t}-value"))
        .collect();
    assert_eq!(subjects, expected);
    assert_eq!(register_all(&url).await.expect("idempotent"), first);
}

#[tokio::test]
async fn every_topic_value_survives_encode_and_decode() {
    let url = start_registry().await;
    let ids = register_all(&url).await.expect("registers");
    let id_of = |topic: &str| {
        let subject = catalog::value_subject(topic);
        ids.iter()
            .find(|(s, _)| *s == subject)
            .map(|(_, id)| *id)
            .expect("registered")
    };
    let codec = WireCodec::new(&url);

    let bytes = codec
        .encode(topics::TELEMETRY, &fixtures::telemetry())
        .await
        .expect("encodes");
    assert_eq!(bytes[0], 0);
    assert_eq!(
        schema_id(&bytes).expect("framed"),
        id_of(topics::TELEMETRY.name())
    );
    let (back, id): (Telemetry, u32) = codec
        .decode(topics::TELEMETRY, &bytes)
        .await
        .expect("decodes");
    assert_eq!(
        (back, id),
        (fixtures::telemetry(), id_of(topics::TELEMETRY.name()))
    );

    for event in fixtures::session_events() {
        let bytes = codec
            .encode(topics::SESSIONS, &event)
            .await
            .expect("encodes");
        let (back, _): (SessionEvent, u32) = codec
            .decode(topics::SESSIONS, &bytes)
            .await
            .expect("decodes");
        assert_eq!(back, event);
    }
    for body in fixtures::app_command_bodies() {
        let command = fixtures::app_command(body);
        let bytes = codec
            .encode(topics::APP_COMMANDS, &command)
            .await
            .expect("encodes");
        let (back, _): (AppCommand, u32) = codec
            .decode(topics::APP_COMMANDS, &bytes)
            .await
            .expect("decodes");
        assert_eq!(back, command);
    }
    for body in fixtures::fleet_event_bodies() {
        let event = fixtures::fleet_event(body);
        let bytes = codec
            .encode(topics::FLEET_EVENTS, &event)
            .await
            .expect("encodes");
        let (back, _): (FleetEvent, u32) = codec
            .decode(topics::FLEET_EVENTS, &bytes)
            .await
            .expect("decodes");
        assert_eq!(back, event);
    }
    let frame = fixtures::raw_frame();
    let bytes = codec.encode(topics::FRAMES, &frame).await.expect("encodes");
    let decoded: (RawFrame, u32) = codec.decode(topics::FRAMES, &bytes).await.expect("decodes");
    assert_eq!(decoded, (frame, id_of(topics::FRAMES.name())));
    let command = fixtures::downlink_command();
    let bytes = codec
        .encode(topics::DOWNLINK, &command)
        .await
        .expect("encodes");
    assert_eq!(
        codec
            .decode(topics::DOWNLINK, &bytes)
            .await
            .expect("decodes")
            .0,
        command
    );
    let reply = fixtures::device_reply();
    let bytes = codec
        .encode(topics::REPLIES, &reply)
        .await
        .expect("encodes");
    assert_eq!(
        codec
            .decode(topics::REPLIES, &bytes)
            .await
            .expect("decodes")
            .0,
        reply
    );
}

#[tokio::test]
async fn encoding_before_registration_fails_and_succeeds_once_registered() {
    let url = start_registry().await;
    let codec = WireCodec::new(&url);
    let err = codec
        .encode(topics::TELEMETRY, &fixtures::telemetry())
        .await
        .expect_err("nothing registered yet");
    assert!(
        err.to_string().contains("scooter.telemetry.v1-value"),
        "{err}"
    );
    let json = catalog::topic_schema_json(topics::TELEMETRY.name()).expect("schema");
    register(&url, "scooter.telemetry.v1-value", &json)
        .await
        .expect("registers");
    codec
        .encode(topics::TELEMETRY, &fixtures::telemetry())
        .await
        .expect("encodes now");
}

#[tokio::test]
async fn bytes_of_another_type_are_refused_when_decoded() {
    // Encoding a value for another topic does not compile (`WireCodec::encode`'s doc test);
    // bytes are only bytes, so a reply read as telemetry is refused at run time.
    let url = start_registry().await;
    register_all(&url).await.expect("registers");
    let codec = WireCodec::new(&url);
    let bytes = codec
        .encode(topics::REPLIES, &fixtures::device_reply())
        .await
        .expect("encodes");
    let err = codec
        .decode(topics::TELEMETRY, &bytes)
        .await
        .expect_err("not telemetry");
    assert!(matches!(err, WireError::Mismatch { .. }), "{err}");
    let err = codec
        .decode(topics::TELEMETRY, &[0, 0, 0, 0, 99, 1])
        .await
        .expect_err("unknown id");
    assert!(
        matches!(err, WireError::UnknownSchema { schema_id: 99 }),
        "{err}"
    );
    assert!(err.is_permanent());
}

#[tokio::test]
async fn a_body_that_does_not_match_its_schema_is_permanent_and_a_registry_down_is_not() {
    let url = start_registry().await;
    register_all(&url).await.expect("registers");
    let codec = WireCodec::new(&url);
    let mut bytes = codec
        .encode(topics::TELEMETRY, &fixtures::telemetry())
        .await
        .expect("encodes");
    bytes.truncate(HEADER_LEN + 1);
    let err = codec
        .decode(topics::TELEMETRY, &bytes)
        .await
        .expect_err("a cut body");
    assert!(matches!(err, WireError::Body { .. }), "{err}");
    assert!(err.is_permanent());

    let nobody = format!("http://127.0.0.1:{}", fleetlog_tests::process::free_port());
    let err = WireCodec::new(&nobody)
        .decode(topics::TELEMETRY, &bytes)
        .await
        .expect_err("no registry");
    assert!(matches!(err, WireError::Registry { .. }), "{err}");
    assert!(
        !err.is_permanent(),
        "a registry that does not answer is retried"
    );
}
