//! The engine: one world's state behind one lock, and everything that must
//! happen under it in order — answering requests, parking POLLs, waking them
//! after every change, expiring their timeouts, closing.
//!
//! [`Host`](crate::Host) and [`Session`](crate::Session) are thin handles on
//! an engine (docs/architecture.md).

use crate::config::Config;
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::methods::{self, Action, Call};
use crate::params::Params;
use crate::poll::{
    Completion, Fired, Outlet, Owner, Parked, ParkedPoll, Poll, Stream, Waiter, Watch,
};
use crate::protocol::{Body, Response};
use crate::world::Ecs;
use crate::world::context::Context;
use crate::world::touched::Touched;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a blocked POLL waits between two calls of its `interrupted`
/// test.
pub const WAIT_SLICE: Duration = Duration::from_millis(20);

/// One world and its parked POLLs, shared by every handle.
pub(crate) struct Engine {
    /// The longest request text read (`Config::max_request_bytes`), kept
    /// outside the lock: text is measured before the lock is taken.
    max_request_bytes: usize,
    /// `Config::max_watch_backlog`, read by sessions outside the lock.
    pub(crate) max_watch_backlog: usize,
    state: Mutex<State>,
    /// Wakes the timeout thread when an earlier deadline is parked.
    timer: Condvar,
    next_session: AtomicU64,
}

/// What the engine's lock guards.
pub(crate) struct State {
    /// The world and what answers requests against it.
    pub(crate) host: Ecs,
    /// POLLs waiting for a change.
    parked: Parked,
    /// Set by [`Engine::close`]: new POLLs are refused.
    closed: bool,
    /// True while the thread that expires POLL timeouts runs.
    timer_running: bool,
    /// Changes since the world's trackers were last cleared.
    changes_since_clear: usize,
}

/// How many changes the world's removal events may span when `update()` is
/// not called (docs/limits.md): `update()` clears them every frame, and a
/// world driven by requests alone clears them after this many changes, so
/// they cannot grow without bound.
const CHANGES_PER_CLEAR: usize = 16_384;

impl Engine {
    /// An engine on a new world made with `config`.
    pub(crate) fn new(config: Config, install: impl FnOnce(&mut bevy_app::App)) -> BrpResult<Self> {
        let mut host = Ecs::new(config, install)?;
        // What building the app wrote (plugins' resources and entities)
        // is older than the first answer's watermark.
        host.world.increment_change_tick();
        Ok(Self {
            max_request_bytes: host.config.max_request_bytes,
            max_watch_backlog: host.config.max_watch_backlog,
            state: Mutex::new(State {
                host,
                parked: Parked::default(),
                closed: false,
                timer_running: false,
                changes_since_clear: 0,
            }),
            timer: Condvar::new(),
            next_session: AtomicU64::new(1),
        })
    }

    /// Reads request text and looks its request up, refusing text longer
    /// than the configured limit before reading any of it.
    pub(crate) fn parse<'a>(&self, text: &'a str) -> Result<Call<'a>, Response> {
        if text.len() > self.max_request_bytes {
            return Err(Response::error(
                None,
                BrpError::invalid_request(format!(
                    "the request is {} bytes, over the limit of {} (Config.max_request_bytes)",
                    text.len(),
                    self.max_request_bytes
                )),
            ));
        }
        methods::parse(text)
    }

    /// Takes the lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A new owner: a session's, or one sessionless call's.
    pub(crate) fn next_owner(&self, session: bool) -> Owner {
        Owner {
            id: self.next_session.fetch_add(1, Ordering::Relaxed),
            session,
        }
    }

    /// Runs one frame, `f`, under the lock: as [`mutate`](Self::mutate),
    /// and then clears the world's trackers (removal events), as a frame
    /// of a Bevy app does.
    pub(crate) fn frame<R>(&self, f: impl FnOnce(&mut Ecs) -> R) -> R {
        self.change(true, f)
    }

    /// Changes the world under the lock, then advances the change tick and
    /// wakes the POLLs the change satisfies.
    pub(crate) fn mutate<R>(&self, f: impl FnOnce(&mut Ecs) -> R) -> R {
        self.change(false, f)
    }

    fn change<R>(&self, frame: bool, f: impl FnOnce(&mut Ecs) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state.host);
        if frame {
            state.host.world.clear_trackers();
            state.changes_since_clear = 0;
        }
        let fired = state.changed(Touched::All);
        drop(state);
        fired.deliver();
        result
    }

    /// Answers `call`, blocking while a POLL is parked. `open` says, under
    /// the lock, whether the owner may still park a POLL.
    pub(crate) fn answer(
        self: &Arc<Self>,
        call: Call<'_>,
        owner: Owner,
        open: &dyn Fn() -> bool,
        mut interrupted: impl FnMut() -> bool,
    ) -> Response {
        if !matches!(call.method.action, Action::Poll) {
            return self.respond_now(call);
        }
        let (sender, receiver) = mpsc::sync_channel(1);
        let complete = move || -> Completion {
            Box::new(move |response| {
                // The receiver only goes away once it has its answer.
                let _ = sender.send(response);
            })
        };
        let id = call.id;
        if let Some(response) = self.dispatch(call, owner, open, complete, None) {
            return response;
        }
        loop {
            match receiver.recv_timeout(WAIT_SLICE) {
                Ok(response) => return response,
                Err(RecvTimeoutError::Timeout) => {
                    if interrupted() {
                        // Its completion sends the CANCELLED answer received
                        // next (or the answer that beat the cancel to it).
                        self.cancel(owner, id, "interrupted");
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Response::error(Some(id), cancelled(id, "the app was dropped"));
                }
            }
        }
    }

    /// Carries out `call`: returns its response, or parks it (a POLL whose
    /// answer has not changed) with the completion `complete` makes and
    /// returns `None`. A POLL whose owner is no longer `open` is cancelled
    /// instead of parked. A watch parks with its answers going to `stream`
    /// (the last, to `complete`'s completion); without a stream it is
    /// refused.
    pub(crate) fn dispatch(
        self: &Arc<Self>,
        call: Call<'_>,
        owner: Owner,
        open: &dyn Fn() -> bool,
        complete: impl FnOnce() -> Completion,
        stream: Option<Stream>,
    ) -> Option<Response> {
        match (call.method.action, stream) {
            (Action::Poll, _) => self.poll(call, owner, open, complete),
            (Action::Watch(watch), Some(stream)) => {
                self.watch(call, watch, owner, open, complete, stream)
            }
            _ => Some(self.respond_now(call)),
        }
    }

    /// Answers a call that never parks.
    fn respond_now(&self, call: Call<'_>) -> Response {
        let result = match call.method.action {
            Action::Answer { handler, mutates } => self.execute(&call, |host, ctx, params| {
                let result = handler(host, ctx, params);
                (mutates && result.is_ok(), result)
            }),
            Action::Cancel => Err(BrpError::invalid_request(
                "CANCEL cancels a POLL of the same session; send it through that session",
            )),
            Action::Poll => Err(BrpError::internal(
                "a POLL must be dispatched, not answered at once",
            )),
            Action::Watch(_) => Err(BrpError::invalid_request(format!(
                "{} answers once per change; submit it through a session",
                call.method.name
            ))),
        };
        call.respond(result)
    }

    /// Runs `f` under the lock with the call's params, catching panics. When
    /// `f` reports a change, advances the tick and wakes parked POLLs.
    fn execute(
        &self,
        call: &Call<'_>,
        f: impl FnOnce(&mut Ecs, &mut Context, &Params) -> (bool, BrpResult<Body>),
    ) -> BrpResult<Body> {
        let params = Params::read(call.params, call.method.params)?;
        let mut state = self.lock();
        let mut ctx = Context::new(call.form(), !state.parked.is_empty());
        let run = AssertUnwindSafe(|| f(&mut state.host, &mut ctx, &params));
        let (changed, result) = catch_unwind(run).unwrap_or_else(|_| {
            (
                true,
                Err(BrpError::internal("the request failed unexpectedly")),
            )
        });
        let fired = if changed {
            state.changed(ctx.touched())
        } else {
            Fired::default()
        };
        drop(state);
        fired.deliver();
        result
    }

    fn poll(
        self: &Arc<Self>,
        call: Call<'_>,
        owner: Owner,
        open: &dyn Fn() -> bool,
        complete: impl FnOnce() -> Completion,
    ) -> Option<Response> {
        let id = call.id;
        let respond = |result| Some(call.respond(result));
        let params = match Params::read(call.params, call.method.params) {
            Ok(params) => params,
            Err(error) => return respond(Err(error)),
        };
        let mut state = self.lock();
        let mut poll = match Poll::parse(&params, &state.host) {
            Ok(poll) => poll,
            Err(error) => return respond(Err(error)),
        };
        if state.closed {
            return respond(Err(cancelled(id, "the app was closed")));
        }
        match poll.answer(&mut state.host) {
            Ok(None) => {}
            Ok(Some(answer)) => return respond(Ok(answer)),
            Err(error) => return respond(Err(error)),
        }
        if let Err(error) = state.may_park(owner, id, "POLL", open) {
            return respond(Err(error));
        }
        let deadline = poll.timeout.map(|timeout| Instant::now() + timeout);
        state.parked.park(ParkedPoll {
            owner,
            id,
            waiter: Waiter::Poll(Box::new(poll), complete()),
            deadline,
        });
        if deadline.is_some() {
            self.start_timer(&mut state);
        }
        None
    }

    /// Parks the watch `call`, delivering its first answer (the current
    /// state) and then one per change to `stream`, and its last (an error)
    /// to `complete`'s completion; returns its response when it fails
    /// before it parks.
    fn watch(
        self: &Arc<Self>,
        call: Call<'_>,
        kind: methods::Watch,
        owner: Owner,
        open: &dyn Fn() -> bool,
        complete: impl FnOnce() -> Completion,
        stream: Stream,
    ) -> Option<Response> {
        let id = call.id;
        let respond = |result| Some(call.respond(result));
        let params = match Params::read(call.params, call.method.params) {
            Ok(params) => params,
            Err(error) => return respond(Err(error)),
        };
        let mut state = self.lock();
        let list = kind == methods::Watch::List;
        let mut watch = match Watch::parse(list, &params, &state.host) {
            Ok(watch) => watch,
            Err(error) => return respond(Err(error)),
        };
        if state.closed {
            return respond(Err(cancelled_as("watch", id, "the app was closed")));
        }
        if let Err(error) = state.may_park(owner, id, "watch", open) {
            return respond(Err(error));
        }
        let first = match watch.answer(&mut state.host) {
            Ok(Some(first)) => first,
            Ok(None) => return respond(Err(BrpError::internal("a watch's first answer is empty"))),
            Err(error) => return respond(Err(error)),
        };
        let outlet = Outlet::new(stream, complete(), self.max_watch_backlog);
        outlet.push(call.respond(Ok(first)), false);
        state.parked.park(ParkedPoll {
            owner,
            id,
            waiter: Waiter::Watch(watch, Arc::clone(&outlet)),
            deadline: None,
        });
        drop(state);
        outlet.flush();
        None
    }

    /// Fails the parked POLL `id` of `owner`; false if there is none.
    pub(crate) fn cancel(&self, owner: Owner, id: u64, why: &str) -> bool {
        let fired = self.lock().parked.cancel(
            |p| p.owner == owner && p.id == id,
            |p| cancelled_parked(p, why),
        );
        let found = !fired.is_empty();
        fired.deliver();
        found
    }

    /// Fails every parked POLL of `owner`.
    pub(crate) fn cancel_all(&self, owner: Owner, why: &str) {
        let fired = self
            .lock()
            .parked
            .cancel(|p| p.owner == owner, |p| cancelled_parked(p, why));
        fired.deliver();
    }

    /// Fails every parked POLL and refuses new ones.
    pub(crate) fn close(&self) {
        let fired = {
            let mut state = self.lock();
            state.closed = true;
            state
                .parked
                .cancel(|_| true, |p| cancelled_parked(p, "the app was closed"))
        };
        self.timer.notify_all();
        fired.deliver();
    }

    /// Makes sure the thread that fails timed-out POLLs runs, and wakes it
    /// to look at a new deadline.
    fn start_timer(self: &Arc<Self>, state: &mut State) {
        if state.timer_running {
            self.timer.notify_all();
            return;
        }
        state.timer_running = true;
        let engine = Arc::clone(self);
        std::thread::Builder::new()
            .name("brp-poll-timeout".into())
            .spawn(move || engine.expire_polls())
            .map(drop)
            .unwrap_or_else(|_| state.timer_running = false);
    }

    /// The timeout thread: fails parked POLLs when their deadline passes;
    /// ends when no parked POLL has a deadline.
    fn expire_polls(&self) {
        let mut state = self.lock();
        loop {
            let fired = state.parked.expire(Instant::now());
            if !fired.is_empty() {
                drop(state);
                fired.deliver();
                state = self.lock();
                continue;
            }
            let Some(deadline) = state.parked.next_deadline() else {
                state.timer_running = false;
                return;
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            state = self
                .timer
                .wait_timeout(state, wait)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }
}

impl State {
    /// Whether `what` (a POLL or a watch) `id` of `owner` may park: its
    /// owner is `open`, no request with its id is parked, and the owner,
    /// if a session, is under `Config::max_parked_polls_per_session`.
    fn may_park(
        &self,
        owner: Owner,
        id: u64,
        what: &str,
        open: &dyn Fn() -> bool,
    ) -> BrpResult<()> {
        if !open() {
            return Err(cancelled_as(what, id, "the session was closed"));
        }
        if self.parked.contains(owner, id) {
            return Err(BrpError::new(
                ErrorCode::DuplicateId,
                format!("{what} {id} is already parked"),
            ));
        }
        let max_parked = self.host.config.max_parked_polls_per_session;
        if owner.session && self.parked.count(owner) >= max_parked {
            return Err(BrpError::invalid_request(format!(
                "the session already has {max_parked} parked POLLs and watches, the limit \
                 (Config.max_parked_polls_per_session)"
            )));
        }
        Ok(())
    }

    /// Advances the change tick after a change and re-evaluates the parked
    /// POLLs that watch what it touched.
    fn changed(&mut self, touched: Touched) -> Fired {
        let world = &mut self.host.world;
        world.increment_change_tick();
        // Without `update()`, nothing else keeps old change ticks from
        // wrapping, or removal events from piling up.
        world.check_change_ticks();
        self.changes_since_clear += 1;
        if self.changes_since_clear >= CHANGES_PER_CLEAR {
            world.clear_trackers();
            self.changes_since_clear = 0;
        }
        // Keeps the value cache clear of values the change made stale.
        self.host.values.get_mut().maintain(&self.host.world);
        self.parked.wake(&mut self.host, &touched)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn cancelled(id: u64, why: &str) -> BrpError {
    cancelled_as("POLL", id, why)
}

/// The error that ends the parked POLL or watch `parked`.
fn cancelled_parked(parked: &ParkedPoll, why: &str) -> BrpError {
    let what = match parked.waiter {
        Waiter::Poll(..) => "POLL",
        Waiter::Watch(..) => "watch",
    };
    cancelled_as(what, parked.id, why)
}

fn cancelled_as(what: &str, id: u64, why: &str) -> BrpError {
    BrpError::new(
        ErrorCode::Cancelled,
        format!("{what} {id} was cancelled: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(engine: &Arc<Engine>, text: &str) -> String {
        match engine.parse(text) {
            Ok(call) => engine.answer(call, engine.next_owner(false), &|| true, || false),
            Err(response) => response,
        }
        .to_text()
    }

    const OWNER: Owner = Owner {
        id: 1,
        session: true,
    };

    #[test]
    fn removal_events_stay_bounded_without_update() {
        #[derive(bevy_ecs::component::Component)]
        struct Marker;
        let engine = Engine::new(Config::default(), |_| {}).unwrap();
        let entity = engine.mutate(|ecs| ecs.world.spawn_empty().id());
        for _ in 0..3 * CHANGES_PER_CLEAR {
            engine.mutate(|ecs| {
                ecs.world.entity_mut(entity).insert(Marker);
            });
            engine.mutate(|ecs| {
                ecs.world.entity_mut(entity).remove::<Marker>();
            });
        }
        let kept: usize = engine
            .lock()
            .host
            .world
            .removed_components()
            .iter()
            .map(|(_, messages)| messages.len())
            .sum();
        assert!(kept <= 2 * CHANGES_PER_CLEAR, "{kept} removal events kept");
    }

    #[test]
    fn a_write_evaluates_only_the_parked_polls_that_watch_what_it_touched() {
        let config = Config {
            components: vec!["A".into(), "B".into()],
            ..Config::default()
        };
        let engine = Arc::new(Engine::new(config, |_| {}).unwrap());
        let spawn =
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"A": {"JSON": "1"}}}}"#;
        assert!(request(&engine, spawn).contains("1v0"));
        let spawn =
            r#"{"id": 1, "request": "SPAWN", "params": {"components": {"B": {"JSON": "1"}}}}"#;
        assert!(request(&engine, spawn).contains("2v0"));
        let first = request(
            &engine,
            r#"{"id": 1, "request": "POLL", "params": {"data": {"components": ["A"]}}}"#,
        );
        let first: serde_json::Value = serde_json::from_str(&first).unwrap();
        let watermark = first["response"]["watermark"].as_str().unwrap();
        for id in 0..100 {
            let text = format!(
                r#"{{"id": {id}, "request": "POLL", "params": {{"data": {{"components": ["A"]}}, "watermark": "{watermark}"}}}}"#
            );
            let call = engine.parse(&text).ok().unwrap();
            let parked = engine.dispatch(call, OWNER, &|| true, || Box::new(drop), None);
            assert!(parked.is_none(), "POLL {id} parks");
        }
        let evaluated = || engine.lock().parked.evaluated;
        let unrelated = r#"{"id": 2, "request": "INSERT", "params": {"entity": "2v0", "components": {"B": {"JSON": "2"}}}}"#;
        assert!(request(&engine, unrelated).contains("OK"));
        assert_eq!(evaluated(), 0);
        let related = r#"{"id": 3, "request": "INSERT", "params": {"entity": "1v0", "components": {"A": {"JSON": "2"}}}}"#;
        assert!(request(&engine, related).contains("OK"));
        assert_eq!(evaluated(), 100);
        assert_eq!(engine.lock().parked.count(OWNER), 0);
    }
}
