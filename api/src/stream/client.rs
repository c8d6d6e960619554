//! One stream: follows the shared reader from its own position, filtered for its user.
//!
//! It subscribes to the shared reader (learning its position), reads whatever lies
//! between its own position and that one with a catch-up reader of its own, and only then
//! takes the shared records, which its [`Cursor`] delivers, skips (already seen) or calls
//! a gap. When it falls further behind than the broadcast buffer (a slow client), or sees
//! a gap, it subscribes again and catches up from its own position: it never skips a
//! record and never stalls the others. It ends when the client goes away, its token
//! expires, its account's sessions were ended, or the API shuts down.

use std::future::pending;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::caps::Permit;
use super::cursor::{Cursor, Step};
use super::item::{Item, visible};
use super::position::Position;
use super::reader::{self, Fill, Live};
use crate::auth::{AuthUser, sessions};
use crate::state::ApiState;

/// Why a stream stops reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client went away, the API shuts down, or a reader failed.
    Closed,
    /// Its token expired.
    Expired,
    /// Its account's sessions were ended (or could not be checked).
    SessionEnded,
}

/// What woke the stream.
enum Wake {
    End(End),
    CheckSession,
    Fill(Option<Fill>),
    Live(Result<Arc<Item>, RecvError>),
}

/// A stream being served.
pub(crate) struct Follower {
    pub(crate) state: ApiState,
    pub(crate) user: AuthUser,
    pub(crate) live: Arc<Live>,
    pub(crate) resume: Option<Position>,
    pub(crate) tx: mpsc::Sender<Event>,
    pub(crate) permit: Permit,
}

/// The time left until `user`'s token expires (zero once it has: the token is no longer
/// valid from its `exp` on); `None` without an expiry.
pub(crate) fn time_left(user: AuthUser) -> Option<Duration> {
    let exp_ms = user.expires_at?.saturating_mul(1000);
    let left = exp_ms.saturating_sub(chrono::Utc::now().timestamp_millis());
    Some(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
}

fn expiry(user: AuthUser) -> Option<Pin<Box<Sleep>>> {
    time_left(user).map(|left| Box::pin(tokio::time::sleep(left)))
}

async fn expired(sleep: &mut Option<Pin<Box<Sleep>>>) {
    match sleep {
        Some(sleep) => sleep.as_mut().await,
        None => pending().await,
    }
}

async fn fill(rx: &mut Option<mpsc::Receiver<Fill>>) -> Option<Fill> {
    match rx {
        Some(rx) => rx.recv().await,
        None => pending().await,
    }
}

impl Follower {
    /// Serve the stream until it ends.
    pub(crate) async fn run(self) {
        let Self {
            state,
            user,
            live,
            resume,
            tx,
            permit,
        } = self;
        let hub = Arc::clone(&state.streams);
        let stop = hub.stop().clone();
        let mut expires = expiry(user);
        let first_check = tokio::time::Instant::now() + sessions::STREAM_CHECK;
        let mut session_check = tokio::time::interval_at(first_check, sessions::STREAM_CHECK);
        let mut cursor: Option<Cursor> = None;
        let end = 'join: loop {
            let (target, mut rx) = live.subscribe();
            let cursor = cursor.get_or_insert_with(|| Cursor::start(resume.as_ref(), &target));
            let behind = cursor.behind(&target);
            let mut filling = (!behind.is_empty()).then(|| {
                let (log, counters) = (hub.log().clone(), Arc::clone(hub.counters()));
                reader::catch_up(log, counters, behind, stop.clone())
            });
            loop {
                let live_now = filling.is_none();
                let wake = tokio::select! {
                    biased;
                    () = stop.cancelled() => Wake::End(End::Closed),
                    () = tx.closed() => Wake::End(End::Closed),
                    () = expired(&mut expires) => Wake::End(End::Expired),
                    _ = session_check.tick() => Wake::CheckSession,
                    f = fill(&mut filling) => Wake::Fill(f),
                    r = rx.recv(), if live_now => Wake::Live(r),
                };
                let item = match wake {
                    Wake::End(end) => break 'join end,
                    Wake::CheckSession => {
                        // Better to make the client reconnect than to stream on unchecked.
                        if !sessions::still_valid(&state.pool, user)
                            .await
                            .unwrap_or(false)
                        {
                            break 'join End::SessionEnded;
                        }
                        continue;
                    }
                    Wake::Fill(Some(Fill::Item(item))) => Arc::new(item),
                    Wake::Fill(Some(Fill::Reached { partition, next })) => {
                        cursor.reach(partition, next);
                        continue;
                    }
                    Wake::Fill(Some(Fill::Done)) => {
                        filling = None;
                        continue;
                    }
                    Wake::Fill(None) | Wake::Live(Err(RecvError::Closed)) => {
                        break 'join End::Closed;
                    }
                    Wake::Live(Err(RecvError::Lagged(missed))) => {
                        tracing::debug!(missed, "a slow stream catches up from its position");
                        continue 'join;
                    }
                    Wake::Live(Ok(item)) => item,
                };
                match cursor.step(item.partition, item.offset, item.prev_next) {
                    Step::Skip => {}
                    Step::Gap => continue 'join,
                    Step::Deliver => {
                        let Some(event) = &item.event else { continue };
                        if !visible(&state, user, &event.body).await {
                            continue;
                        }
                        let sse = Event::default()
                            .id(cursor.position().to_string())
                            .event(&event.kind)
                            .data(&event.data);
                        let sent = tokio::select! {
                            biased;
                            () = stop.cancelled() => Err(End::Closed),
                            () = expired(&mut expires) => Err(End::Expired),
                            r = tx.send(sse) => r.map_err(|_| End::Closed),
                        };
                        if let Err(end) = sent {
                            break 'join end;
                        }
                    }
                }
            }
        };
        match end {
            End::Expired => {
                tracing::info!(user_id = %user.user_id, "token expired; closing the stream")
            }
            End::SessionEnded => {
                tracing::info!(user_id = %user.user_id, "session ended; closing the stream")
            }
            End::Closed => tracing::debug!(user_id = %user.user_id, "stream closed"),
        }
        drop(permit);
    }
}
