//! Resources of a game's own plugin through GET_RESOURCE, INSERT_RESOURCE,
//! REMOVE_RESOURCE, LIST_RESOURCES and MUTATE, as its systems see them
//! (the built-in clocks are in tests/conformance/resources.json).

use bevy_app::Update;
use bevy_ecs::prelude::*;
use bevy_ecs::reflect::ReflectResource;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;
use brp::{ErrorCode, Host};
use serde_json::{Value, json};

/// A game's score, reflected as a resource.
#[derive(Resource, Reflect, Default)]
#[reflect(Resource, Default)]
struct Score {
    points: u32,
    streak: Vec<u32>,
}

/// Registered but never inserted by the game.
#[derive(Resource, Reflect, Default)]
#[reflect(Resource, Default)]
struct Bonus(u32);

/// What the game's system last saw of a changed [`Score`].
#[derive(Resource, Default)]
struct Seen(Option<u32>);

mod other {
    use bevy_ecs::prelude::*;
    use bevy_ecs::reflect::ReflectResource;
    use bevy_reflect::Reflect;

    /// A second type whose short path is `Bonus`.
    #[derive(Resource, Reflect, Default)]
    #[reflect(Resource)]
    pub(super) struct Bonus;
}

fn host() -> Host {
    Host::build(|app| {
        app.init_resource::<Score>()
            .register_type::<Score>()
            .register_type::<Bonus>()
            .init_resource::<Seen>()
            .add_systems(Update, |score: Res<Score>, mut seen: ResMut<Seen>| {
                if score.is_changed() {
                    seen.0 = Some(score.points);
                }
            });
    })
    .unwrap()
}

fn call(host: &Host, request: Value) -> Value {
    serde_json::from_str(&host.request(&request.to_string())).unwrap()
}

fn score(host: &Host) -> Value {
    let got = call(
        host,
        json!({"id": 1, "request": "GET_RESOURCE", "params": {"resource": "Score"}}),
    );
    let text = got["response"]["value"]["JSON"]
        .as_str()
        .unwrap_or_else(|| panic!("{got}"));
    serde_json::from_str(text).unwrap()
}

fn seen(host: &Host) -> Option<u32> {
    host.read(|world| world.resource::<Seen>().0)
}

#[test]
fn a_plugins_resource_is_read_written_and_seen_changed_by_its_systems() {
    let host = host();
    host.update().unwrap();
    assert_eq!(score(&host), json!({"points": 0, "streak": []}));
    host.with_world_mut(|world| world.resource_mut::<Seen>().0 = None);
    host.update().unwrap();
    assert_eq!(seen(&host), None, "nothing changed the score");

    let inserted = call(
        &host,
        json!({"id": 2, "request": "INSERT_RESOURCE", "params": {"resource": "Score",
               "value": {"JSON": "{\"points\": 3, \"streak\": [1, 2]}"}}}),
    );
    assert_eq!(inserted["response"]["status"], "OK", "{inserted}");
    host.update().unwrap();
    assert_eq!(seen(&host), Some(3));

    let mutated = call(
        &host,
        json!({"id": 3, "request": "MUTATE", "params": {"resource": "Score",
               "path": "streak[1]", "value": {"JSON": "7"}}}),
    );
    assert_eq!(mutated["response"]["status"], "OK", "{mutated}");
    let mutated = call(
        &host,
        json!({"id": 4, "request": "MUTATE", "params": {"resource": "Score",
               "path": "points", "value": {"JSON": "9"}}}),
    );
    assert_eq!(mutated["response"]["status"], "OK", "{mutated}");
    host.update().unwrap();
    assert_eq!(seen(&host), Some(9), "MUTATE fires change detection");
    assert_eq!(score(&host), json!({"points": 9, "streak": [1, 7]}));

    let wrong = call(
        &host,
        json!({"id": 5, "request": "MUTATE", "params": {"resource": "Score",
               "path": "streak", "value": {"JSON": "[-1]"}}}),
    );
    assert_eq!(
        wrong["error"]["code"],
        ErrorCode::InvalidParams.code(),
        "{wrong}"
    );
    let missing = call(
        &host,
        json!({"id": 6, "request": "MUTATE", "params": {"resource": "Score",
               "path": "pints", "value": {"JSON": "1"}}}),
    );
    assert_eq!(
        missing["error"]["data"]["fields"],
        json!(["points", "streak"])
    );
    assert_eq!(score(&host), json!({"points": 9, "streak": [1, 7]}));
}

#[test]
fn a_registered_resource_is_inserted_anew_and_removed() {
    let host = host();
    let get = json!({"id": 1, "request": "GET_RESOURCE", "params": {"resource": "Bonus"}});
    let absent = call(&host, get.clone());
    assert_eq!(
        absent["error"]["code"],
        ErrorCode::ComponentNotPresent.code(),
        "{absent}"
    );
    let listed = call(&host, json!({"id": 2, "request": "LIST_RESOURCES"}));
    let listed = listed["response"]["resources"].as_array().unwrap().clone();
    assert!(
        listed.contains(&json!("integration::resources::Score")),
        "{listed:?}"
    );
    assert!(
        !listed
            .iter()
            .any(|r| r.as_str().unwrap().ends_with("Bonus"))
    );

    let inserted = call(
        &host,
        json!({"id": 3, "request": "INSERT_RESOURCE", "params": {"resource": "integration::resources::Bonus", "value": {"JSON": "4"}}}),
    );
    assert_eq!(inserted["response"]["status"], "OK", "{inserted}");
    assert_eq!(host.read(|w| w.resource::<Bonus>().0), 4);
    let removed = call(
        &host,
        json!({"id": 4, "request": "REMOVE_RESOURCE", "params": {"resource": "integration::resources::Bonus"}}),
    );
    assert_eq!(removed["response"]["status"], "OK", "{removed}");
    assert!(!host.read(|w| w.contains_resource::<Bonus>()));
    // Inserted again, it takes back the entity it had: no entity is left behind.
    call(
        &host,
        json!({"id": 5, "request": "INSERT_RESOURCE", "params": {"resource": "integration::resources::Bonus", "value": {"JSON": "5"}}}),
    );
    assert_eq!(host.read(|w| w.resource::<Bonus>().0), 5);
    let query = call(&host, json!({"id": 6, "request": "QUERY", "params": {}}));
    assert_eq!(query["response"]["entities"], json!([]), "{query}");
    // The resource's entity took an id, as in Bevy: the first SPAWN's is the next.
    let spawned = call(
        &host,
        json!({"id": 7, "request": "SPAWN", "params": {"components": {}}}),
    );
    assert_eq!(spawned["response"]["entity"], "2v0", "{spawned}");
}

#[test]
fn an_ambiguous_resource_name_lists_the_candidates() {
    let host = Host::build(|app| {
        app.register_type::<Bonus>().register_type::<other::Bonus>();
    })
    .unwrap();
    let answer = call(
        &host,
        json!({"id": 1, "request": "GET_RESOURCE", "params": {"resource": "Bonus"}}),
    );
    assert_eq!(answer["error"]["code"], ErrorCode::ComponentError.code());
    let mut candidates = answer["error"]["data"]["candidates"]
        .as_array()
        .unwrap()
        .clone();
    candidates.sort_by_key(|c| c.as_str().unwrap().to_owned());
    assert_eq!(
        candidates,
        json!([
            "integration::resources::Bonus",
            "integration::resources::other::Bonus"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
}
