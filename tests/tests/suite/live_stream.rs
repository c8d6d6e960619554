//! `GET /v1/stream` against `fleetlog up`: operators see every fleet event, riders only
//! their own (and the outcomes of their own commands), and a client reconnecting with
//! `Last-Event-ID` gets what happened while it was away.

use std::time::{Duration, Instant};

use fleetlog_api::auth::Role;
use fleetlog_tests::test_stack::TestStack;
use serde_json::Value;

/// One SSE event: id, type, JSON data.
pub(crate) type SseEvent = (String, String, Value);

/// Reads the events of one `GET /v1/stream` answer.
pub(crate) struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(stack: &TestStack, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = stack
            .http()
            .get(format!("{}/v1/stream", stack.api()))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Self::new(response)
    }

    /// A reader of `response`, a stream that was opened.
    pub(crate) fn new(response: reqwest::Response) -> Self {
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event within `wait`, skipping keep-alive comments; `None` when none came
    /// or the stream ended.
    pub(crate) async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !kind.is_empty() {
                    return Some((id, kind, serde_json::from_str(&data).unwrap()));
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Events until one of type `kind` arrives (it included), within `wait`.
    pub(crate) async fn until(&mut self, kind: &str, wait: Duration) -> Vec<SseEvent> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        while let Some(event) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            let done = event.1 == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
        panic!("no {kind} within {wait:?}; saw {seen:?}");
    }
}

#[tokio::test]
async fn operators_see_the_fleet_riders_their_own_and_a_reconnect_resumes_where_it_stopped() {
    let stack = TestStack::builder().product(1).start().await;
    let (_, operator) = stack.token(Role::Operator);
    let vehicle = stack.register(&operator, 0).await;
    let (rider_id, rider) = stack.token(Role::Rider);
    let (_, other) = stack.token(Role::Rider);

    let mut ops = SseReader::open(&stack, &operator, None).await;
    let mut mine = SseReader::open(&stack, &rider, None).await;
    let mut theirs = SseReader::open(&stack, &other, None).await;
    assert_eq!(
        stack.reserve_when_online(&rider, &vehicle).await["status"],
        "accepted"
    );

    let seen = ops.until("reservation_made", Duration::from_secs(20)).await;
    let made = seen.last().unwrap();
    assert_eq!(made.2["vehicle_id"], vehicle.as_str());
    assert_eq!(made.2["data"]["rider_id"], rider_id.to_string());
    let resume_at = made.0.clone();

    let own = mine
        .until("reservation_made", Duration::from_secs(20))
        .await;
    assert!(
        own.iter().any(|e| e.1 == "command_accepted"),
        "the rider sees their command's outcome: {own:?}"
    );
    assert!(
        own.iter().all(|e| e.1 != "vehicle_registered"),
        "but not the fleet's: {own:?}"
    );
    assert!(
        theirs.next(Duration::from_secs(2)).await.is_none(),
        "another rider sees nothing of it"
    );

    // Away while the reservation is cancelled; back with Last-Event-ID.
    drop(ops);
    let (_, cancel) = stack
        .run(
            &rider,
            &format!("/v1/vehicles/{vehicle}/cancel-reservation"),
            None,
        )
        .await;
    assert_eq!(cancel["status"], "accepted");
    let mut back = SseReader::open(&stack, &operator, Some(&resume_at)).await;
    let missed = back
        .until("reservation_cancelled", Duration::from_secs(20))
        .await;
    assert!(
        missed.iter().all(|e| e.1 != "reservation_made"),
        "nothing before the resume point is repeated: {missed:?}"
    );

    let resp = stack
        .http()
        .get(format!("{}/v1/stream", stack.api()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
