//! [`Host`]: a shareable handle to an embedded Bevy app that answers requests.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::BrpResult;
use crate::protocol::Response;
use crate::world::Ecs;
use crate::world::cache::CacheStats;
use bevy_ecs::component::Component;
use bevy_ecs::schedule::{IntoScheduleConfigs, ScheduleLabel, Schedules};
use bevy_ecs::system::ScheduleSystem;
use bevy_ecs::world::{EntityRef, World};
use bevy_reflect::GetTypeRegistration;
use std::sync::Arc;

/// An embedded Bevy app (a `bevy_app::App`'s world and schedules) that
/// answers BRP requests in the caller's thread, between the frames
/// [`update`](Self::update) runs (docs/modules.md).
///
/// It is not called `App` so that it never collides with `bevy_app::App`
/// in a module author's code. Cloning a `Host` makes another handle to the
/// same world. It is
/// `Send + Sync`: one lock orders every request, so side effects apply in
/// the order requests arrive.
#[derive(Clone)]
pub struct Host {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    /// A host of the built-in contents alone (docs/modules.md), with the
    /// default [`Config`].
    pub fn new() -> Self {
        match Self::with_config(Config::default()) {
            Ok(host) => host,
            Err(error) => unreachable!("the default config is valid: {error}"),
        }
    }

    /// A host of the built-in contents, made with `config`; fails if the
    /// config is invalid or a listed component cannot be declared.
    pub fn with_config(config: Config) -> BrpResult<Self> {
        Self::build_with(config, |_| {})
    }

    /// A host of a Bevy app: the built-in contents, then whatever `install`
    /// adds, typically a game's plugins:
    ///
    /// ```
    /// # fn dance(_: &mut bevy_app::App) {}
    /// let host = brp::Host::build(|app| {
    ///     app.add_plugins(dance);
    /// })
    /// .unwrap();
    /// host.update().unwrap(); // the first frame runs `Startup`
    /// ```
    ///
    /// Every `#[reflect(Component)]` type the plugins register is
    /// addressable by name. Fails if a plugin panics while built.
    pub fn build(install: impl FnOnce(&mut bevy_app::App)) -> BrpResult<Self> {
        Self::build_with(Config::default(), install)
    }

    /// [`build`](Self::build), with `config`.
    pub fn build_with(config: Config, install: impl FnOnce(&mut bevy_app::App)) -> BrpResult<Self> {
        Ok(Self {
            engine: Arc::new(Engine::new(config, install)?),
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

    /// Adds systems to the schedule `schedule` (e.g. `bevy_app::Update`).
    pub fn add_systems<M>(
        &self,
        schedule: impl ScheduleLabel,
        systems: impl IntoScheduleConfigs<ScheduleSystem, M>,
    ) {
        let mut state = self.engine.lock();
        let world = &mut state.host.world;
        world
            .resource_mut::<Schedules>()
            .add_systems(schedule, systems);
    }

    /// Runs one frame of the app (`Startup` the first time, then `First`
    /// … `Last`, with `FixedUpdate` as often as time says), advances the
    /// change tick and wakes the POLLs the systems' changes satisfy.
    ///
    /// Fails, with the world still usable, when a system returns an error
    /// or panics; the error quotes them.
    pub fn update(&self) -> BrpResult<()> {
        self.engine.frame(Ecs::run_frame)
    }

    /// Answers one request given as JSON text, outside any session. A POLL
    /// blocks the calling thread until it answers.
    pub fn request(&self, text: &str) -> String {
        self.respond(text).into_text()
    }

    /// Answers one request given as JSON text, as a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        self.respond_interruptible(text, || false)
    }

    /// [`Host::respond`], for a caller that must be able to give up: while a
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
        self.engine.mutate(|ecs| f(&mut ecs.world))
    }

    /// How many serialized values the value cache holds, their bytes, and
    /// how many reads it answered or missed (docs/limits.md,
    /// `value_cache_bytes`).
    pub fn cache_stats(&self) -> CacheStats {
        self.engine.lock().host.values.borrow().stats()
    }

    /// Fails every parked POLL with [`ErrorCode::Cancelled`](crate::ErrorCode::Cancelled)
    /// and refuses new ones. Other requests keep working while handles to
    /// the app exist.
    pub fn close(&self) {
        self.engine.close();
    }

    /// As [`with_world_mut`](Self::with_world_mut), for changes made on a
    /// request's behalf: `f` also gets a test of whether an entity is
    /// visible to requests, as [`Ecs::visible`](crate::world::Ecs::visible)
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
