//! [`App`]: a shareable handle to an embedded world that answers requests.

use crate::config::Config;
use crate::dispatch::Action;
use crate::error::{BrpError, BrpResult, ErrorCode};
use crate::host::Host;
use crate::params::Params;
use crate::parked::{self, Completion, Fired, Owner, ParkedPoll};
use crate::poll::Poll;
use crate::protocol::{self, Body, Request, Response};
use crate::session::Session;
use bevy_ecs::component::Component;
use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule};
use bevy_ecs::system::ScheduleSystem;
use bevy_ecs::world::World;
use bevy_reflect::GetTypeRegistration;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Instant;

/// An embedded Bevy world that answers BRP requests in the caller's thread.
///
/// Cloning an `App` makes another handle to the same world. It is
/// `Send + Sync`: one lock orders every request, so side effects apply in
/// the order requests arrive.
#[derive(Clone)]
pub struct App {
    shared: Arc<Shared>,
}

struct Shared {
    host: Mutex<Host>,
    /// Wakes the timeout thread when an earlier deadline is parked.
    timer: Condvar,
    next_session: AtomicU64,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An app with the default [`Config`].
    pub fn new() -> Self {
        match Self::with_config(Config::default()) {
            Ok(app) => app,
            Err(error) => unreachable!("the default config is valid: {error}"),
        }
    }

    /// An app made with `config`; fails if a listed component cannot be declared.
    pub fn with_config(config: Config) -> BrpResult<Self> {
        Ok(Self {
            shared: Arc::new(Shared {
                host: Mutex::new(Host::new(config)?),
                timer: Condvar::new(),
                next_session: AtomicU64::new(1),
            }),
        })
    }

    /// An app made from the JSON form of [`Config`] (empty text or `null`
    /// for the default).
    pub fn from_config_json(text: &str) -> BrpResult<Self> {
        Self::with_config(Config::from_json(text)?)
    }

    /// Registers the reflected component type `T` (it must
    /// `#[reflect(Component)]`), making it addressable by name.
    pub fn register_type<T: Component + GetTypeRegistration>(&self) -> BrpResult<()> {
        self.host().register_type::<T>()
    }

    /// Declares a dynamic component holding a JSON value. Declaring the same
    /// name again is a no-op; a name a Rust type already uses is an error.
    pub fn declare_component(&self, name: &str) -> BrpResult<()> {
        let mut host = self.host();
        let host = &mut *host;
        host.names.declare(&mut host.world, name).map(drop)
    }

    /// Adds systems to the schedule [`update`](Self::update) runs.
    pub fn add_systems<M>(&self, systems: impl IntoScheduleConfigs<ScheduleSystem, M>) {
        self.host().schedule.add_systems(systems);
    }

    /// Runs the schedule once, advances the change tick and wakes the POLLs
    /// the systems' changes satisfy.
    pub fn update(&self) -> BrpResult<()> {
        self.mutate(|world, schedule| {
            catch_unwind(AssertUnwindSafe(|| schedule.run(world)))
                .map_err(|_| BrpError::internal("a system panicked during update"))?;
            world.clear_trackers();
            Ok(())
        })
    }

    /// Answers one request given as JSON text, outside any session. A POLL
    /// blocks the calling thread until it answers.
    pub fn request(&self, text: &str) -> String {
        self.respond(text).to_text()
    }

    /// Answers one request given as JSON text, as a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        match protocol::parse(text) {
            Ok(request) => self.answer(request, Owner::NONE),
            Err(response) => response,
        }
    }

    /// A new session: its own request-id scope and response queue.
    pub fn session(&self) -> Session {
        let owner = Owner(self.shared.next_session.fetch_add(1, Ordering::Relaxed));
        Session::new(self.clone(), owner)
    }

    /// Reads the world under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.host().world)
    }

    /// Changes the world under the lock, then advances the change tick and
    /// wakes the POLLs the change satisfies. This is the hook for changes
    /// made outside requests (e.g. applying a pose).
    pub fn with_world_mut<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.mutate(|world, _| f(world))
    }

    /// Fails every parked POLL with [`ErrorCode::Cancelled`] and refuses new
    /// ones. Other requests keep working while handles to the app exist.
    pub fn close(&self) {
        let fired = {
            let mut host = self.host();
            host.closed = true;
            host.parked
                .cancel(|_| true, |p| cancelled(p.id, "the app was closed"))
        };
        self.shared.timer.notify_all();
        fired.deliver();
    }

    /// Answers `request`, blocking while a POLL is parked.
    pub(crate) fn answer(&self, request: Request, owner: Owner) -> Response {
        if !matches!(request.method.action, Action::Poll) {
            return self.respond_now(request);
        }
        let (sender, receiver) = mpsc::sync_channel(1);
        let complete = move || -> Completion {
            Box::new(move |response| {
                // The receiver only goes away once it has its answer.
                let _ = sender.send(response);
            })
        };
        let id = request.id;
        self.dispatch(request, owner, complete).unwrap_or_else(|| {
            receiver.recv().unwrap_or_else(|_| Response {
                id: Some(id),
                result: Err(cancelled(id, "the app was dropped")),
            })
        })
    }

    /// Carries out `request`: returns its response, or parks it (a POLL
    /// whose answer has not changed) with the completion `complete` makes and
    /// returns `None`.
    pub(crate) fn dispatch(
        &self,
        request: Request,
        owner: Owner,
        complete: impl FnOnce() -> Completion,
    ) -> Option<Response> {
        match request.method.action {
            Action::Poll => self.poll(request, owner, complete),
            _ => Some(self.respond_now(request)),
        }
    }

    /// Answers a request that never parks.
    fn respond_now(&self, request: Request) -> Response {
        let result = match request.method.action {
            Action::Answer { handler, mutates } => self.execute(&request.params, |host, params| {
                let result = handler(host, params);
                (mutates && result.is_ok(), result)
            }),
            Action::Cancel => Err(BrpError::invalid_request(
                "CANCEL cancels a POLL of the same session; send it through that session",
            )),
            Action::Poll => Err(BrpError::internal(
                "a POLL must be dispatched, not answered at once",
            )),
        };
        Response {
            id: Some(request.id),
            result,
        }
    }

    /// Fails the parked POLL `id` of `owner`; false if there is none.
    pub(crate) fn cancel(&self, owner: Owner, id: u64, why: &str) -> bool {
        let fired = self
            .host()
            .parked
            .cancel(|p| p.owner == owner && p.id == id, |p| cancelled(p.id, why));
        let found = !fired.is_empty();
        fired.deliver();
        found
    }

    /// Fails every parked POLL of `owner`.
    pub(crate) fn cancel_all(&self, owner: Owner, why: &str) {
        let fired = self
            .host()
            .parked
            .cancel(|p| p.owner == owner, |p| cancelled(p.id, why));
        fired.deliver();
    }

    /// Runs `f` under the lock with `params`, catching panics. When `f`
    /// reports a change, advances the tick and wakes parked POLLs.
    fn execute(
        &self,
        params: &Value,
        f: impl FnOnce(&mut Host, &Params) -> (bool, BrpResult<Body>),
    ) -> BrpResult<Body> {
        let params = Params::new(params)?;
        let mut host = self.host();
        let (changed, result) = catch_unwind(AssertUnwindSafe(|| f(&mut host, &params)))
            .unwrap_or_else(|_| {
                (
                    true,
                    Err(BrpError::internal("the request failed unexpectedly")),
                )
            });
        let fired = if changed {
            Self::changed(&mut host)
        } else {
            Fired::default()
        };
        drop(host);
        fired.deliver();
        result
    }

    fn poll(
        &self,
        request: Request,
        owner: Owner,
        complete: impl FnOnce() -> Completion,
    ) -> Option<Response> {
        let id = request.id;
        let respond = |result| {
            Some(Response {
                id: Some(id),
                result,
            })
        };
        let params = match Params::new(&request.params) {
            Ok(params) => params,
            Err(error) => return respond(Err(error)),
        };
        let mut host = self.host();
        let mut poll = match Poll::parse(&params, &host) {
            Ok(poll) => poll,
            Err(error) => return respond(Err(error)),
        };
        if host.closed {
            return respond(Err(cancelled(id, "the app was closed")));
        }
        match poll.answer(&mut host) {
            Ok(None) => {}
            Ok(Some(answer)) => return respond(Ok(answer)),
            Err(error) => return respond(Err(error)),
        }
        if owner != Owner::NONE && host.parked.contains(owner, id) {
            return respond(Err(BrpError::new(
                ErrorCode::DuplicateId,
                format!("POLL {id} is already parked"),
            )));
        }
        let deadline = poll.timeout.map(|timeout| Instant::now() + timeout);
        host.parked.park(ParkedPoll {
            owner,
            id,
            poll,
            deadline,
            complete: complete(),
        });
        if deadline.is_some() {
            self.start_timer(&mut host);
        }
        None
    }

    /// Makes sure the thread that fails timed-out POLLs runs, and wakes it
    /// to look at a new deadline.
    fn start_timer(&self, host: &mut Host) {
        if host.timer_running {
            self.shared.timer.notify_all();
            return;
        }
        host.timer_running = true;
        let shared = Arc::clone(&self.shared);
        std::thread::Builder::new()
            .name("brp-poll-timeout".into())
            .spawn(move || expire_polls(&shared))
            .map(drop)
            .unwrap_or_else(|_| host.timer_running = false);
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut World, &mut Schedule) -> R) -> R {
        let mut host = self.host();
        let host_ref = &mut *host;
        let result = f(&mut host_ref.world, &mut host_ref.schedule);
        let fired = Self::changed(&mut host);
        drop(host);
        fired.deliver();
        result
    }

    /// Advances the change tick after a change and re-evaluates parked POLLs.
    fn changed(host: &mut Host) -> Fired {
        host.world.increment_change_tick();
        parked::wake(host)
    }

    fn host(&self) -> MutexGuard<'_, Host> {
        lock(&self.shared.host)
    }
}

/// The thread that fails parked POLLs when their deadline passes; it ends
/// when no parked POLL has a deadline.
fn expire_polls(shared: &Shared) {
    let mut host = lock(&shared.host);
    loop {
        let fired = host.parked.expire(Instant::now());
        if !fired.is_empty() {
            drop(host);
            fired.deliver();
            host = lock(&shared.host);
            continue;
        }
        let Some(deadline) = host.parked.next_deadline() else {
            host.timer_running = false;
            return;
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        host = shared
            .timer
            .wait_timeout(host, wait)
            .map(|(host, _)| host)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn cancelled(id: u64, why: &str) -> BrpError {
    BrpError::new(ErrorCode::Cancelled, format!("POLL {id} was cancelled: {why}"))
}
