//! The value cache (docs/limits.md, `value_cache_bytes`): answers about
//! values that did not change since they were last written are copied from
//! it, and no answer is ever stale, whichever way a value was written. The
//! reference is the same script run on an app with the cache off.

use bevy_app::Update;
use bevy_ecs::prelude::*;
use bevy_ecs::reflect::ReflectResource;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;
use bevy_transform::components::Transform;
use brp::pose::{Frame, Landmark, PoseLandmarks, Target, push_frame};
use brp::{CacheStats, Config, Host};
use serde_json::{Value, json};

const TRANSFORM: &str = "bevy_transform::components::transform::Transform";

/// A game's resource.
#[derive(Resource, Reflect, Default)]
#[reflect(Resource, Default)]
struct Score {
    points: u32,
}

/// A value of a type reflection cannot serialize.
#[derive(Reflect, Clone)]
#[reflect(opaque)]
struct Secret;

/// A component holding one.
#[derive(Component, Reflect)]
#[reflect(Component)]
struct Sealed {
    secret: Secret,
}

/// Grows every entity's scale when `update()` runs.
fn grow(mut transforms: Query<&mut Transform>) {
    for mut transform in &mut transforms {
        transform.scale.y += 1.0;
    }
}

fn host(cache_bytes: usize) -> Host {
    let config = Config {
        components: vec!["Position".into()],
        value_cache_bytes: cache_bytes,
        ..Config::default()
    };
    Host::build_with(config, |app| {
        app.init_resource::<Score>()
            .register_type::<Score>()
            .register_type::<Sealed>()
            .add_systems(Update, grow);
    })
    .unwrap()
}

fn call(host: &Host, request: Value) -> Value {
    let answer: Value = serde_json::from_str(&host.request(&request.to_string())).unwrap();
    assert!(answer.get("error").is_none(), "{request} → {answer}");
    answer
}

fn rpc(host: &Host, method: &str, params: Value) -> Value {
    call(
        host,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
}

fn bits(id: &str) -> u64 {
    brp::entity_id::parse(id).unwrap().to_bits()
}

/// Every read of the script's values, in both dialects, as answered.
fn reads(host: &Host) -> Vec<String> {
    let get = |id: &str| {
        json!({"id": 1, "request": "GET", "params": {"entity": id,
            "components": ["Name", "Transform"]}})
    };
    let mut requests = vec![
        get("1v0"),
        get("2v0"),
        json!({"id": 2, "request": "QUERY", "params": {"data": {
            "components": ["Name"],
            "optional": ["Transform", "Position", "PoseLandmarks", "ChildOf"]}}}),
        json!({"id": 3, "request": "POLL", "params": {"data": {
            "components": ["Transform"], "optional": ["Position"]}}}),
        json!({"id": 4, "request": "GET_RESOURCE", "params": {"resource": "Score"}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "world.query", "params": {
            "data": {"components": [TRANSFORM], "option": "all"}}}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "world.get_resources", "params": {
            "resource": "integration::cache::Score"}}),
    ];
    for id in ["1v0", "2v0", "3v1"] {
        requests.push(
            json!({"jsonrpc": "2.0", "id": 7, "method": "world.get_components",
            "params": {"entity": bits(id), "components": [TRANSFORM, "Position", "ChildOf"]}}),
        );
    }
    requests
        .into_iter()
        .map(|request| {
            let mut answer: Value =
                serde_json::from_str(&host.request(&request.to_string())).unwrap();
            // A POLL's watermark holds the world's tick, not a value.
            if let Some(response) = answer.get_mut("response").and_then(Value::as_object_mut) {
                response.remove("watermark");
            }
            answer.to_string()
        })
        .collect()
}

fn transform(x: f32) -> Value {
    json!({"JSON": format!(r#"{{"translation":[{x},0,0],"rotation":[0,0,0,1],"scale":[1,1,1]}}"#)})
}

fn pose(x: f32) -> Vec<u8> {
    let landmarks = (0..33)
        .map(|i| Landmark {
            x: x + i as f32 / 100.0,
            y: 0.5,
            z: 0.0,
            visibility: 1.0,
            presence: 1.0,
        })
        .collect();
    Frame::pose(PoseLandmarks {
        timestamp: f64::from(x),
        landmarks,
        ..PoseLandmarks::default()
    })
    .to_flatbuffers()
}

/// Writes the script's values through every path there is, calling
/// `read` after each write (and once more, so that a second read finds
/// the values unchanged).
fn script(host: &Host, read: &mut dyn FnMut(&Host)) {
    let mut step = |host: &Host, write: &dyn Fn(&Host)| {
        write(host);
        read(host);
        read(host);
    };
    step(host, &|host| {
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            call(
                host,
                json!({"id": 1, "request": "SPAWN", "params": {"components": {
                    "Name": {"JSON": format!("\"{name}\"")},
                    "Transform": transform(i as f32)}}}),
            );
        }
    });
    // Requests of both dialects.
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "INSERT", "params": {"entity": "1v0",
                "components": {"Transform": transform(10.0)}}}),
        );
    });
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "MUTATE", "params": {"entity": "2v0",
                "component": "Transform", "path": "translation.x", "value": {"JSON": "20.5"}}}),
        );
    });
    step(host, &|host| {
        rpc(
            host,
            "world.insert_components",
            json!({"entity": bits("3v0"), "components": {TRANSFORM:
                {"translation": [30.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0, 1.0], "scale": [1.0, 1.0, 1.0]}}}),
        );
    });
    step(host, &|host| {
        rpc(
            host,
            "world.mutate_components",
            json!({"entity": bits("1v0"), "component": TRANSFORM, "path": "translation.y", "value": 11.0}),
        );
    });
    // The world, changed from outside requests, and by a system.
    step(host, &|host| {
        host.with_world_mut(|world| {
            let mut transforms = world.query::<&mut Transform>();
            for mut transform in transforms.iter_mut(world) {
                transform.translation.z += 1.0;
            }
        });
    });
    step(host, &|host| host.update().unwrap());
    // A component removed and put back; an entity destroyed and its index
    // used again by a new one.
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "REMOVE", "params": {"entity": "2v0", "components": ["Transform"]}}),
        );
    });
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "INSERT", "params": {"entity": "2v0",
                "components": {"Transform": transform(21.0)}}}),
        );
    });
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "DESTROY", "params": {"entity": "3v0"}}),
        );
        call(
            host,
            json!({"id": 1, "request": "SPAWN", "params": {"components": {
                "Name": {"JSON": "\"d\""}, "Transform": transform(40.0)}}}),
        );
    });
    // Entities inside values, which the two dialects write differently.
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "REPARENT", "params": {"entity": "2v0", "parent": "1v0"}}),
        );
    });
    // The pose client's path.
    let target = Target::from_json(r#"{"entity":"1v0"}"#).unwrap();
    for x in [0.25, 0.5] {
        step(host, &|host| push_frame(host, &target, &pose(x)).unwrap());
    }
    // A resource, and a dynamic component.
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "INSERT_RESOURCE", "params": {"resource": "Score",
                "value": {"JSON": r#"{"points": 3}"#}}}),
        );
    });
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "MUTATE", "params": {"resource": "Score",
                "path": "points", "value": {"JSON": "4"}}}),
        );
    });
    step(host, &|host| {
        host.with_world_mut(|world| world.resource_mut::<Score>().points = 5);
    });
    step(host, &|host| {
        call(
            host,
            json!({"id": 1, "request": "INSERT", "params": {"entity": "1v0",
                "components": {"Position": {"JSON": r#"{"x": 1}"#}}}}),
        );
    });
    step(host, &|host| {
        rpc(
            host,
            "world.insert_components",
            json!({"entity": bits("1v0"), "components": {"Position": {"x": "two"}}}),
        );
    });
}

#[test]
fn no_write_path_leaves_an_answer_stale() {
    let cached = host(64 << 20);
    let uncached = host(0);
    let mut answers = Vec::new();
    script(&cached, &mut |host| answers.extend(reads(host)));
    let mut expected = Vec::new();
    script(&uncached, &mut |host| expected.extend(reads(host)));
    assert_eq!(answers.len(), expected.len());
    for (i, (answer, expected)) in answers.iter().zip(&expected).enumerate() {
        assert_eq!(answer, expected, "read {i} differs from the uncached app's");
    }
    // The script's values were written after a change and copied after none.
    let stats = cached.cache_stats();
    assert!(stats.hits > 0 && stats.misses > 0, "{stats:?}");
    assert_eq!(uncached.cache_stats().entries, 0);
}

#[test]
fn the_answers_reflect_each_write() {
    let host = host(64 << 20);
    let x = |host: &Host| {
        let got = call(
            host,
            json!({"id": 1, "request": "GET", "params": {"entity": "1v0", "components": ["Transform"]}}),
        );
        let text = got["response"]["components"]["Transform"]["JSON"]
            .as_str()
            .unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        value["translation"][0].as_f64().unwrap()
    };
    call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Transform": transform(1.0)}}}),
    );
    assert_eq!(x(&host), 1.0);
    assert_eq!(x(&host), 1.0);
    host.with_world_mut(|world| {
        let mut transforms = world.query::<&mut Transform>();
        transforms.single_mut(world).unwrap().translation.x = 2.0;
    });
    assert_eq!(x(&host), 2.0);
    host.update().unwrap();
    assert_eq!(x(&host), 2.0);
    call(
        &host,
        json!({"id": 1, "request": "MUTATE", "params": {"entity": "1v0",
            "component": "Transform", "path": "translation.x", "value": {"JSON": "3.0"}}}),
    );
    assert_eq!(x(&host), 3.0);
}

/// The cache's counts after `f`, less those before it.
fn counted(host: &Host, f: impl FnOnce()) -> CacheStats {
    let before = host.cache_stats();
    f();
    let after = host.cache_stats();
    CacheStats {
        entries: after.entries - before.entries,
        bytes: after.bytes - before.bytes,
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
    }
}

fn spawn(host: &Host, n: usize) {
    for i in 0..n {
        call(
            host,
            json!({"id": 1, "request": "SPAWN", "params": {"components": {
                "Name": {"JSON": format!("\"{i}\"")}, "Transform": transform(i as f32)}}}),
        );
    }
}

const QUERY: &str =
    r#"{"id":1,"request":"QUERY","params":{"data":{"components":["Name","Transform"]}}}"#;

#[test]
fn only_values_that_changed_are_written_again() {
    let host = host(64 << 20);
    spawn(&host, 100);
    let first = counted(&host, || drop(host.request(QUERY)));
    assert_eq!((first.entries, first.misses, first.hits), (200, 200, 0));
    let answer = host.request(QUERY);
    let again = counted(&host, || assert_eq!(host.request(QUERY), answer));
    assert_eq!((again.misses, again.hits), (0, 200));
    host.with_world_mut(|world| {
        let mut transforms = world.query::<&mut Transform>();
        for (i, mut transform) in transforms.iter_mut(world).enumerate() {
            if i % 10 == 0 {
                transform.translation.x = -1.0;
            }
        }
    });
    let changed = counted(&host, || assert_ne!(host.request(QUERY), answer));
    assert_eq!(
        (changed.entries, changed.misses, changed.hits),
        (0, 10, 190)
    );
}

#[test]
fn values_of_gone_entities_are_dropped() {
    let host = host(64 << 20);
    spawn(&host, 5_000);
    host.request(QUERY);
    assert_eq!(host.cache_stats().entries, 10_000);
    host.with_world_mut(|world| {
        let entities: Vec<Entity> = world
            .query::<(Entity, &Name)>()
            .iter(world)
            .map(|(e, _)| e)
            .collect();
        for entity in entities {
            world.despawn(entity);
        }
    });
    spawn(&host, 6_000);
    host.request(QUERY);
    // The next change sweeps: the cache has taken in more entries than
    // half of what it held.
    spawn(&host, 1);
    assert_eq!(host.cache_stats().entries, 12_000);
}

#[test]
fn the_cap_bounds_the_cache() {
    let cap = 64 << 10;
    let capped = host(cap);
    let uncapped = host(64 << 20);
    spawn(&capped, 2_000);
    spawn(&uncapped, 2_000);
    for _ in 0..3 {
        assert_eq!(capped.request(QUERY), uncapped.request(QUERY));
        // The cap holds once the next read or change has tidied up.
        spawn(&capped, 1);
        spawn(&uncapped, 1);
        let stats = capped.cache_stats();
        assert!(stats.bytes <= cap, "{stats:?}");
        assert!(stats.entries > 0, "{stats:?}");
    }
    assert!(uncapped.cache_stats().bytes > cap);
}

#[test]
fn a_value_that_cannot_be_written_is_an_error_and_not_kept() {
    let host = host(64 << 20);
    let entity = host.with_world_mut(|world| world.spawn(Sealed { secret: Secret }).id());
    let id = brp::entity_id::format(entity);
    let before = host.cache_stats();
    for _ in 0..2 {
        let answer: Value = serde_json::from_str(&host.request(
            &json!({"id": 1, "request": "GET", "params": {"entity": id, "components": ["Sealed"]}})
                .to_string(),
        ))
        .unwrap();
        assert_eq!(answer["error"]["code"], -23402, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("cannot serialize"), "{message}");
    }
    assert_eq!(host.cache_stats().entries, before.entries);
}
