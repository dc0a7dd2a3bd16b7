//! What the server's connections share, and one connection's session with
//! its bounded queue of answers.

use super::ServerStats;
use super::budget::Budget;
use super::config::{ServerConfig, Settings};
use super::io::{Meter, Why};
use crate::host::Host;
use crate::protocol::Response;
use crate::session::Session;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use tokio::sync::{Notify, mpsc, watch};

/// What every connection of one server shares.
pub(super) struct Shared {
    pub(super) host: Host,
    pub(super) settings: Settings,
    pub(super) counters: Arc<Counters>,
    /// Request bytes held, all connections together.
    pub(super) budget: Arc<Budget>,
    /// Turns true when the server stops.
    pub(super) stopped: watch::Receiver<bool>,
    /// Every open connection's meter (and some closed ones', pruned as
    /// they are found).
    pub(super) meters: Mutex<Vec<Weak<Meter>>>,
}

impl Shared {
    /// The server's settings as configured.
    pub(super) fn config(&self) -> &ServerConfig {
        &self.settings.config
    }

    /// Whether `authorization` (the request's header) carries the token,
    /// compared in constant time; true when no token is set.
    pub(super) fn authorized(&self, authorization: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(token) = &self.config().token else {
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

    /// Notes a new connection's meter, for [`evict_idle`](Self::evict_idle).
    pub(super) fn register(&self, meter: &Arc<Meter>) {
        lock(&self.meters).push(Arc::downgrade(meter));
    }

    /// Closes the connection idle the longest, to make room for a new one
    /// at `max_connections`; false if none is idle.
    pub(super) fn evict_idle(&self) -> bool {
        let mut meters = lock(&self.meters);
        meters.retain(|meter| meter.strong_count() > 0);
        let oldest = (meters.iter())
            .filter_map(Weak::upgrade)
            .filter_map(|meter| Some((meter.idle_since()?, meter)))
            .min_by_key(|(since, _)| *since);
        oldest.is_some_and(|(_, meter)| meter.evict())
    }

    /// Counts a connection the server ends for `why`.
    pub(super) fn ended(&self, why: Why) {
        let counter = match why {
            Why::Gone => return,
            Why::Idle | Why::Header | Why::Body => &self.counters.timeouts,
            Why::Stalled => &self.counters.slow_disconnects,
            Why::Pipelined => &self.counters.oversized,
            Why::OverBudget => &self.counters.busy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
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
    pub(super) forbidden: AtomicU64,
    pub(super) oversized: AtomicU64,
    pub(super) busy: AtomicU64,
    pub(super) timeouts: AtomicU64,
    pub(super) slow_disconnects: AtomicU64,
    pub(super) accept_errors: AtomicU64,
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
            forbidden: read(&self.forbidden),
            oversized: read(&self.oversized),
            busy: read(&self.busy),
            timeouts: read(&self.timeouts),
            slow_disconnects: read(&self.slow_disconnects),
            accept_errors: read(&self.accept_errors),
        }
    }
}

/// An answer waiting to be written.
pub(super) struct Queued {
    pub(super) answer: Response,
    /// Made by the connection itself (a refusal of its limits): it ends
    /// no request of the session's.
    pub(super) refusal: bool,
    /// Its size, as counted against `max_queued_bytes`.
    bytes: usize,
}

/// One connection's session and the answers it has not written yet.
pub(super) struct Link {
    pub(super) session: Session,
    /// The connection's answers, in the order they were made.
    pub(super) answers: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
    /// Queues an answer the connection makes itself (a refusal).
    sender: mpsc::Sender<Queued>,
    backlog: Arc<Backlog>,
}

/// The answers queued for a connection, and whether they piled up past
/// its limits: the connection is then closed.
struct Backlog {
    max_answers: usize,
    max_bytes: usize,
    bytes: AtomicUsize,
    overflowed: AtomicBool,
    notify: Notify,
}

impl Backlog {
    /// Queues `answer`, or marks the connection as fallen behind.
    fn queue(&self, queue: &mpsc::Sender<Queued>, answer: Response, refusal: bool) {
        let bytes = size(&answer);
        let queued = self.max_answers - queue.capacity();
        let fits = queue
            .try_send(Queued {
                answer,
                refusal,
                bytes,
            })
            .is_ok();
        let total = self.bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        // One answer, however large, may always wait.
        let over = total > self.max_bytes && queued > 0;
        if (!fits || over) && !self.overflowed.swap(true, Ordering::SeqCst) {
            self.notify.notify_waiters();
        }
        if !fits {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        }
    }
}

/// An answer's size in the queue: its body and framing.
fn size(answer: &Response) -> usize {
    const FRAMING: usize = 64;
    FRAMING
        + match &answer.result {
            Ok(body) => body.get().len(),
            Err(error) => error.message.len(),
        }
}

impl Link {
    /// A new session on `shared.host` whose answers queue for this
    /// connection.
    pub(super) fn new(shared: &Shared) -> Self {
        let config = shared.config();
        let (sender, receiver) = mpsc::channel(config.max_queued_answers);
        let backlog = Arc::new(Backlog {
            max_answers: config.max_queued_answers,
            max_bytes: config.max_queued_bytes,
            bytes: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
            notify: Notify::new(),
        });
        let session = shared.host.session();
        let (flag, queue) = (Arc::clone(&backlog), sender.clone());
        session.set_callback(Some(Arc::new(move |answer| {
            flag.queue(&queue, answer, false)
        })));
        Self {
            session,
            answers: Arc::new(tokio::sync::Mutex::new(receiver)),
            sender,
            backlog,
        }
    }

    /// Queues `refusal`, an answer the connection makes itself, for the
    /// connection to write.
    pub(super) fn refuse(&self, refusal: Response) {
        self.backlog.queue(&self.sender, refusal, true);
    }

    /// Takes `queued` out of the backlog: it is being written.
    pub(super) fn taken(&self, queued: Queued) -> (Response, bool) {
        self.backlog.bytes.fetch_sub(queued.bytes, Ordering::AcqRel);
        (queued.answer, queued.refusal)
    }

    /// Resolves once the client has let answers pile up past the limits.
    pub(super) async fn overflow(&self) {
        let backlog = &self.backlog;
        loop {
            let notified = backlog.notify.notified();
            if backlog.overflowed.load(Ordering::SeqCst) {
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
