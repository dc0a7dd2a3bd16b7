//! What a new world contains: the one place that decides it for Rust, C
//! and Python alike (docs/modules.md).

use super::pose::{PoseLandmarks, PoseNotDetected};
use crate::config::Config;
use crate::error::{BrpError, BrpResult};
use bevy_app::{App, AppExit, First, Last, Main, MainSchedulePlugin, PluginsState, TaskPoolPlugin};
use bevy_ecs::entity::Entity;
use bevy_ecs::error::FallbackErrorHandler;
use bevy_ecs::hierarchy::{ChildOf, Children};
use bevy_ecs::message::{MessageUpdateSystems, message_update_condition, message_update_system};
use bevy_ecs::name::Name;
use bevy_ecs::reflect::AppTypeRegistry;
use bevy_ecs::schedule::{IntoScheduleConfigs, ScheduleLabel, Schedules};
use bevy_ecs::system::despawn_unused_registered_systems;
use bevy_ecs::world::World;
use bevy_time::{Real, Time, TimePlugin, TimeUpdateStrategy};
use bevy_transform::TransformPlugin;
use bevy_transform::components::{GlobalTransform, Transform};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// How many entity indices, from 1, are kept for the entities of the game
/// and of requests while plugins build, so that their ids read `1v0`,
/// `2v0`, … as in docs/protocol.md, whatever resources the plugins add.
const RESERVED_INDICES: u32 = 1024;

/// `bevy_app::App::new()`, built on a world that first reserves
/// [`RESERVED_INDICES`] entity indices (returned), before any resource
/// takes one.
fn new_app() -> (App, Vec<Entity>) {
    let mut world = World::new();
    let reserved = world
        .entity_allocator()
        .alloc_many(RESERVED_INDICES)
        .collect();
    // What `SubApp::new` and `App::default` put in, in the same order.
    world.init_resource::<Schedules>();
    world.resource_mut::<Schedules>().add_systems(
        First,
        message_update_system
            .in_set(MessageUpdateSystems)
            .run_if(message_update_condition),
    );
    let mut app = App::empty();
    *app.world_mut() = world;
    app.main_mut().update_schedule = Some(Main.intern());
    app.init_resource::<AppTypeRegistry>()
        .add_plugins(MainSchedulePlugin)
        .add_systems(Last, despawn_unused_registered_systems)
        .add_message::<AppExit>();
    (app, reserved)
}

/// Builds a Bevy app with the built-in contents and then `install`'s
/// plugins, and returns its main world, ready for its first frame.
///
/// The built-in contents: `TaskPoolPlugin` (threadless unless built with
/// the `multi_threaded` feature), `TransformPlugin` and `TimePlugin` (real time,
/// or `config.manual_time_step` per frame), the reflected types `Name`,
/// `ChildOf`, `Children`, `Transform`, `GlobalTransform` and the pose
/// components. A plugin that panics, or is not ready once built, is an
/// error; sub-apps (rendering) are not kept.
pub(crate) fn build(config: &Config, install: impl FnOnce(&mut App)) -> BrpResult<World> {
    let built = catch_unwind(AssertUnwindSafe(|| {
        let (mut app, reserved) = new_app();
        app.add_plugins((TaskPoolPlugin::default(), TransformPlugin, TimePlugin))
            .register_type::<Name>()
            .register_type::<ChildOf>()
            .register_type::<Children>()
            .register_type::<Transform>()
            .register_type::<GlobalTransform>()
            .register_type::<PoseLandmarks>()
            .register_type::<PoseNotDetected>();
        if let Some(step) = config.manual_time_step {
            app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f64(
                step,
            )));
        }
        install(&mut app);
        if app.plugins_state() == PluginsState::Adding {
            return Err(BrpError::internal(
                "a plugin is not ready once built; libbrp cannot wait for it",
            ));
        }
        app.finish();
        app.cleanup();
        let mut world = std::mem::take(app.world_mut());
        // A manual clock starts now, so that the first `update()` advances
        // it by its step as every later one does (docs/modules.md).
        if config.manual_time_step.is_some()
            && let Some(mut real) = world.get_resource_mut::<Time<Real>>()
        {
            let startup = real.startup();
            real.update_with_instant(startup);
        }
        // System errors and panics become the error `update` returns, unless
        // a plugin chose its own handler.
        if !world.contains_resource::<FallbackErrorHandler>() {
            world.insert_resource(FallbackErrorHandler(super::frame::record_error));
        }
        // Freed highest first, the reserved indices are handed out lowest
        // first: the first entity spawned is `1v0`.
        let reserved: Vec<Entity> = reserved.into_iter().rev().collect();
        world.entity_allocator_mut().free_many(&reserved);
        Ok(world)
    }));
    built.map_err(|panic| {
        BrpError::internal(format!(
            "a plugin panicked while the app was built: {}",
            super::frame::panic_message(&panic)
        ))
    })?
}
