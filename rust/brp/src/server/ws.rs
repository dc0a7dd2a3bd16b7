//! One WebSocket connection: each text message is one request in either
//! dialect, submitted to the connection's session at once; answers are
//! written as they come, out of order, POLL and `+watch` answers pushed as
//! changes happen.

use super::link::{Link, Shared, stopping};
use crate::error::BrpError;
use crate::methods::Action;
use crate::protocol::Response as Answer;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The requests of one connection waiting for their last answer.
#[derive(Default)]
struct Flight {
    waiting: HashSet<u64>,
    /// Those of them that are watches.
    watches: HashSet<u64>,
}

impl Flight {
    /// Notes that `answer` was written: unless it is a watch's answer that
    /// is not its last, its request is done.
    fn answered(&mut self, answer: &Answer) {
        let Some(id) = answer.id else { return };
        if answer.result.is_ok() && self.watches.contains(&id) {
            return;
        }
        self.waiting.remove(&id);
        self.watches.remove(&id);
    }
}

/// How a connection ended.
enum End {
    /// The client closed it or went away.
    Client,
    /// A message over the size limit.
    Oversized,
    /// The client let answers pile up.
    Slow,
    /// The server stops.
    Stop,
}

/// Serves the upgraded connection `io` until it closes.
pub(super) async fn run<S>(io: S, shared: &Shared, link: &Link)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let max = shared.config.max_request_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut sink, mut messages) = socket.split();
    let mut answers = link.answers.lock().await;
    let flight = Mutex::new(Flight::default());
    let reader = async {
        while let Some(message) = messages.next().await {
            match message {
                Ok(Message::Text(text)) => submit(shared, link, &flight, &text),
                Ok(Message::Binary(_)) => link.answer(Answer::error(
                    None,
                    BrpError::parse("send each request as a text message"),
                )),
                Ok(Message::Close(_)) => return End::Client,
                Ok(_) => {}
                Err(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
                    return End::Oversized;
                }
                Err(_) => return End::Client,
            }
        }
        End::Client
    };
    let writer = async {
        while let Some(answer) = answers.recv().await {
            lock(&flight).answered(&answer);
            if sink.send(Message::text(answer.to_text())).await.is_err() {
                break;
            }
        }
        End::Client
    };
    let end = tokio::select! {
        end = reader => end,
        end = writer => end,
        _ = link.overflow() => End::Slow,
        _ = stopping(shared.stopped.clone()) => End::Stop,
    };
    let close = |code, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_owned()),
        }))
    };
    let grace = Duration::from_millis(shared.config.stop_timeout_ms);
    let counters = &shared.counters;
    let last = match end {
        End::Client => return,
        End::Oversized => {
            counters.oversized.fetch_add(1, Ordering::Relaxed);
            close(CloseCode::Size, "a message over max_request_bytes")
        }
        End::Slow => {
            counters.slow_disconnects.fetch_add(1, Ordering::Relaxed);
            close(
                CloseCode::Policy,
                "answers piled up unread (max_queued_answers)",
            )
        }
        End::Stop => {
            // Parked POLLs and watches answer -23405; write those answers.
            link.session.close();
            let _ = tokio::time::timeout(grace, async {
                while let Ok(answer) = answers.try_recv() {
                    if sink.send(Message::text(answer.to_text())).await.is_err() {
                        break;
                    }
                }
            })
            .await;
            close(CloseCode::Away, "the server is stopping")
        }
    };
    let _ = tokio::time::timeout(grace, sink.send(last)).await;
}

/// Submits one request, or answers it at once when the connection's
/// limits refuse it.
fn submit(shared: &Shared, link: &Link, flight: &Mutex<Flight>, text: &str) {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let config = &shared.config;
    let call = match shared.host.engine().parse(text) {
        Ok(call) => call,
        Err(refused) => return link.answer(refused),
    };
    let streams = matches!(call.method.action, Action::Watch(_));
    let (waiting, watches) = {
        let flight = lock(flight);
        (flight.waiting.len(), flight.watches.len())
    };
    let refusal = if waiting >= config.max_in_flight {
        Some(format!(
            "the connection has {waiting} requests waiting for their answer, the limit \
             (max_in_flight)"
        ))
    } else if streams && watches >= config.max_watches {
        Some(format!(
            "the connection has {watches} watches open, the limit (max_watches)"
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return link.answer(call.respond(Err(BrpError::invalid_request(refusal))));
    }
    match link.session.submit_tracked(text) {
        Ok(submitted) => {
            let mut flight = lock(flight);
            flight.waiting.insert(submitted.id);
            if submitted.streams {
                flight.watches.insert(submitted.id);
            }
        }
        Err(refused) => link.answer(refused),
    }
}

fn lock(flight: &Mutex<Flight>) -> std::sync::MutexGuard<'_, Flight> {
    flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
