//! Live updates that scale (issue 15, item 3), over HTTP against a broker of the test's
//! own, its registry and PostgreSQL: the streams of one API process share one Kafka
//! consumer; a resumed stream catches up with a reader of its own and joins the shared one
//! with no gap and no duplicate; streams are capped per account and per process (`429
//! too_many_streams`), and a stream closes when its access token expires.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleetlog_api::ApiState;
use fleetlog_api::auth::{AuthSettings, Role};
use fleetlog_api::stream::StreamStats;
use fleetlog_runtime::settings::ApiSettings;
use fleetlog_schemas::events::VehicleState;
use fleetlog_tests::test_stack::{SECRET, T0, TestStack};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::live_stream::{SseEvent, SseReader};

const WAIT: Duration = Duration::from_secs(30);

/// The API in-process over a stack with no services: events are produced straight to
/// `fleet.events.v1`.
struct Api {
    stack: TestStack,
    state: ApiState,
    base: String,
    http: reqwest::Client,
    _stop: DropGuard,
    _shutdown: DropGuard,
}

impl Api {
    async fn start(access_ttl_s: u64, streams: ApiSettings) -> Self {
        let stack = TestStack::builder().start().await;
        let auth = AuthSettings {
            jwt_secret: Some(SECRET.into()),
            access_ttl_s,
            ..AuthSettings::default()
        };
        let shutdown = CancellationToken::new();
        let state = fleetlog_tests::api::state(&stack.app, auth).with_streams(&streams, &shutdown);
        let (base, stop) = fleetlog_tests::api::serve(fleetlog_api::router(state.clone())).await;
        Self {
            stack,
            state,
            base,
            http: reqwest::Client::new(),
            _stop: stop,
            _shutdown: shutdown.drop_guard(),
        }
    }

    /// An access token of a fresh account id with `role`, with the API's lifetime.
    fn token(&self, role: Role) -> String {
        self.state.auth.access_token(Uuid::now_v7(), role).unwrap()
    }

    async fn request(&self, token: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/v1/stream", self.base))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        req.send().await.unwrap()
    }

    async fn open(&self, token: &str, last_event_id: Option<&str>) -> SseReader {
        let response = self.request(token, last_event_id).await;
        assert_eq!(response.status(), StatusCode::OK);
        SseReader::new(response)
    }

    /// Produce one `vehicle_state_changed` per vehicle; the vehicle ids.
    async fn changes(&mut self, count: usize) -> Vec<Uuid> {
        let mut vehicles = Vec::new();
        for i in 0..count {
            let vehicle = Uuid::now_v7();
            let at = T0 + i64::try_from(i).unwrap();
            let (from, to) = (VehicleState::Available, VehicleState::OutOfService);
            self.stack.state(vehicle, at, from, to).await;
            vehicles.push(vehicle);
        }
        vehicles
    }

    fn stats(&self) -> StreamStats {
        self.state.streams.stats()
    }

    /// Wait until the stream counts satisfy `done`.
    async fn wait_stats(&self, what: &str, done: impl Fn(StreamStats) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self.stats()) {
            assert!(Instant::now() < deadline, "{what}: {:?}", self.stats());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `count` events, each within the deadline.
async fn take(reader: &mut SseReader, count: usize) -> Vec<SseEvent> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match reader.next(left).await {
            Some(event) => seen.push(event),
            None => panic!("{} of {count} events; saw {seen:?}", seen.len()),
        }
    }
    seen
}

fn vehicles_of(events: &[SseEvent]) -> Vec<String> {
    let vehicle = |e: &SseEvent| e.2["vehicle_id"].as_str().unwrap_or_default().to_owned();
    events.iter().map(vehicle).collect()
}

fn event_ids(events: &[SseEvent]) -> Vec<String> {
    let id = |e: &SseEvent| e.2["event_id"].as_str().unwrap_or_default().to_owned();
    events.iter().map(id).collect()
}

#[tokio::test]
async fn two_streams_on_one_api_get_the_same_events_from_one_kafka_consumer() {
    let mut api = Api::start(900, ApiSettings::default()).await;
    let mut first = api.open(&api.token(Role::Operator), None).await;
    let mut second = api.open(&api.token(Role::Admin), None).await;
    let vehicles = api.changes(6).await;

    let a = take(&mut first, 6).await;
    let b = take(&mut second, 6).await;
    assert_eq!(a, b, "the same events, ids and order on both streams");
    let expected: BTreeSet<String> = vehicles.iter().map(Uuid::to_string).collect();
    assert_eq!(
        vehicles_of(&a).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(a.iter().all(|e| e.1 == "vehicle_state_changed"));
    assert_eq!(
        api.stats(),
        StreamStats {
            open: 2,
            readers_open: 1,
            readers_created: 1
        },
        "one Kafka consumer for both streams"
    );
    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await;
    let metrics = metrics.unwrap().text().await.unwrap();
    for name in ["fleetlog_api_streams_open", "fleetlog_api_stream_readers"] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }
}

#[tokio::test]
async fn a_resumed_stream_gets_exactly_the_events_after_its_id_while_a_live_one_runs() {
    let mut api = Api::start(900, ApiSettings::default()).await;
    let operator = api.token(Role::Operator);
    let mut live = api.open(&operator, None).await;
    api.changes(3).await;
    let mut seen = take(&mut live, 3).await;
    let resume_at = seen[0].0.clone();
    api.changes(3).await;
    seen.extend(take(&mut live, 3).await);

    // Resumed from the first event while the live stream runs on; more arrive meanwhile.
    let mut resumed = api.open(&operator, Some(&resume_at)).await;
    api.changes(2).await;
    seen.extend(take(&mut live, 2).await);
    let caught = take(&mut resumed, 7).await;
    let want: BTreeSet<String> = event_ids(&seen[1..]).into_iter().collect();
    let got = event_ids(&caught);
    assert_eq!(got.len(), want.len(), "no duplicate: {caught:?}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "no gap");
    assert_eq!(
        caught.last().unwrap().0,
        seen.last().unwrap().0,
        "both streams end at the same position"
    );
    assert!(
        resumed.next(Duration::from_secs(1)).await.is_none(),
        "nothing more (no duplicate of the joined records)"
    );

    // After the catch-up the resumed stream follows the shared reader.
    let next = api.changes(1).await;
    let (a, b) = (take(&mut live, 1).await, take(&mut resumed, 1).await);
    assert_eq!(a, b);
    assert_eq!(vehicles_of(&a), vec![next[0].to_string()]);
    let stats = api.stats();
    assert_eq!(
        stats.readers_created, 2,
        "the shared reader and one catch-up"
    );
    api.wait_stats("the catch-up reader closes", |s| s.readers_open == 1)
        .await;
}

#[tokio::test]
async fn over_the_per_user_cap_a_stream_is_refused_with_429_and_the_open_ones_keep_working() {
    let caps = ApiSettings {
        stream_max_per_user: 2,
        stream_max_per_process: 3,
    };
    let mut api = Api::start(900, caps).await;
    let operator = api.token(Role::Operator);
    let mut first = api.open(&operator, None).await;
    let mut second = api.open(&operator, None).await;

    let refused = api.request(&operator, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    assert!(body["error"]["message"].is_string());

    // Another account has a cap of its own, up to the process's (3).
    let rider = api.token(Role::Rider);
    let _theirs = api.open(&rider, None).await;
    let full = api.request(&api.token(Role::Admin), None).await;
    assert_eq!(full.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = full.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");

    // The open streams keep working.
    let vehicles = api.changes(2).await;
    let (a, b) = (take(&mut first, 2).await, take(&mut second, 2).await);
    assert_eq!(a, b);
    assert_eq!(
        vehicles_of(&a).into_iter().collect::<BTreeSet<_>>(),
        vehicles.iter().map(Uuid::to_string).collect()
    );

    // A closed stream gives its place back.
    drop(first);
    api.wait_stats("the closed stream is released", |s| s.open == 2)
        .await;
    let mut again = api.open(&operator, None).await;
    let vehicle = api.changes(1).await;
    assert_eq!(
        vehicles_of(&take(&mut again, 1).await),
        vec![vehicle[0].to_string()]
    );
}

/// The `exp` claim of a JWT, ms since the epoch.
fn expiry_ms(token: &str) -> i64 {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&claims).unwrap();
    claims["exp"].as_i64().unwrap() * 1000
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

#[tokio::test]
async fn a_stream_closes_when_its_access_token_expires() {
    let mut api = Api::start(5, ApiSettings::default()).await;
    let token = api.token(Role::Operator);
    let expires = expiry_ms(&token);
    let mut stream = api.open(&token, None).await;
    let vehicle = api.changes(1).await;
    assert_eq!(
        vehicles_of(&take(&mut stream, 1).await),
        vec![vehicle[0].to_string()],
        "the stream works until then"
    );

    // Read until the stream ends (or the deadline passes).
    let deadline = Instant::now() + WAIT;
    while stream
        .next(deadline.saturating_duration_since(Instant::now()))
        .await
        .is_some()
    {}
    let ended = now_ms();
    assert!(Instant::now() < deadline, "the stream did not end");
    assert!(
        ended >= expires,
        "it ended {} ms before the token expired",
        expires - ended
    );
    assert!(
        ended - expires < 2_000,
        "it ended {} ms after",
        ended - expires
    );
    api.wait_stats("the expired stream is released", |s| s.open == 0)
        .await;
    let late = api.request(&token, None).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED, "no new stream");
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["error"]["code"], "token_expired");
}
