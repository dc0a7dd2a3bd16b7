//! What the server's connections share, and one connection's session with
//! its bounded queue of answers.

use super::{ServerConfig, ServerStats};
use crate::host::Host;
use crate::protocol::Response;
use crate::session::Session;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Notify, mpsc, watch};

/// What every connection of one server shares.
pub(super) struct Shared {
    pub(super) host: Host,
    pub(super) config: ServerConfig,
    pub(super) counters: Arc<Counters>,
    /// Turns true when the server stops.
    pub(super) stopped: watch::Receiver<bool>,
}

impl Shared {
    /// Whether `authorization` (the request's header) carries the token,
    /// compared in constant time; true when no token is set.
    pub(super) fn authorized(&self, authorization: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(token) = &self.config.token else {
            return true;
        };
        let given = authorization
            .and_then(|value| value.strip_prefix(b"Bearer "))
            .unwrap_or_default();
        let authorized = bool::from(given.ct_eq(token.as_bytes()));
        if !authorized {
            self.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        }
        authorized
    }
}

/// The server's counters, read by [`Server::stats`](super::Server::stats).
#[derive(Default)]
pub(super) struct Counters {
    pub(super) connections: AtomicU64,
    pub(super) closed_connections: AtomicU64,
    pub(super) refused_connections: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) unauthorized: AtomicU64,
    pub(super) oversized: AtomicU64,
    pub(super) slow_disconnects: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> ServerStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let connections = read(&self.connections);
        ServerStats {
            connections,
            open_connections: connections.saturating_sub(read(&self.closed_connections)),
            refused_connections: read(&self.refused_connections),
            requests: read(&self.requests),
            unauthorized: read(&self.unauthorized),
            oversized: read(&self.oversized),
            slow_disconnects: read(&self.slow_disconnects),
        }
    }
}

/// One connection's session and the answers it has not written yet.
pub(super) struct Link {
    pub(super) session: Session,
    /// The connection's answers, in the order they were made.
    pub(super) answers: Arc<tokio::sync::Mutex<mpsc::Receiver<Response>>>,
    /// Queues an answer the connection makes itself (a refusal).
    sender: mpsc::Sender<Response>,
    /// Set, and notified, when the client let `max_queued_answers` answers
    /// pile up: the connection is then closed.
    overflowed: Arc<Overflow>,
}

#[derive(Default)]
struct Overflow {
    set: AtomicBool,
    notify: Notify,
}

impl Overflow {
    /// Queues `response`, or marks the connection as fallen behind.
    fn queue(&self, queue: &mpsc::Sender<Response>, response: Response) {
        if queue.try_send(response).is_err() && !self.set.swap(true, Ordering::SeqCst) {
            self.notify.notify_waiters();
        }
    }
}

impl Link {
    /// A new session on `shared.host` whose answers queue for this
    /// connection.
    pub(super) fn new(shared: &Shared) -> Self {
        let (sender, receiver) = mpsc::channel(shared.config.max_queued_answers);
        let overflowed = Arc::new(Overflow::default());
        let session = shared.host.session();
        let (flag, queue) = (Arc::clone(&overflowed), sender.clone());
        session.set_callback(Some(Arc::new(move |response| flag.queue(&queue, response))));
        Self {
            session,
            answers: Arc::new(tokio::sync::Mutex::new(receiver)),
            sender,
            overflowed,
        }
    }

    /// Queues `response` for the connection to write.
    pub(super) fn answer(&self, response: Response) {
        self.overflowed.queue(&self.sender, response);
    }

    /// Resolves once the client has let answers pile up past the limit.
    pub(super) async fn overflow(&self) {
        loop {
            let notified = self.overflowed.notify.notified();
            if self.overflowed.set.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.session.close();
    }
}

/// Resolves once the server stops.
pub(super) async fn stopping(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Counts a connection as closed when dropped.
pub(super) struct Open(pub(super) Arc<Counters>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.closed_connections.fetch_add(1, Ordering::Relaxed);
    }
}
