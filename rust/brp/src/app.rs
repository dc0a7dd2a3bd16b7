//! [`App`]: a shareable handle to an embedded world that answers requests.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{BrpError, BrpResult};
use crate::protocol::Response;
use bevy_ecs::component::Component;
use bevy_ecs::schedule::IntoScheduleConfigs;
use bevy_ecs::system::ScheduleSystem;
use bevy_ecs::world::{EntityRef, World};
use bevy_reflect::GetTypeRegistration;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// An embedded Bevy world that answers BRP requests in the caller's thread.
///
/// Cloning an `App` makes another handle to the same world. It is
/// `Send + Sync`: one lock orders every request, so side effects apply in
/// the order requests arrive.
#[derive(Clone)]
pub struct App {
    engine: Arc<Engine>,
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
            engine: Arc::new(Engine::new(config)?),
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
        self.engine.lock().host.register_type::<T>()
    }

    /// Declares a dynamic component holding a JSON value. Declaring the same
    /// name again is a no-op; a name a Rust type already uses is an error.
    pub fn declare_component(&self, name: &str) -> BrpResult<()> {
        self.engine.lock().host.declare_component(name)
    }

    /// Adds systems to the schedule [`update`](Self::update) runs.
    pub fn add_systems<M>(&self, systems: impl IntoScheduleConfigs<ScheduleSystem, M>) {
        self.engine.lock().host.schedule.add_systems(systems);
    }

    /// Runs the schedule once, advances the change tick and wakes the POLLs
    /// the systems' changes satisfy.
    pub fn update(&self) -> BrpResult<()> {
        self.engine.frame(|world, schedule| {
            catch_unwind(AssertUnwindSafe(|| schedule.run(world)))
                .map_err(|_| BrpError::internal("a system panicked during update"))
        })
    }

    /// Answers one request given as JSON text, outside any session. A POLL
    /// blocks the calling thread until it answers.
    pub fn request(&self, text: &str) -> String {
        self.respond(text).to_text()
    }

    /// Answers one request given as JSON text, as a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        self.respond_interruptible(text, || false)
    }

    /// [`App::respond`], for a caller that must be able to give up: while a
    /// POLL waits, `interrupted` is called on the waiting thread every
    /// [`WAIT_SLICE`](crate::WAIT_SLICE); once it returns true, the POLL is
    /// cancelled and answers [`ErrorCode::Cancelled`](crate::ErrorCode::Cancelled).
    /// (Python uses it to let Ctrl-C through.)
    pub fn respond_interruptible(&self, text: &str, interrupted: impl FnMut() -> bool) -> Response {
        match self.engine.parse(text) {
            // Each sessionless request is an owner of its own: a cancel
            // reaches only the POLL of this call.
            Ok(call) => {
                let owner = self.engine.next_owner(false);
                self.engine.answer(call, owner, &|| true, interrupted)
            }
            Err(response) => response,
        }
    }

    /// Reads the world under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.engine.lock().host.world)
    }

    /// Changes the world under the lock, then advances the change tick and
    /// wakes the POLLs the change satisfies. This is the hook for changes
    /// made outside requests (e.g. applying a pose).
    pub fn with_world_mut<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        self.engine.mutate(|world, _| f(world))
    }

    /// Fails every parked POLL with [`ErrorCode::Cancelled`](crate::ErrorCode::Cancelled)
    /// and refuses new ones. Other requests keep working while handles to
    /// the app exist.
    pub fn close(&self) {
        self.engine.close();
    }

    /// As [`with_world_mut`](Self::with_world_mut), for changes made on a
    /// request's behalf: `f` also gets a test of whether an entity is
    /// visible to requests, as [`Host::visible`](crate::world::Host::visible)
    /// decides (the world's own resource and observer entities are not).
    pub(crate) fn with_visible_world_mut<R>(
        &self,
        f: impl FnOnce(&mut World, &dyn Fn(EntityRef<'_>) -> bool) -> R,
    ) -> R {
        // Fixed when the world is made, so reading them first is no race.
        let hidden = self.engine.lock().host.hidden;
        let visible = |entity: EntityRef<'_>| !hidden.iter().any(|&id| entity.contains_id(id));
        self.with_world_mut(|world| f(world, &visible))
    }

    /// The engine behind this handle.
    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}
