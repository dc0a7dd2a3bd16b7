//! The Host's behaviour beyond single requests: declared components, config,
//! registered Rust types, update, change ticks, threads.

use bevy_ecs::prelude::*;
use bevy_reflect::Reflect;
use brp::{Config, ErrorCode, Host};
use serde_json::{Value, json};

fn call(app: &Host, request: Value) -> Value {
    serde_json::from_str(&app.request(&request.to_string())).expect("responses are JSON")
}

fn error_code(response: &Value) -> i64 {
    response["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {response}"))
}

#[derive(Component, Reflect, Default)]
#[reflect(Component)]
struct Health(f32);

#[test]
fn every_config_reads_its_json_alike() {
    use brp::server::ServerConfig;
    for text in ["", "  ", "null", " null "] {
        assert_eq!(
            brp::Config::from_json(text).unwrap(),
            brp::Config::default()
        );
        assert_eq!(
            ServerConfig::from_json(text).unwrap(),
            ServerConfig::default()
        );
    }
    for (text, says) in [
        ("[1]", "expected a JSON object"),
        ("7", "expected a JSON object"),
        ("{\"nope\": 1}", "unknown field"),
        ("{not json", "key must be a string"),
    ] {
        let app = brp::Config::from_json(text).unwrap_err();
        let server = ServerConfig::from_json(text).unwrap_err();
        assert!(
            app.message.starts_with("invalid app config: "),
            "{}",
            app.message
        );
        assert!(
            server.message.starts_with("invalid server config: "),
            "{}",
            server.message
        );
        assert!(
            app.message.contains(says) && server.message.contains(says),
            "{text}"
        );
    }
}

#[test]
fn receive_tells_a_timeout_from_a_closed_session() {
    let app = Host::new();
    let session = app.session();
    let wait = Some(std::time::Duration::ZERO);
    assert_eq!(
        session.receive(wait).unwrap_err(),
        brp::NoResponse::TimedOut
    );
    session.submit(r#"{"id": 1, "request": "PING"}"#);
    session.close();
    assert!(
        session.receive(Some(std::time::Duration::MAX)).is_ok(),
        "drained first"
    );
    for timeout in [None, Some(std::time::Duration::MAX), wait] {
        assert_eq!(
            session.receive(timeout).unwrap_err(),
            brp::NoResponse::Closed
        );
    }
}

#[test]
fn app_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Host>();
    fn assert_send_sync_session<T: Send + Sync>() {}
    assert_send_sync_session::<brp::Session>();
}

#[test]
fn declaring_twice_is_idempotent_and_collisions_are_errors() {
    let app = Host::new();
    app.declare_component("Position").unwrap();
    app.declare_component("Position").unwrap();
    for (name, message) in [
        ("Name", "already stands for `bevy_ecs::name::Name`"),
        (
            "Parent",
            "already stands for `bevy_ecs::hierarchy::ChildOf`",
        ),
        ("bevy_ecs::name::Name", "is a registered Rust type"),
        ("id", "reserved"),
        ("two words", "identifier"),
        ("", "identifier"),
        ("a::", "identifier"),
    ] {
        let error = app.declare_component(name).expect_err(name);
        assert_eq!(error.code, ErrorCode::ComponentError, "{name}");
        assert!(error.message.contains(message), "{name}: {}", error.message);
    }
}

#[test]
fn config_declares_components_and_rejects_unknown_settings() {
    let app = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    let spawned = call(
        &app,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "[1]"}}}}),
    );
    assert_eq!(spawned["response"]["entity"], "1v0");
    for bad in [
        r#"{"component": []}"#,
        "[]",
        "{",
        r#"{"components": ["a b"]}"#,
    ] {
        assert!(Host::from_config_json(bad).is_err(), "{bad}");
    }
    assert!(Host::from_config_json("").is_ok());
    assert!(Host::from_config_json("null").is_ok());
}

#[test]
fn strict_by_default_and_auto_declare_on_request() {
    let spawn = json!({"id": 1, "request": "SPAWN", "params": {"components": {"Velocity": {"JSON": "{\"dx\": 1}"}}}});
    let strict = Host::new();
    assert_eq!(
        error_code(&call(&strict, spawn.clone())),
        i64::from(ErrorCode::ComponentError)
    );

    let lenient = Host::with_config(Config {
        auto_declare: true,
        ..Config::default()
    })
    .unwrap();
    assert_eq!(call(&lenient, spawn)["response"]["entity"], "1v0");
    let got = call(
        &lenient,
        json!({"id": 2, "request": "GET", "params": {"entity": "1v0", "components": ["Velocity"]}}),
    );
    assert_eq!(
        got["response"]["components"]["Velocity"]["JSON"],
        "{\"dx\":1}"
    );
    // An ambiguous or malformed name is never declared.
    let bad = call(
        &lenient,
        json!({"id": 3, "request": "INSERT", "params": {"entity": "1v0", "components": {"a b": {"JSON": "1"}}}}),
    );
    assert_eq!(error_code(&bad), i64::from(ErrorCode::ComponentError));
}

#[test]
fn registered_rust_types_are_addressable_and_can_be_ambiguous() {
    mod other {
        use bevy_ecs::prelude::*;
        use bevy_reflect::Reflect;
        #[derive(Component, Reflect, Default)]
        #[reflect(Component)]
        pub(crate) struct Health(pub u8);
    }
    let app = Host::new();
    app.register_type::<Health>().unwrap();
    let spawned = call(
        &app,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Health": {"JSON": "0.5"}}}}),
    );
    assert_eq!(spawned["response"]["entity"], "1v0", "{spawned}");

    app.register_type::<other::Health>().unwrap();
    let ambiguous = call(
        &app,
        json!({"id": 2, "request": "GET", "params": {"entity": "1v0", "components": ["Health"]}}),
    );
    assert_eq!(error_code(&ambiguous), i64::from(ErrorCode::ComponentError));
    assert!(
        ambiguous["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ambiguous")
    );
    assert_eq!(
        ambiguous["error"]["data"]["candidates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let full = std::any::type_name::<Health>();
    let got = call(
        &app,
        json!({"id": 3, "request": "GET", "params": {"entity": "1v0", "components": [full]}}),
    );
    assert_eq!(got["response"]["components"][full]["JSON"], "0.5");
}

#[test]
fn a_type_cannot_take_a_declared_name() {
    let app = Host::new();
    app.declare_component("Health").unwrap();
    assert_eq!(
        app.register_type::<Health>().unwrap_err().code,
        ErrorCode::ComponentError
    );
}

#[test]
fn update_runs_systems_and_requests_see_their_changes() {
    let app = Host::new();
    app.register_type::<Health>().unwrap();
    app.add_systems(bevy_app::Update, |mut query: Query<&mut Health>| {
        for mut health in &mut query {
            health.0 += 1.0;
        }
    });
    call(
        &app,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Health": {"JSON": "1.0"}}}}),
    );
    app.update().unwrap();
    app.update().unwrap();
    let got = call(
        &app,
        json!({"id": 2, "request": "GET", "params": {"entity": "1v0", "components": ["Health"]}}),
    );
    assert_eq!(got["response"]["components"]["Health"]["JSON"], "3.0");
}

#[test]
fn a_panicking_system_is_an_error_not_a_crash() {
    let app = Host::new();
    app.add_systems(bevy_app::Update, || panic!("system failure"));
    assert_eq!(app.update().unwrap_err().code, ErrorCode::InternalError);
    assert_eq!(
        call(&app, json!({"id": 1, "request": "PING"}))["response"]["status"],
        "OK"
    );
}

#[test]
fn mutations_advance_the_change_tick_and_failures_do_not() {
    let app = Host::new();
    let tick = || app.read(|world| world.read_change_tick().get());
    let start = tick();
    call(&app, json!({"id": 1, "request": "PING"}));
    call(&app, json!({"id": 2, "request": "QUERY", "params": {}}));
    assert_eq!(tick(), start, "reads leave the tick alone");
    call(
        &app,
        json!({"id": 3, "request": "SPAWN", "params": {"components": {}}}),
    );
    let after_spawn = tick();
    assert!(after_spawn > start);
    call(
        &app,
        json!({"id": 4, "request": "DESTROY", "params": {"entity": "99v0"}}),
    );
    assert_eq!(tick(), after_spawn, "a failed mutation changes nothing");
    app.update().unwrap();
    assert!(tick() > after_spawn);
    app.with_world_mut(|world| world.spawn_empty().id());
    assert!(tick() > after_spawn + 1);
}

#[test]
fn threads_share_one_app_and_every_insert_lands() {
    const THREADS: usize = 8;
    const INSERTS: usize = 200;
    let app = Host::from_config_json(r#"{"components": ["Counter"]}"#).unwrap();
    let entities: Vec<String> = (0..THREADS)
        .map(|_| {
            let spawned = call(
                &app,
                json!({"id": 0, "request": "SPAWN", "params": {"components": {}}}),
            );
            spawned["response"]["entity"].as_str().unwrap().to_owned()
        })
        .collect();
    std::thread::scope(|scope| {
        for entity in &entities {
            let session = app.session();
            scope.spawn(move || {
                for n in 0..INSERTS {
                    let request = json!({"id": n, "request": "INSERT", "params": {
                        "entity": entity, "components": {"Counter": {"JSON": n.to_string()}}}});
                    let response: Value =
                        serde_json::from_str(&session.request(&request.to_string())).unwrap();
                    assert_eq!(response["response"]["status"], "OK", "{response}");
                }
            });
        }
    });
    let rows = call(
        &app,
        json!({"id": 1, "request": "QUERY", "params": {"data": {"components": ["Counter"]}}}),
    );
    let rows = rows["response"]["entities"].as_array().unwrap();
    assert_eq!(rows.len(), THREADS);
    for row in rows {
        assert_eq!(row["Counter"]["JSON"], (INSERTS - 1).to_string());
    }
}

#[test]
fn sessions_scope_ids_independently() {
    let app = Host::new();
    let (a, b) = (app.session(), app.session());
    let ping = r#"{"id": 1, "request": "PING"}"#;
    assert_eq!(a.request(ping), r#"{"id":1,"response":{"status":"OK"}}"#);
    assert_eq!(b.request(ping), r#"{"id":1,"response":{"status":"OK"}}"#);
    assert_eq!(
        a.request(ping),
        r#"{"id":1,"response":{"status":"OK"}}"#,
        "a finished id can be reused"
    );
}
