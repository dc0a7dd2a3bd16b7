//! [`Session`]: one client's request-id scope and response queue on a [`Host`].
//!
//! Requests can be answered in place ([`Session::request`], which blocks
//! while a POLL is parked) or submitted ([`Session::submit`]), whose
//! responses arrive, possibly out of order, through [`Session::receive`] or a
//! callback. Side effects apply in submission order: a submitted request is
//! carried out before `submit` returns; only POLLs wait.

use crate::error::{BrpError, ErrorCode};
use crate::host::Host;
use crate::methods::{Action, Call};
use crate::params::Params;
use crate::poll::{Completion, Owner, Stream};
use crate::protocol::{self, Response};
use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

thread_local! {
    /// True while this thread runs a session callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
    /// Deliveries made on this thread while a callback ran, in order.
    static PENDING: RefCell<VecDeque<(Arc<Inner>, Response)>> = const { RefCell::new(VecDeque::new()) };
}

/// A request [`Session::submit_tracked`] carried out or parked.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(
    not(feature = "server"),
    allow(dead_code, reason = "read by the server")
)]
pub(crate) struct Submitted {
    /// Its id.
    pub(crate) id: u64,
    /// A watch: it answers once or more, its last answer an error.
    pub(crate) streams: bool,
}

/// Why [`Session::receive`] returned no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoResponse {
    /// None came within the timeout.
    TimedOut,
    /// The session is closed and its queue drained: none will come.
    Closed,
}

/// Receives a session's submitted responses when set with
/// [`Session::set_callback`].
pub type Callback = Arc<dyn Fn(Response) + Send + Sync>;

/// One client's id scope: ids are unique among the session's requests in
/// flight, and independent of other sessions' ids.
///
/// Dropping a session closes it (see [`Session::close`]).
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    app: Host,
    owner: Owner,
    /// Set first thing by `close`; read under the engine's lock before a
    /// POLL parks, so none parks after `close` cancelled the session's POLLs.
    closing: AtomicBool,
    in_flight: Mutex<HashSet<u64>>,
    outbox: Mutex<Outbox>,
    changed: Condvar,
}

#[derive(Default)]
struct Outbox {
    queue: VecDeque<Response>,
    callback: Option<Callback>,
    /// Callbacks running or queued on a thread; `close` waits for them.
    delivering: usize,
    closed: bool,
}

impl Host {
    /// A new session: its own request-id scope and response queue.
    pub fn session(&self) -> Session {
        Session {
            inner: Arc::new(Inner {
                app: self.clone(),
                owner: self.engine().next_owner(true),
                closing: AtomicBool::new(false),
                in_flight: Mutex::default(),
                outbox: Mutex::default(),
                changed: Condvar::new(),
            }),
        }
    }
}

impl Session {
    /// The app this session talks to.
    pub fn app(&self) -> &Host {
        &self.inner.app
    }

    /// Answers one request given as JSON text; a POLL blocks until it
    /// answers, times out or is cancelled (from another thread, with
    /// [`Session::cancel`] or a CANCEL request).
    pub fn request(&self, text: &str) -> String {
        self.respond(text).into_text()
    }

    /// [`Session::request`], returning a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        self.respond_interruptible(text, || false)
    }

    /// [`Session::respond`], for a caller that must be able to give up: while
    /// a POLL waits, `interrupted` is called on the waiting thread every
    /// [`WAIT_SLICE`](crate::WAIT_SLICE); once it returns true, the POLL is
    /// cancelled and answers [`ErrorCode::Cancelled`]. (Python uses it to
    /// let Ctrl-C through.)
    pub fn respond_interruptible(&self, text: &str, interrupted: impl FnMut() -> bool) -> Response {
        let call = match self.admit(text) {
            Ok(call) => call,
            Err(response) => return response,
        };
        let id = call.id;
        let response = match call.method.action {
            Action::Cancel => self.cancel_request(&call),
            _ => (self.inner.app.engine()).answer(
                call,
                self.inner.owner,
                &|| self.inner.open(),
                interrupted,
            ),
        };
        self.inner.leave(id);
        response
    }

    /// Submits one request without waiting for its response, which arrives
    /// through [`Session::receive`] or the callback. Every submission gets
    /// exactly one response, including parse errors (with id `null`).
    pub fn submit(&self, text: &str) {
        if let Err(refused) = self.try_submit(text) {
            self.inner.deliver(refused);
        }
    }

    /// [`Session::submit`], except that a request refused before it is
    /// carried out — text that cannot be read (its answer's id is `null`),
    /// an id already in flight, a closed session — returns its answer here
    /// instead of delivering it, so the caller knows whose answer it is.
    pub fn try_submit(&self, text: &str) -> Result<(), Response> {
        self.submit_tracked(text).map(drop)
    }

    /// [`Session::try_submit`], returning what was submitted: its id, and
    /// whether it streams (a watch, which answers until its error).
    pub(crate) fn submit_tracked(&self, text: &str) -> Result<Submitted, Response> {
        let call = self.admit(text)?;
        let submitted = Submitted {
            id: call.id,
            streams: matches!(call.method.action, Action::Watch(_)),
        };
        let response = match call.method.action {
            Action::Cancel => Some(self.cancel_request(&call)),
            _ => {
                let inner = Arc::clone(&self.inner);
                let complete = move || -> Completion { Box::new(move |r| inner.finish(r)) };
                let inner = Arc::clone(&self.inner);
                let stream: Stream = Arc::new(move |r| inner.stream(r));
                let open = || self.inner.open();
                (self.inner.app.engine()).dispatch(
                    call,
                    self.inner.owner,
                    &open,
                    complete,
                    Some(stream),
                )
            }
        };
        if let Some(response) = response {
            self.inner.finish(response);
        }
        Ok(submitted)
    }

    /// The next submitted request's response, waiting up to `timeout`
    /// (`None`, or a timeout too long to add to now: for ever); or why
    /// there is none.
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Response, NoResponse> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut outbox = self.inner.outbox();
        loop {
            if let Some(response) = outbox.queue.pop_front() {
                return Ok(response);
            }
            if outbox.closed {
                return Err(NoResponse::Closed);
            }
            outbox = match deadline {
                None => self
                    .inner
                    .changed
                    .wait(outbox)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return Err(NoResponse::TimedOut);
                    };
                    self.inner
                        .changed
                        .wait_timeout(outbox, left)
                        .map(|(outbox, _)| outbox)
                        .unwrap_or_else(|p| p.into_inner().0)
                }
            };
        }
    }

    /// Sends submitted responses to `callback` instead of the queue (`None`
    /// restores the queue). The callback runs on the thread that completes
    /// the request: the submitting thread for answers given at once, the
    /// thread whose change woke a POLL, or the thread that cancels, closes
    /// or times it out. It runs with no lock of the library held, so it may
    /// make any call except closing or dropping its own session.
    pub fn set_callback(&self, callback: Option<Callback>) {
        self.inner.outbox().callback = callback;
    }

    /// Fails this session's parked POLL or open watch `id` with
    /// [`ErrorCode::Cancelled`]; false if there is none.
    pub fn cancel(&self, id: u64) -> bool {
        (self.inner.app.engine()).cancel(self.inner.owner, id, "cancelled by the client")
    }

    /// Fails every parked POLL of the session with [`ErrorCode::Cancelled`]
    /// (their responses are delivered first), refuses further requests, and
    /// returns once no callback of this session is running. Idempotent.
    ///
    /// Called from inside a callback (of any session), it does not wait for
    /// callbacks running on other threads, so callbacks that close each
    /// other's sessions cannot deadlock; no callback of the session starts
    /// after it returns.
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        (self.inner.app.engine()).cancel_all(self.inner.owner, "the session was closed");
        let mut outbox = self.inner.outbox();
        outbox.closed = true;
        self.inner.changed.notify_all();
        if IN_CALLBACK.get() {
            return;
        }
        while outbox.delivering > 0 {
            outbox = self
                .inner
                .changed
                .wait(outbox)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Parses `text` and claims its id for this session.
    fn admit<'a>(&self, text: &'a str) -> Result<Call<'a>, Response> {
        let call = self.inner.app.engine().parse(text)?;
        let refuse = |code, message: String| call.respond(Err(BrpError::new(code, message)));
        if !self.inner.open() {
            return Err(refuse(
                ErrorCode::Cancelled,
                "the session is closed".to_owned(),
            ));
        }
        let id = call.id;
        if !self.inner.in_flight().insert(id) {
            return Err(refuse(
                ErrorCode::DuplicateId,
                format!("request id {id} is already in flight in this session"),
            ));
        }
        Ok(call)
    }

    /// CANCEL `{"id": <id of a parked POLL>}` → `{"status": "OK"}`.
    fn cancel_request(&self, call: &Call<'_>) -> Response {
        let result = Params::read(call.params, call.method.params).and_then(|params| {
            let target = params.required("id")?.as_u64().ok_or_else(|| {
                BrpError::invalid_params("params.id must be the id of a parked POLL")
            })?;
            if self.cancel(target) {
                protocol::ok()
            } else {
                Err(BrpError::invalid_params(format!(
                    "no POLL {target} is parked in this session"
                )))
            }
        });
        call.respond(result)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    /// Releases the response's id, then delivers the response.
    fn finish(self: &Arc<Self>, response: Response) {
        if let Some(id) = response.id {
            self.leave(id);
        }
        self.deliver(response);
    }

    /// False once `close` has begun.
    fn open(&self) -> bool {
        !self.closing.load(Ordering::SeqCst)
    }

    fn leave(&self, id: u64) {
        self.in_flight().remove(&id);
    }

    /// Hands on one answer of a watch, unless the queue already holds
    /// `Config::max_watch_backlog` unreceived answers: the watch then ends.
    fn stream(self: &Arc<Self>, response: Response) {
        let engine = self.app.engine();
        let max = engine.max_watch_backlog;
        let full = {
            let outbox = self.outbox();
            outbox.callback.is_none() && outbox.queue.len() >= max
        };
        match response.id {
            Some(id) if full => {
                let why = format!(
                    "{max} answers wait unreceived in the session's queue \
                     (Config.max_watch_backlog)"
                );
                engine.cancel(self.owner, id, &why);
            }
            _ => self.deliver(response),
        }
    }

    /// Hands a response to the callback, or queues it for `receive`.
    ///
    /// On a thread that is already running a callback, the delivery waits in
    /// that thread's queue until the running callback returns: a callback
    /// that submits the next request is never entered again from inside
    /// itself, however long the chain.
    fn deliver(self: &Arc<Self>, response: Response) {
        let mut outbox = self.outbox();
        if outbox.callback.is_none() || outbox.closed {
            outbox.queue.push_back(response);
            self.changed.notify_all();
            return;
        }
        outbox.delivering += 1;
        drop(outbox);
        PENDING.with_borrow_mut(|pending| pending.push_back((Arc::clone(self), response)));
        if IN_CALLBACK.replace(true) {
            return; // the callback running below us on this thread drains it
        }
        while let Some((inner, response)) = PENDING.with_borrow_mut(VecDeque::pop_front) {
            inner.run_callback(response);
        }
        IN_CALLBACK.set(false);
    }

    /// Runs the callback on a delivery counted in `delivering` (or queues
    /// the response if the session closed or dropped its callback since).
    fn run_callback(&self, response: Response) {
        let callback = {
            let mut outbox = self.outbox();
            match outbox.callback.clone() {
                Some(callback) if !outbox.closed => callback,
                _ => {
                    outbox.queue.push_back(response);
                    outbox.delivering -= 1;
                    self.changed.notify_all();
                    return;
                }
            }
        };
        // A panicking callback must not leave `close` waiting for ever.
        let _ = catch_unwind(AssertUnwindSafe(|| callback(response)));
        self.outbox().delivering -= 1;
        self.changed.notify_all();
    }

    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_flight(&self) -> MutexGuard<'_, HashSet<u64>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
