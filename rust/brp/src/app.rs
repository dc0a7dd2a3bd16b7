//! [`App`]: a shareable handle to an embedded world that answers requests.

use crate::config::Config;
use crate::dispatch::Method;
use crate::error::{BrpError, BrpResult};
use crate::host::Host;
use crate::params::Params;
use crate::protocol::{self, Response};
use crate::session::Session;
use bevy_ecs::component::Component;
use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::system::ScheduleSystem;
use bevy_ecs::world::World;
use bevy_reflect::GetTypeRegistration;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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

    /// Runs the schedule once and advances the change tick.
    pub fn update(&self) -> BrpResult<()> {
        self.mutate(|world, schedule| {
            catch_unwind(AssertUnwindSafe(|| schedule.run(world)))
                .map_err(|_| BrpError::internal("a system panicked during update"))?;
            world.clear_trackers();
            Ok(())
        })
    }

    /// Answers one request given as JSON text, outside any session.
    pub fn request(&self, text: &str) -> String {
        self.respond(text).to_text()
    }

    /// Answers one request given as JSON text, as a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        match protocol::parse(text) {
            Ok(request) => Response {
                id: Some(request.id),
                result: self.execute(request.method, &request.params),
            },
            Err(response) => response,
        }
    }

    /// A new session: its own request-id scope on this world.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// Runs `method` with `params` under the world's lock.
    ///
    /// A mutating request that succeeds advances the change tick. A handler
    /// that panics yields an internal error; the panic does not escape.
    pub fn execute(&self, method: &Method, params: &Value) -> BrpResult<Value> {
        let params = Params::new(params)?;
        let mut host = self.host();
        let result = catch_unwind(AssertUnwindSafe(|| (method.handler)(&mut host, &params)))
            .unwrap_or_else(|_| {
                Err(BrpError::internal(format!(
                    "{} failed unexpectedly",
                    method.name
                )))
            });
        if method.mutates && result.is_ok() {
            host.world.increment_change_tick();
        }
        result
    }

    /// Reads the world under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.host().world)
    }

    /// Changes the world under the lock, then advances the change tick.
    pub fn with_world_mut<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.mutate(|world, _| f(world))
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut World, &mut bevy_ecs::schedule::Schedule) -> R) -> R {
        let mut host = self.host();
        let host = &mut *host;
        let result = f(&mut host.world, &mut host.schedule);
        host.world.increment_change_tick();
        result
    }

    fn host(&self) -> MutexGuard<'_, Host> {
        self.shared
            .host
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
