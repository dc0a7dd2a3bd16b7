//! Input sized or shaped to exhaust the host process: each is refused or
//! handled without recursion or unbounded allocation (docs/limits.md).

use brp::{App, Config, ErrorCode};
use serde_json::{Value, json};

fn call(app: &App, request: Value) -> Value {
    serde_json::from_str(&app.request(&request.to_string())).expect("responses are JSON")
}

fn spawn(app: &App, components: Value) -> String {
    let answer = call(
        app,
        json!({"id": 1, "request": "SPAWN", "params": {"components": components}}),
    );
    answer["response"]["entity"]
        .as_str()
        .unwrap_or_else(|| panic!("SPAWN failed: {answer}"))
        .to_owned()
}

#[test]
fn destroying_a_deep_hierarchy_does_not_overflow_the_stack() {
    let app = App::new();
    let root = spawn(&app, json!({"Name": {"JSON": "\"root\""}}));
    let mut parent = root.clone();
    for _ in 0..20_000 {
        parent = spawn(&app, json!({"ChildOf": {"JSON": format!("\"{parent}\"")}}));
    }
    let answer = call(
        &app,
        json!({"id": 2, "request": "DESTROY", "params": {"entity": root}}),
    );
    assert_eq!(answer["response"]["status"], "OK", "{answer}");
    let left = call(
        &app,
        json!({"id": 3, "request": "QUERY", "params": {"data": {}}}),
    );
    assert_eq!(left["response"]["entities"], json!([]), "{left}");
}

#[test]
fn a_spawn_of_many_new_components_makes_one_archetype_not_one_per_component() {
    let app = App::with_config(Config {
        auto_declare: true,
        ..Config::default()
    })
    .unwrap();
    let archetypes = || app.read(|world| world.archetypes().len());
    let before = archetypes();
    let components: serde_json::Map<String, Value> = (0..200)
        .map(|i| (format!("C{i}"), json!({"JSON": "1"})))
        .collect();
    let entity = spawn(&app, Value::Object(components));
    assert!(
        archetypes() - before <= 2,
        "{} archetypes for one SPAWN",
        archetypes() - before
    );
    let answer = call(
        &app,
        json!({"id": 2, "request": "GET", "params": {"entity": entity, "components": ["C0", "C199"]}}),
    );
    assert_eq!(
        answer["response"]["components"]["C199"]["JSON"], "1",
        "{answer}"
    );
}

#[test]
fn a_request_over_the_component_limit_is_refused_and_declares_nothing() {
    let app = App::with_config(Config {
        auto_declare: true,
        max_components_per_request: 8,
        ..Config::default()
    })
    .unwrap();
    let components: serde_json::Map<String, Value> = (0..9)
        .map(|i| (format!("C{i}"), json!({"JSON": "1"})))
        .collect();
    let answer = call(
        &app,
        json!({"id": 1, "request": "SPAWN", "params": {"components": components}}),
    );
    assert_eq!(
        answer["error"]["code"],
        ErrorCode::InvalidParams.code(),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_components_per_request")
    );
    let query = call(
        &app,
        json!({"id": 2, "request": "QUERY", "params": {"data": {"components": ["C0"]}}}),
    );
    assert_eq!(
        query["error"]["code"],
        ErrorCode::ComponentError.code(),
        "{query}"
    );
}

#[test]
fn failed_spawns_with_auto_declare_leave_no_names_behind() {
    let app = App::with_config(Config {
        auto_declare: true,
        ..Config::default()
    })
    .unwrap();
    let declared = || app.read(|world| world.components().len());
    let before = declared();
    for i in 0..100 {
        let answer = call(
            &app,
            json!({"id": i, "request": "SPAWN", "params": {"components": {
                format!("Fresh{i}"): {"JSON": "1"}, "Broken": {"JSON": "not json"}}}}),
        );
        assert_eq!(
            answer["error"]["code"],
            ErrorCode::ComponentError.code(),
            "{answer}"
        );
    }
    assert_eq!(declared(), before);
}

#[test]
fn a_request_longer_than_the_limit_is_refused_unread() {
    let app = App::with_config(Config {
        max_request_bytes: 64,
        ..Config::default()
    })
    .unwrap();
    let long = format!(
        r#"{{"id": 1, "request": "PING", "params": {{"pad": "{}"}}}}"#,
        "x".repeat(64)
    );
    let answer: Value = serde_json::from_str(&app.request(&long)).unwrap();
    assert_eq!(answer["id"], Value::Null);
    assert_eq!(
        answer["error"]["code"],
        ErrorCode::InvalidRequest.code(),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_request_bytes")
    );
    let ping: Value =
        serde_json::from_str(&app.request(r#"{"id": 2, "request": "PING"}"#)).unwrap();
    assert_eq!(ping["response"]["status"], "OK");
}
