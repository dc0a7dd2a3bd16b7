//! One WebSocket connection: each text message is one request in either
//! dialect, submitted to the connection's session at once; answers are
//! written as they come, out of order, POLL and `+watch` answers pushed as
//! changes happen.

use super::io::{Meter, Why};
use super::link::{Link, Shared, stopping};
use crate::error::BrpError;
use crate::methods::Action;
use crate::protocol::Response as Answer;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// Answers longer than this go out as fragments of this size, so that a
/// connection's write buffer holds at most one fragment and its pongs.
const FRAGMENT: usize = 256 << 10;
/// The most a connection's write buffer holds: a fragment, and room for
/// the control frames (pongs, close) that queue behind it.
const MAX_WRITE_BUFFER: usize = FRAGMENT + (16 << 10);

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
    /// The client went away, or the socket failed.
    Gone,
    /// The client sent a close frame: it is answered.
    Closed,
    /// The client broke the protocol: closed with this code.
    Broken(CloseCode, &'static str),
    /// A message over the size limit.
    Oversized,
    /// The client let answers pile up.
    Slow,
    /// The meter's reason (a timeout, the budget).
    Watch(Why),
    /// The server stops.
    Stop,
}

/// Serves the upgraded connection `io` until it closes.
pub(super) async fn run<S>(io: S, shared: &Shared, link: &Link, meter: &Meter)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let max = shared.config().max_request_bytes;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER);
    let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (mut sink, mut messages) = socket.split();
    let mut answers = link.answers.lock().await;
    let flight = Mutex::new(Flight::default());
    let reader = async {
        while let Some(message) = messages.next().await {
            if message.is_ok() {
                meter.message_read();
            }
            match message {
                Ok(Message::Text(text)) => submit(shared, link, meter, &flight, &text),
                Ok(Message::Binary(_)) => link.refuse(Answer::error(
                    None,
                    BrpError::parse("send each request as a text message"),
                )),
                Ok(Message::Close(_)) => return End::Closed,
                Ok(_) => {}
                Err(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
                    return End::Oversized;
                }
                Err(Error::Utf8(_)) => {
                    return End::Broken(CloseCode::Invalid, "a text message that is not UTF-8");
                }
                Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
                    return End::Gone;
                }
                Err(Error::Protocol(_) | Error::Capacity(_)) => {
                    return End::Broken(CloseCode::Protocol, "a frame RFC 6455 does not allow");
                }
                Err(Error::Io(_)) if meter.over_budget() => return End::Watch(Why::OverBudget),
                Err(_) => return End::Gone,
            }
        }
        End::Gone
    };
    let writer = async {
        while let Some(queued) = answers.recv().await {
            let (answer, refusal) = link.taken(queued);
            if !refusal {
                let mut flight = lock(&flight);
                flight.answered(&answer);
                meter.in_flight(flight.waiting.len());
            }
            if write(&mut sink, answer.to_text()).await.is_err() {
                break;
            }
        }
        End::Gone
    };
    let end = tokio::select! {
        end = reader => end,
        end = writer => end,
        _ = link.overflow() => End::Slow,
        why = meter.watch(&shared.settings) => End::Watch(why),
        _ = stopping(shared.stopped.clone()) => End::Stop,
    };
    let close = |code, reason: &str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_owned()),
        }))
    };
    let grace = shared.settings.stop_timeout;
    let counters = &shared.counters;
    let last = match end {
        End::Gone | End::Watch(Why::Gone) => return,
        End::Closed => {
            // Writes the close frame tungstenite queued in answer.
            let _ = tokio::time::timeout(grace, sink.flush()).await;
            return;
        }
        End::Broken(code, why) => close(code, why),
        End::Oversized => {
            counters.oversized.fetch_add(1, Ordering::Relaxed);
            close(CloseCode::Size, "a message over max_request_bytes")
        }
        End::Slow => {
            counters.slow_disconnects.fetch_add(1, Ordering::Relaxed);
            close(
                CloseCode::Policy,
                "answers piled up unread (max_queued_answers, max_queued_bytes)",
            )
        }
        End::Watch(why) => {
            shared.ended(why);
            match why {
                Why::Idle => close(CloseCode::Normal, "idle for idle_timeout_ms"),
                Why::Body | Why::Header => close(
                    CloseCode::Policy,
                    "a message took longer than body_timeout_ms",
                ),
                Why::OverBudget => close(
                    CloseCode::Again,
                    "the server holds max_request_bytes_total bytes of requests; try again",
                ),
                Why::Stalled | Why::Pipelined | Why::Gone => {
                    close(CloseCode::Policy, "answers went unread for idle_timeout_ms")
                }
            }
        }
        End::Stop => {
            // Parked POLLs and watches answer -23405; write those answers.
            link.session.close();
            let _ = tokio::time::timeout(grace, async {
                while let Ok(queued) = answers.try_recv() {
                    let (answer, _) = link.taken(queued);
                    if write(&mut sink, answer.to_text()).await.is_err() {
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

/// Writes one answer: as one text message, or in [`FRAGMENT`]s when it is
/// longer.
async fn write<S>(sink: &mut S, text: String) -> Result<(), Error>
where
    S: futures_util::Sink<Message, Error = Error> + Unpin,
{
    if text.len() <= FRAGMENT {
        return sink.send(Message::text(text)).await;
    }
    let bytes = Bytes::from(text);
    let count = bytes.len().div_ceil(FRAGMENT);
    for index in 0..count {
        let part = bytes.slice(index * FRAGMENT..bytes.len().min((index + 1) * FRAGMENT));
        let opcode = match index {
            0 => Data::Text,
            _ => Data::Continue,
        };
        let frame = Frame::message(part, OpCode::Data(opcode), index + 1 == count);
        sink.send(Message::Frame(frame)).await?;
    }
    Ok(())
}

/// Submits one request, or answers it at once when the connection's
/// limits refuse it.
fn submit(shared: &Shared, link: &Link, meter: &Meter, flight: &Mutex<Flight>, text: &str) {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let config = shared.config();
    let call = match shared.host.engine().parse(text) {
        Ok(call) => call,
        Err(refused) => return link.refuse(refused),
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
        return link.refuse(call.respond(Err(BrpError::invalid_request(refusal))));
    }
    match link.session.submit_tracked(text) {
        Ok(submitted) => {
            let mut flight = lock(flight);
            flight.waiting.insert(submitted.id);
            if submitted.streams {
                flight.watches.insert(submitted.id);
            }
            meter.in_flight(flight.waiting.len());
        }
        // Not the answer of a request in flight, even when it carries the
        // id of one (-23406): it frees no slot (see the writer).
        Err(refused) => link.refuse(refused),
    }
}

fn lock(flight: &Mutex<Flight>) -> std::sync::MutexGuard<'_, Flight> {
    flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
