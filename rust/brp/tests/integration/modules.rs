//! Hosting Bevy modules: plugins built into a real `bevy_app::App`, what
//! `update` runs, and what a failing plugin or system leaves behind
//! (docs/modules.md).

use bevy_app::{App, FixedUpdate, Plugin, Startup, Update};
use bevy_ecs::prelude::*;
use bevy_ecs::reflect::ReflectComponent;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;
use brp::{Config, ErrorCode, Host};
use serde_json::{Value, json};

fn call(host: &Host, request: Value) -> Value {
    serde_json::from_str(&host.request(&request.to_string())).unwrap()
}

fn get(host: &Host, entity: &str, component: &str) -> Value {
    let got = call(
        host,
        json!({"id": 1, "request": "GET", "params": {"entity": entity, "components": [component]}}),
    );
    let text = got["response"]["components"][component]["JSON"]
        .as_str()
        .unwrap_or_else(|| panic!("GET {component} of {entity}: {got}"));
    serde_json::from_str(text).unwrap()
}

/// A module's own component, addressable by name once its plugin registers it.
#[derive(Component, Reflect, Default)]
#[reflect(Component, Default)]
struct Counter {
    startup: u32,
    fixed: u32,
    update: u32,
}

/// Counts what runs: `Startup` spawns the counter, the other schedules
/// count their runs in it.
struct CountingPlugin;

impl Plugin for CountingPlugin {
    fn build(&self, app: &mut App) {
        app.register_type::<Counter>()
            .add_systems(Startup, |mut commands: Commands| {
                commands.spawn((
                    Name::new("Counter"),
                    Counter {
                        startup: 1,
                        ..default()
                    },
                ));
            })
            .add_systems(FixedUpdate, |mut counters: Query<&mut Counter>| {
                counters.iter_mut().for_each(|mut c| c.fixed += 1);
            })
            .add_systems(Update, |mut counters: Query<&mut Counter>| {
                counters.iter_mut().for_each(|mut c| c.update += 1);
            });
    }
}

fn default<T: Default>() -> T {
    T::default()
}

/// A host of the counting plugin whose clock advances `step` seconds a frame.
fn counting(step: f64) -> Host {
    let config = Config {
        manual_time_step: Some(step),
        ..Config::default()
    };
    Host::build_with(config, |app| {
        app.add_plugins(CountingPlugin);
    })
    .unwrap()
}

/// Bevy's default fixed timestep: 64 Hz.
const FIXED_STEP: f64 = 1.0 / 64.0;

#[test]
fn startup_runs_once_and_update_every_frame() {
    let host = counting(FIXED_STEP);
    let none = call(
        &host,
        json!({"id": 1, "request": "QUERY", "params": {"data": {"components": ["Counter"]}}}),
    );
    assert_eq!(
        none["response"]["entities"],
        json!([]),
        "Startup waits for the first frame"
    );
    for _ in 0..3 {
        host.update().unwrap();
    }
    let counter = get(&host, "1v0", "Counter");
    assert_eq!(counter["startup"], 1);
    assert_eq!(counter["update"], 3);
}

#[test]
fn fixed_update_runs_as_often_as_time_says() {
    // Four fixed steps a frame: FixedUpdate runs four times per update,
    // the first included (the clock starts when the host is built).
    let host = counting(4.0 * FIXED_STEP);
    let fixed = || get(&host, "1v0", "Counter")["fixed"].as_u64().unwrap();
    host.update().unwrap();
    assert_eq!(
        fixed(),
        4,
        "the first update advances the clock by its step"
    );
    host.update().unwrap();
    assert_eq!(fixed(), 8);
    for _ in 0..5 {
        host.update().unwrap();
    }
    assert_eq!(fixed(), 28);
    // Half a fixed step a frame: once every other update.
    let host = counting(FIXED_STEP / 2.0);
    host.update().unwrap();
    let first = get(&host, "1v0", "Counter")["fixed"].as_u64().unwrap();
    for _ in 0..10 {
        host.update().unwrap();
    }
    let later = get(&host, "1v0", "Counter")["fixed"].as_u64().unwrap();
    assert_eq!(later - first, 5);
}

#[test]
fn global_transform_propagates_after_update() {
    let host = Host::new();
    let spawn = |components: Value| {
        let spawned = call(
            &host,
            json!({"id": 1, "request": "SPAWN", "params": {"components": components}}),
        );
        spawned["response"]["entity"].as_str().unwrap().to_owned()
    };
    let parent = spawn(json!({"Transform": {"JSON": "{\"translation\": [1, 2, 3]}"}}));
    let child = spawn(json!({
        "Transform": {"JSON": "{\"translation\": [10, 0, 0]}"},
        "Parent": {"JSON": format!("\"{parent}\"")}
    }));
    host.update().unwrap();
    let global = get(&host, &child, "GlobalTransform");
    let global = global.as_array().unwrap();
    let translation: Vec<f64> = global[9..12].iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(translation, [11.0, 2.0, 3.0], "{global:?}");
}

#[test]
fn a_module_component_is_addressable_by_name_and_its_changes_wake_polls() {
    let host = counting(FIXED_STEP);
    host.update().unwrap();
    let poll = json!({"id": 2, "request": "POLL", "params": {
        "data": {"components": ["Counter"]}, "timeout_ms": 30000}});
    let first = call(&host, poll.clone());
    let watermark = first["response"]["watermark"].clone();
    assert!(
        first["response"]["entities"][0]["Counter"]["JSON"].is_string(),
        "{first}"
    );
    let waiter = {
        let host = host.clone();
        let mut poll = poll.clone();
        poll["params"]["watermark"] = watermark;
        std::thread::spawn(move || call(&host, poll))
    };
    // The POLL parks until a frame changes the counter; updates keep coming
    // until it answers, so the test cannot hang on a missed wake-up.
    let mut frames = 0;
    while !waiter.is_finished() && frames < 10_000 {
        host.update().unwrap();
        frames += 1;
        std::thread::yield_now();
    }
    let woken = waiter.join().unwrap();
    let counter = woken["response"]["entities"][0]["Counter"]["JSON"]
        .as_str()
        .unwrap_or_else(|| panic!("{woken}"));
    let counter: Value = serde_json::from_str(counter).unwrap();
    assert!(counter["update"].as_u64().unwrap() >= 2, "{counter}");
}

/// A component whose `Update` system panics while its value is negative.
#[derive(Component, Reflect, Default)]
#[reflect(Component, Default)]
struct Fragile(i32);

fn fragile(query: Query<&Fragile>) {
    for fragile in &query {
        assert!(fragile.0 >= 0, "Fragile went negative: {}", fragile.0);
    }
}

#[test]
fn a_failing_system_is_an_error_and_the_world_stays_usable() {
    let host = Host::build(|app| {
        app.register_type::<Fragile>()
            .add_systems(Update, fragile)
            .add_systems(Update, || -> Result {
                Err("the score file is missing".into())
            });
    })
    .unwrap();
    let spawned = call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Fragile": {"JSON": "-1"}}}}),
    );
    let entity = spawned["response"]["entity"].as_str().unwrap().to_owned();
    let error = host.update().unwrap_err();
    assert_eq!(error.code, ErrorCode::InternalError);
    assert!(error.message.contains("2 error(s)"), "{}", error.message);
    assert!(
        error
            .message
            .contains("modules::fragile` panicked: Fragile went negative: -1"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("the score file is missing"),
        "{}",
        error.message
    );
    // Requests still work, and so does the next frame once the cause is gone.
    let fixed = call(
        &host,
        json!({"id": 2, "request": "INSERT", "params": {"entity": entity, "components": {"Fragile": {"JSON": "5"}}}}),
    );
    assert_eq!(fixed["response"]["status"], "OK", "{fixed}");
    let error = host.update().unwrap_err();
    assert!(error.message.starts_with("1 error(s)"), "{}", error.message);
    assert_eq!(get(&host, &entity, "Fragile"), 5);
}

#[test]
fn a_plugin_that_panics_while_built_is_an_error() {
    let Err(error) = Host::build(|_| panic!("the dance floor is missing")) else {
        panic!("the build succeeded");
    };
    assert_eq!(error.code, ErrorCode::InternalError);
    assert!(
        error
            .message
            .contains("a plugin panicked while the app was built: the dance floor is missing"),
        "{}",
        error.message
    );
}

#[derive(Resource, Default)]
struct Song;

#[test]
fn plugins_resources_and_systems_do_not_show_or_shift_entity_ids() {
    let host = Host::build(|app| {
        app.init_resource::<Song>();
        let id = app.world_mut().register_system(|| {});
        app.world_mut().run_system(id).unwrap();
    })
    .unwrap();
    let all = call(&host, json!({"id": 1, "request": "QUERY", "params": {}}));
    assert_eq!(all["response"]["entities"], json!([]), "{all}");
    let spawned = call(
        &host,
        json!({"id": 2, "request": "SPAWN", "params": {"components": {}}}),
    );
    assert_eq!(spawned["response"]["entity"], "1v0");
}

#[test]
fn an_invalid_time_step_is_refused() {
    for step in ["0", "-1", "1e9"] {
        let error =
            Host::from_config_json(&format!(r#"{{"manual_time_step": {step}}}"#)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParams);
        assert!(
            error.message.contains("manual_time_step"),
            "{}",
            error.message
        );
    }
}

#[cfg(not(feature = "multi_threaded"))]
#[test]
fn multi_threaded_needs_the_feature() {
    let error = Host::from_config_json(r#"{"multi_threaded": true}"#).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParams);
    assert!(
        error.message.contains("`multi_threaded` feature"),
        "{}",
        error.message
    );
}

#[cfg(feature = "multi_threaded")]
#[test]
fn multi_threaded_systems_run_and_their_failures_are_reported() {
    let config = Config {
        multi_threaded: true,
        manual_time_step: Some(FIXED_STEP),
        ..Config::default()
    };
    let host = Host::build_with(config, |app| {
        app.add_plugins(CountingPlugin)
            .register_type::<Fragile>()
            .add_systems(Update, fragile);
    })
    .unwrap();
    for _ in 0..3 {
        host.update().unwrap();
    }
    assert_eq!(get(&host, "1v0", "Counter")["update"], 3);
    let spawned = call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Fragile": {"JSON": "-2"}}}}),
    );
    assert!(spawned["response"]["entity"].is_string(), "{spawned}");
    let error = host.update().unwrap_err();
    assert!(
        error.message.contains("Fragile went negative: -2"),
        "{}",
        error.message
    );
}

/// How many bells have rung for an entity.
#[derive(Component, Reflect, Default)]
#[reflect(Component, Default)]
struct Tally(u32);

/// A plugin's component whose hook changes another entity: inserting it
/// raises the `Tally` of its target.
#[derive(Component, Reflect)]
#[reflect(Component)]
#[component(on_insert = ring)]
struct Bell {
    target: Entity,
}

fn ring(mut world: bevy_ecs::world::DeferredWorld, context: bevy_ecs::lifecycle::HookContext) {
    let target = world.get::<Bell>(context.entity).map(|bell| bell.target);
    if let Some(mut tally) = target.and_then(|target| world.get_mut::<Tally>(target)) {
        tally.0 += 1;
    }
}

#[test]
fn a_plugin_hook_that_changes_another_entity_wakes_its_polls() {
    let host = Host::build(|app| {
        app.register_type::<Tally>().register_type::<Bell>();
    })
    .unwrap();
    let spawned = call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Tally": {"JSON": "0"}}}}),
    );
    let tally = spawned["response"]["entity"].as_str().unwrap().to_owned();
    let params = json!({"data": {"components": ["Tally"]}});
    let first = call(&host, json!({"id": 2, "request": "POLL", "params": params}));
    let mut params = params;
    params["watermark"] = first["response"]["watermark"].clone();
    params["timeout_ms"] = json!(30_000);
    let session = host.session();
    session.submit(&json!({"id": 3, "request": "POLL", "params": params}).to_string());
    // The bell is a different entity: only its hook touches the tally.
    let bell = json!({"target": tally}).to_string();
    let rung = call(
        &host,
        json!({"id": 4, "request": "SPAWN", "params": {"components": {"Bell": {"JSON": bell}}}}),
    );
    assert!(rung["response"]["entity"].is_string(), "{rung}");
    let woken = session
        .receive(Some(std::time::Duration::from_secs(30)))
        .expect("the POLL answers")
        .to_json();
    assert_eq!(
        woken["response"]["entities"][0]["Tally"]["JSON"], "1",
        "{woken}"
    );
}
