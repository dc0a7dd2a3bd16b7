//! One connection's socket as hyper and tungstenite see it ([`Conn`]), and
//! what the server watches of it ([`Meter`]): when it last did anything,
//! whether a request is in progress or waits for its answer, whether the
//! client reads what it is sent, and the bytes of an unfinished WebSocket
//! message. [`Meter::watch`] turns that into the connection's timeouts
//! (docs/limits.md, "Server").
//!
//! While an HTTP request waits for its answer (a parked POLL, a watch's
//! event stream), hyper reads nothing more; the meter then reads ahead of
//! it, so that a client that goes away is noticed even with bytes
//! pipelined behind its request.

use super::budget::{Budget, Charge};
use super::config::Settings;
use bytes::{Buf, BytesMut};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// The most bytes read ahead of a waiting HTTP request; a client that
/// pipelines more behind it is disconnected.
pub(super) const MAX_AHEAD: usize = 64 << 10;
/// How much one read asks the socket for.
const READ_SIZE: usize = 16 << 10;

/// Why [`Meter::watch`] ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// The client closed its side or the socket failed.
    Gone,
    /// Nothing happened for `idle_timeout_ms`, or the connection was idle
    /// when a new one needed its slot.
    Idle,
    /// A request's headers took longer than `header_timeout_ms`.
    Header,
    /// A WebSocket message took longer than `body_timeout_ms`.
    Body,
    /// The client has read nothing of what it was sent for
    /// `idle_timeout_ms`.
    Stalled,
    /// More than [`MAX_AHEAD`] bytes pipelined behind a waiting request.
    Pipelined,
    /// An unfinished WebSocket message found no room in
    /// `max_request_bytes_total`.
    OverBudget,
}

/// What the server watches of one connection.
pub(super) struct Meter {
    stream: TcpStream,
    state: Mutex<State>,
    /// Notified when a change may bring a deadline closer.
    changed: Notify,
}

struct State {
    /// Bytes read from the socket and not yet handed on.
    ahead: BytesMut,
    /// The client closed its side (seen while reading ahead).
    eof: bool,
    /// When a byte was last read, a request finished or a write went out.
    active: Instant,
    /// HTTP requests in progress, or WebSocket requests in flight.
    busy: usize,
    /// HTTP requests waiting for their answer, read ahead of.
    waiting: usize,
    /// When the first byte of a request head came that no request has
    /// taken yet (HTTP, while nothing is in progress).
    head: Option<Instant>,
    /// Bytes came while a request was in progress: a head may have begun.
    read_while_busy: bool,
    /// Since when a write has waited for the client to read.
    blocked: Option<Instant>,
    /// The connection is a WebSocket: its reads are charged to `message`.
    websocket: bool,
    /// The bytes of the unfinished WebSocket message, and since when.
    message: Option<(Charge, Instant)>,
    budget: Arc<Budget>,
    over_budget: bool,
    /// Closed while idle to make room for a new connection.
    evicted: bool,
}

impl Meter {
    /// Watches `stream`, charging unfinished WebSocket messages to
    /// `budget`.
    pub(super) fn new(stream: TcpStream, budget: &Arc<Budget>) -> Arc<Self> {
        Arc::new(Self {
            stream,
            state: Mutex::new(State {
                ahead: BytesMut::new(),
                eof: false,
                active: Instant::now(),
                busy: 0,
                waiting: 0,
                head: None,
                read_while_busy: false,
                blocked: None,
                websocket: false,
                message: None,
                budget: Arc::clone(budget),
                over_budget: false,
                evicted: false,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state, and tells [`watch`](Self::watch).
    fn change(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state());
        self.changed.notify_one();
    }

    /// An HTTP request begins; it is in progress until the guard drops.
    pub(super) fn begin(self: &Arc<Self>) -> Busy {
        // Only takes deadlines away: `watch` need not know at once.
        let mut state = self.state();
        state.busy += 1;
        state.head = None;
        state.read_while_busy = false;
        // A request that begins before the eviction took effect wins.
        state.evicted = false;
        drop(state);
        Busy(Arc::clone(self))
    }

    /// The connection is now a WebSocket.
    pub(super) fn websocket(&self) {
        self.change(|state| {
            state.websocket = true;
            state.busy = 0;
            state.active = Instant::now();
        });
    }

    /// WebSocket: `count` requests are now in flight.
    pub(super) fn in_flight(&self, count: usize) {
        let mut state = self.state();
        state.evicted &= count == 0;
        if (state.busy == 0) != (count == 0) {
            state.busy = count;
            state.active = Instant::now();
            drop(state);
            self.changed.notify_one();
        } else {
            state.busy = count;
        }
    }

    /// WebSocket: a whole message (or frame) was read; its bytes leave
    /// the budget.
    pub(super) fn message_read(&self) {
        let mut state = self.state();
        state.active = Instant::now();
        if state.message.take().is_some() {
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Whether an unfinished WebSocket message found no room in the
    /// budget.
    pub(super) fn over_budget(&self) -> bool {
        self.state().over_budget
    }

    /// Since when the connection has been idle (nothing in progress or in
    /// flight, nothing begun, nothing waiting to be written); `None` when
    /// it is not.
    pub(super) fn idle_since(&self) -> Option<Instant> {
        let state = self.state();
        let idle = state.busy == 0
            && state.head.is_none()
            && state.message.is_none()
            && state.blocked.is_none()
            && !state.evicted;
        idle.then_some(state.active)
    }

    /// Closes the connection if it is still idle, to make room for
    /// another; false if it is not idle any more.
    pub(super) fn evict(&self) -> bool {
        let mut state = self.state();
        if state.busy > 0 || state.head.is_some() || state.message.is_some() || state.evicted {
            return false;
        }
        state.evicted = true;
        drop(state);
        self.changed.notify_one();
        true
    }

    /// Resolves when the connection must end, and says why; runs beside
    /// the connection for its whole life.
    pub(super) async fn watch(&self, settings: &Settings) -> Why {
        let sleep = tokio::time::sleep(settings.idle_timeout);
        tokio::pin!(sleep);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (deadline, read_ahead) = match self.next(settings) {
                Ok(next) => next,
                Err(why) => return why,
            };
            if let Some(deadline) = deadline.map(tokio::time::Instant::from_std)
                && sleep.deadline() != deadline
            {
                sleep.as_mut().reset(deadline);
            }
            tokio::select! {
                _ = changed => {}
                _ = &mut sleep, if deadline.is_some() => {}
                ready = self.stream.readable(), if read_ahead => {
                    if ready.is_err() {
                        return Why::Gone;
                    }
                    if let Some(why) = self.read_ahead() {
                        return why;
                    }
                }
            }
        }
    }

    /// The next deadline, and whether to read ahead until then; or why
    /// the connection ends now.
    fn next(&self, settings: &Settings) -> Result<(Option<Instant>, bool), Why> {
        let state = self.state();
        if state.eof {
            return Err(Why::Gone);
        }
        if state.over_budget {
            return Err(Why::OverBudget);
        }
        if state.evicted {
            return Err(Why::Idle);
        }
        let mut deadlines = Vec::with_capacity(2);
        if let Some(since) = state.blocked {
            deadlines.push((since + settings.idle_timeout, Why::Stalled));
        }
        let idle = (state.active + settings.idle_timeout, Why::Idle);
        let mut read_ahead = false;
        if state.websocket {
            match &state.message {
                Some((_, since)) => deadlines.push((*since + settings.body_timeout, Why::Body)),
                None if state.busy == 0 => deadlines.push(idle),
                None => {}
            }
        } else if state.busy > 0 {
            read_ahead = state.waiting > 0;
        } else {
            match state.head {
                Some(since) => deadlines.push((since + settings.header_timeout, Why::Header)),
                None => deadlines.push(idle),
            }
        }
        let first = deadlines.into_iter().min_by_key(|(at, _)| *at);
        match first {
            Some((at, why)) if at <= Instant::now() => Err(why),
            first => Ok((first.map(|(at, _)| at), read_ahead)),
        }
    }

    /// Reads what the socket has into the read-ahead buffer; says why the
    /// connection ends, if it does.
    fn read_ahead(&self) -> Option<Why> {
        let mut state = self.state();
        if state.ahead.len() >= MAX_AHEAD {
            return Some(Why::Pipelined);
        }
        match self.fill(&mut state) {
            Ok(0) => {
                state.eof = true;
                Some(Why::Gone)
            }
            Ok(_) => None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(_) => Some(Why::Gone),
        }
    }

    /// One non-blocking read from the socket into `state.ahead`.
    fn fill(&self, state: &mut State) -> io::Result<usize> {
        state.ahead.reserve(READ_SIZE);
        let read = self.stream.try_read_buf(&mut state.ahead)?;
        if read > 0 {
            // Not idle any more: an eviction not yet carried out is off.
            state.evicted = false;
            state.active = Instant::now();
            if state.busy > 0 {
                state.read_while_busy = true;
            } else if state.head.is_none() && !state.websocket {
                state.head = Some(state.active);
                self.changed.notify_one();
            }
        }
        Ok(read)
    }
}

/// An HTTP request in progress (see [`Meter::begin`]).
pub(super) struct Busy(Arc<Meter>);

impl Busy {
    /// The request waits for its answer until the guard drops: the meter
    /// reads ahead meanwhile.
    pub(super) fn wait(&self) -> Waiting {
        self.0.change(|state| state.waiting += 1);
        Waiting(Arc::clone(&self.0))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.change(|state| {
            state.busy = state.busy.saturating_sub(1);
            state.active = Instant::now();
            if state.busy == 0 && state.read_while_busy {
                state.head = Some(state.active);
            }
        });
    }
}

/// An HTTP request waiting for its answer (see [`Busy::wait`]).
pub(super) struct Waiting(Arc<Meter>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0
            .change(|state| state.waiting = state.waiting.saturating_sub(1));
    }
}

/// The socket of a [`Meter`], as hyper and tungstenite read and write it.
pub(super) struct Conn(pub(super) Arc<Meter>);

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let meter = &*self.0;
        loop {
            let mut state = meter.state();
            if !state.ahead.is_empty() || state.eof {
                let n = state.ahead.len().min(buf.remaining());
                buf.put_slice(&state.ahead[..n]);
                state.ahead.advance(n);
                return Poll::Ready(Ok(()));
            }
            drop(state);
            ready!(meter.stream.poll_read_ready(cx))?;
            let mut state = meter.state();
            match meter.fill(&mut state) {
                Ok(0) => state.eof = true,
                Ok(read) if state.websocket => {
                    let now = Instant::now();
                    let budget = Arc::clone(&state.budget);
                    let message =
                        (state.message).get_or_insert_with(|| (Charge::new(&budget), now));
                    if !message.0.add(read) {
                        state.over_budget = true;
                        drop(state);
                        meter.changed.notify_one();
                        return Poll::Ready(Err(io::Error::other(
                            "unfinished messages are over max_request_bytes_total",
                        )));
                    }
                    let begun = message.1 == now;
                    drop(state);
                    if begun {
                        meter.changed.notify_one();
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Conn {
    /// Notes whether a write had to wait for the client.
    fn wrote<T>(&self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let blocked = poll.is_pending();
        let mut state = self.0.state();
        if blocked == state.blocked.is_some() {
            return poll;
        }
        let now = Instant::now();
        state.blocked = blocked.then_some(now);
        state.active = now;
        drop(state);
        self.0.changed.notify_one();
        poll
    }

    fn write_with<T>(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        let stream = &self.0.stream;
        let poll = loop {
            match stream.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
            match write(stream) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => break Poll::Ready(done),
            }
        };
        self.wrote(poll)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_with(cx, |stream| stream.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // `writev` on a socket the client reset raises SIGPIPE, which kills
        // a host process (C, C++) that does not ignore it: `sendmsg` with
        // MSG_NOSIGNAL instead, as std's own `write` does.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.write_with(cx, |stream| {
            stream.try_io(tokio::io::Interest::WRITABLE, || {
                socket2::SockRef::from(stream).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
            })
        });
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        self.write_with(cx, |stream| stream.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let socket = socket2::SockRef::from(&self.0.stream);
        Poll::Ready(match socket.shutdown(std::net::Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerConfig;
    use crate::server::budget::Budget;

    /// A meter on one end of a loopback connection (the other end kept).
    fn watched() -> (Arc<Meter>, std::net::TcpStream, tokio::runtime::Runtime) {
        let runtime = (tokio::runtime::Builder::new_current_thread().enable_all())
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let stream = runtime.block_on(async { TcpStream::from_std(server).unwrap() });
        (Meter::new(stream, &Budget::new(1 << 20)), client, runtime)
    }

    #[test]
    fn an_eviction_takes_only_an_idle_connection() {
        let settings = (ServerConfig::default())
            .settings("127.0.0.1:0".parse().unwrap())
            .unwrap();
        let (meter, _client, _runtime) = watched();
        assert!(meter.idle_since().is_some());
        assert!(meter.evict());
        assert_eq!(meter.next(&settings).unwrap_err(), Why::Idle);
        let (meter, _client, _runtime) = watched();
        assert!(meter.evict());
        let busy = meter.begin(); // a request came before the eviction took effect
        assert!(meter.next(&settings).is_ok(), "the request wins");
        assert!(!meter.evict(), "a busy connection is not evicted");
        drop(busy);
        meter.in_flight(1);
        assert!(meter.idle_since().is_none());
    }
}
