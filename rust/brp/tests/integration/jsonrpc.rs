//! bevy_remote's JSON-RPC 2.0 dialect beyond the shared vectors
//! (tests/conformance/jsonrpc.json): discovery, the registry's schemas,
//! the same answers as the seed's requests, sessions and `+watch` streams.
//! Waits are bounded only to detect hangs.

use brp::{Dialect, ErrorCode, Host};
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough never to expire on a working machine; only stops a hang.
const HANG: Duration = Duration::from_secs(30);

const TRANSFORM: &str = "bevy_transform::components::transform::Transform";
const NAME: &str = "bevy_ecs::name::Name";

fn rpc(host: &Host, id: u64, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let answer: Value = serde_json::from_str(&host.request(&request.to_string())).unwrap();
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    assert_eq!(answer["id"], id, "{answer}");
    answer
}

fn result(host: &Host, method: &str, params: Value) -> Value {
    let answer = rpc(host, 1, method, params);
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

fn spawn(host: &Host, components: Value) -> u64 {
    let spawned = result(
        host,
        "world.spawn_entity",
        json!({"components": components}),
    );
    spawned["entity"].as_u64().unwrap()
}

#[test]
fn discover_lists_every_method_with_its_params() {
    let host = Host::new();
    let document = result(&host, "rpc.discover", Value::Null);
    assert_eq!(document["openrpc"], "1.3.2");
    let methods: Vec<(String, Vec<String>)> = (document["methods"].as_array().unwrap().iter())
        .map(|m| {
            assert_eq!(
                m["params"],
                json!([]),
                "bevy_remote's readers take no params"
            );
            let params = (m["x-params"].as_array().unwrap().iter())
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            (m["name"].as_str().unwrap().to_owned(), params)
        })
        .collect();
    let get = methods
        .iter()
        .find(|(name, _)| name == "world.get_components");
    assert_eq!(
        get.map(|(_, params)| params.clone()),
        Some(vec!["entity".into(), "components".into(), "strict".into()])
    );
    for name in [
        "world.query",
        "world.spawn_entity",
        "world.insert_components",
        "world.remove_components",
        "world.despawn_entity",
        "world.reparent_entities",
        "world.list_components",
        "world.mutate_components",
        "world.get_resources",
        "world.insert_resources",
        "world.remove_resources",
        "world.mutate_resources",
        "world.list_resources",
        "registry.schema",
        "rpc.discover",
        "world.get_components+watch",
        "world.list_components+watch",
    ] {
        assert!(methods.iter().any(|(n, _)| n == name), "{name} missing");
    }
    assert!(!methods.iter().any(|(n, _)| n == "GET"), "no seed names");
}

#[test]
fn registry_schema_describes_types_with_plain_values_and_integer_entities() {
    let host = Host::new();
    let schemas = result(
        &host,
        "registry.schema",
        json!({"with_crates": ["bevy_ecs", "bevy_transform"]}),
    );
    let transform = &schemas[TRANSFORM];
    assert_eq!(transform["shortPath"], "Transform", "{transform}");
    assert_eq!(transform["crateName"], "bevy_transform");
    let child_of = &schemas["bevy_ecs::hierarchy::ChildOf"];
    assert!(
        child_of.to_string().contains("\"integer\""),
        "an entity is an integer in this dialect: {child_of}"
    );
    assert!(
        !(schemas.as_object().unwrap().keys()).any(|path| path.starts_with("bevy_time::")),
        "with_crates filters"
    );
    let bad = rpc(
        &host,
        2,
        "registry.schema",
        json!({"with_crates": "bevy_ecs"}),
    );
    assert_eq!(bad["error"]["code"], ErrorCode::InvalidParams.code());
}

#[test]
fn both_dialects_read_and_write_the_same_world() {
    let host = Host::new();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let seed: Value = serde_json::from_str(&host.request(
        r#"{"id": 1, "request": "INSERT", "params": {"entity": "1v0", "components": {"Transform": {"JSON": "{\"translation\": [1, 2, 3]}"}}}}"#,
    ))
    .unwrap();
    assert_eq!(seed["response"]["status"], "OK", "{seed}");
    let got = result(
        &host,
        "world.get_components",
        json!({"entity": entity, "components": [TRANSFORM, NAME], "strict": true}),
    );
    assert_eq!(got[TRANSFORM]["translation"], json!([1.0, 2.0, 3.0]));
    assert_eq!(got[NAME], "hero");
    // The seed's id of the entity the dialect spawned.
    let seed: Value = serde_json::from_str(&host.request(
        r#"{"id": 2, "request": "GET", "params": {"entity": "1v0", "components": ["Name"]}}"#,
    ))
    .unwrap();
    assert_eq!(seed["response"]["components"]["Name"]["JSON"], "\"hero\"");
}

#[test]
fn a_failed_request_of_the_dialect_changes_nothing() {
    let host = Host::new();
    let parent = spawn(&host, json!({NAME: "parent"}));
    let child = spawn(&host, json!({NAME: "child"}));
    // The second entity would become its own parent: nothing is reparented.
    let refused = rpc(
        &host,
        3,
        "world.reparent_entities",
        json!({"entities": [child, parent], "parent": parent}),
    );
    assert_eq!(refused["error"]["code"], ErrorCode::SelfReparent.code());
    let listed = result(&host, "world.list_components", json!({"entity": child}));
    assert_eq!(listed, json!([NAME]), "the first entity was not reparented");
    // A spawn with one bad value spawns nothing.
    let refused = rpc(
        &host,
        4,
        "world.spawn_entity",
        json!({"components": {NAME: "x", TRANSFORM: {"translation": "up"}}}),
    );
    assert_eq!(refused["error"]["code"], ErrorCode::ComponentError.code());
    let named = result(
        &host,
        "world.query",
        json!({"data": {"components": [NAME]}}),
    );
    assert_eq!(named.as_array().unwrap().len(), 2, "{named}");
}

#[test]
fn a_session_answers_the_dialect_and_keeps_its_ids() {
    let host = Host::new();
    let session = host.session();
    session.submit(r#"{"jsonrpc": "2.0", "id": 7, "method": "world.list_resources"}"#);
    let answer = session.receive(Some(HANG)).unwrap();
    assert_eq!(answer.dialect, Dialect::JsonRpc);
    assert_eq!(answer.id, Some(7));
    let text = answer.to_text();
    assert!(
        text.starts_with(r#"{"jsonrpc":"2.0","id":7,"result":["#),
        "{text}"
    );
}

fn next(session: &brp::Session) -> Value {
    session
        .receive(Some(HANG))
        .expect("an answer before the hang guard")
        .to_json()
}

fn watch(session: &brp::Session, id: u64, method: &str, params: Value) {
    let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    session.submit(&request.to_string());
}

#[test]
fn a_component_watch_streams_the_state_then_each_change_and_removal() {
    let host = Host::new();
    let entity = spawn(&host, json!({NAME: "hero", TRANSFORM: {}}));
    let other = spawn(&host, json!({NAME: "other"}));
    let session = host.session();
    watch(
        &session,
        9,
        "world.get_components+watch",
        json!({"entity": entity, "components": [NAME, TRANSFORM, "my_game::Nope"]}),
    );
    let first = next(&session);
    assert_eq!(first["id"], 9);
    assert_eq!(first["result"]["components"][NAME], "hero", "{first}");
    assert!(first["result"]["components"][TRANSFORM].is_object());
    assert_eq!(first["result"]["removed"], json!([]));
    assert_eq!(first["result"]["errors"]["my_game::Nope"]["code"], -23402);
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "no change, no answer"
    );

    // A change to another entity, or a read, does not answer.
    result(
        &host,
        "world.insert_components",
        json!({"entity": other, "components": {NAME: "x"}}),
    );
    result(
        &host,
        "world.get_components",
        json!({"entity": entity, "components": [NAME]}),
    );
    assert!(session.receive(Some(Duration::ZERO)).is_err());

    // One field changed: only that component comes back.
    result(
        &host,
        "world.mutate_components",
        json!({"entity": entity, "component": TRANSFORM, "path": "translation.x", "value": 4.0}),
    );
    let changed = next(&session);
    assert_eq!(changed["id"], 9);
    let components = changed["result"]["components"].as_object().unwrap();
    assert_eq!(
        components.keys().collect::<Vec<_>>(),
        [TRANSFORM],
        "{changed}"
    );
    assert_eq!(components[TRANSFORM]["translation"][0], 4.0);

    // Through the seed's dialect too; and a removal.
    host.request(
        r#"{"id": 1, "request": "REMOVE", "params": {"entity": "1v0", "components": ["Name"]}}"#,
    );
    let removed = next(&session);
    assert_eq!(removed["result"]["removed"], json!([NAME]), "{removed}");
    assert_eq!(removed["result"]["components"], json!({}));

    // Coming back is a change.
    result(
        &host,
        "world.insert_components",
        json!({"entity": entity, "components": {NAME: "back"}}),
    );
    assert_eq!(next(&session)["result"]["components"][NAME], "back");

    // The entity goes: the stream ends with the error.
    result(&host, "world.despawn_entity", json!({"entity": entity}));
    let last = next(&session);
    assert_eq!(
        last["error"]["code"],
        ErrorCode::EntityNotFound.code(),
        "{last}"
    );
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "nothing after the end"
    );
    // Its id is free again.
    watch(
        &session,
        9,
        "world.list_components+watch",
        json!({"entity": other}),
    );
    assert_eq!(next(&session)["result"]["added"], json!([NAME]));
}

#[test]
fn a_list_watch_reports_added_and_removed_components() {
    let host = Host::new();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let session = host.session();
    watch(
        &session,
        1,
        "world.list_components+watch",
        json!({"entity": entity}),
    );
    assert_eq!(
        next(&session)["result"],
        json!({"added": [NAME], "removed": []})
    );
    result(
        &host,
        "world.insert_components",
        json!({"entity": entity, "components": {TRANSFORM: {}}}),
    );
    let added = next(&session);
    assert_eq!(
        added["result"]["added"],
        json!([
            "bevy_transform::components::global_transform::GlobalTransform",
            TRANSFORM
        ]),
        "{added}"
    );
    // A value change is not a list change.
    result(
        &host,
        "world.insert_components",
        json!({"entity": entity, "components": {NAME: "x"}}),
    );
    assert!(session.receive(Some(Duration::ZERO)).is_err());
    result(
        &host,
        "world.remove_components",
        json!({"entity": entity, "components": [NAME]}),
    );
    assert_eq!(
        next(&session)["result"],
        json!({"added": [], "removed": [NAME]})
    );
}

#[test]
fn a_watch_ends_when_cancelled_or_its_session_closes_and_counts_against_the_limit() {
    let host = Host::from_config_json(r#"{"max_parked_polls_per_session": 1}"#).unwrap();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let session = host.session();
    let params = json!({"entity": entity, "components": [NAME]});
    watch(&session, 1, "world.get_components+watch", params.clone());
    next(&session);
    watch(&session, 2, "world.get_components+watch", params.clone());
    let refused = next(&session);
    assert_eq!(refused["id"], 2);
    assert_eq!(
        refused["error"]["code"],
        ErrorCode::InvalidRequest.code(),
        "{refused}"
    );
    watch(&session, 1, "world.get_components+watch", params.clone());
    assert_eq!(
        next(&session)["error"]["code"],
        ErrorCode::DuplicateId.code()
    );

    assert!(session.cancel(1));
    let cancelled = next(&session);
    assert_eq!(cancelled["error"]["code"], ErrorCode::Cancelled.code());
    assert_eq!(cancelled["jsonrpc"], "2.0");
    result(
        &host,
        "world.insert_components",
        json!({"entity": entity, "components": {NAME: "x"}}),
    );
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "a cancelled watch is quiet"
    );

    watch(&session, 3, "world.get_components+watch", params);
    next(&session);
    session.close();
    assert_eq!(next(&session)["error"]["code"], ErrorCode::Cancelled.code());
}

#[test]
fn a_watch_needs_a_session_that_can_stream() {
    let host = Host::new();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let params = json!({"entity": entity, "components": [NAME]});
    let refused = rpc(&host, 5, "world.get_components+watch", params.clone());
    assert_eq!(refused["error"]["code"], ErrorCode::InvalidRequest.code());
    let session = host.session();
    let request = json!({"jsonrpc": "2.0", "id": 6, "method": "world.get_components+watch", "params": params});
    let blocking: Value = serde_json::from_str(&session.request(&request.to_string())).unwrap();
    assert_eq!(
        blocking["error"]["code"],
        ErrorCode::InvalidRequest.code(),
        "{blocking}"
    );
}

#[test]
fn a_watch_streams_in_order_while_other_threads_write() {
    let host = Host::new();
    let entity = spawn(&host, json!({TRANSFORM: {}}));
    let session = host.session();
    watch(
        &session,
        1,
        "world.get_components+watch",
        json!({"entity": entity, "components": [TRANSFORM], "strict": true}),
    );
    next(&session);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let host = host.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let x = f64::from(t * 1000 + i);
                    result(&host, "world.mutate_components", json!({"entity": entity, "component": TRANSFORM, "path": "translation.y", "value": x}));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    result(
        &host,
        "world.mutate_components",
        json!({"entity": entity, "component": TRANSFORM, "path": "translation.x", "value": 1.0}),
    );
    // Every answer is a newer state than the one before: the last one
    // holds the last write.
    let mut last = Value::Null;
    while let Ok(response) = session.receive(Some(Duration::ZERO)) {
        last = response.to_json();
    }
    assert_eq!(
        last["result"]["components"][TRANSFORM]["translation"][0], 1.0,
        "{last}"
    );
}

#[test]
fn a_watch_whose_answers_pile_up_unreceived_ends() {
    let host = Host::from_config_json(r#"{"max_watch_backlog": 3}"#).unwrap();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let session = host.session();
    watch(
        &session,
        1,
        "world.get_components+watch",
        json!({"entity": entity, "components": [NAME]}),
    );
    for i in 0..10 {
        result(
            &host,
            "world.insert_components",
            json!({"entity": entity, "components": {NAME: i.to_string()}}),
        );
    }
    let mut answers = Vec::new();
    while let Ok(response) = session.receive(Some(Duration::ZERO)) {
        answers.push(response.to_json());
    }
    assert_eq!(answers.len(), 4, "three answers, then the end: {answers:?}");
    let last = &answers[3];
    assert_eq!(last["error"]["code"], ErrorCode::Cancelled.code(), "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_watch_backlog")
    );
}

#[test]
fn a_watch_whose_callback_is_stuck_ends_instead_of_piling_up_answers() {
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    let host = Host::from_config_json(r#"{"max_watch_backlog": 3}"#).unwrap();
    let entity = spawn(&host, json!({NAME: "hero"}));
    let session = host.session();
    let (seen, answers) = mpsc::channel::<Value>();
    let (release, stuck) = mpsc::channel::<()>();
    let stuck = Mutex::new(stuck);
    let calls = Mutex::new(0);
    session.set_callback(Some(Arc::new(move |response: brp::Response| {
        let call = {
            let mut calls = calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        let _ = seen.send(response.to_json());
        if call == 2 {
            // The second answer's receiver is stuck until released.
            let _ = stuck.lock().unwrap().recv_timeout(HANG);
        }
    })));
    watch(
        &session,
        1,
        "world.get_components+watch",
        json!({"entity": entity, "components": [NAME]}),
    );
    assert!(answers.recv_timeout(HANG).unwrap()["result"].is_object());
    let writer = {
        let host = host.clone();
        std::thread::spawn(move || {
            result(
                &host,
                "world.insert_components",
                json!({"entity": entity, "components": {NAME: "2"}}),
            );
        })
    };
    assert_eq!(
        answers.recv_timeout(HANG).unwrap()["result"]["components"][NAME],
        "2"
    );
    // The writer's thread is inside the stuck callback; more changes queue.
    for n in 3..10 {
        result(
            &host,
            "world.insert_components",
            json!({"entity": entity, "components": {NAME: n.to_string()}}),
        );
    }
    release.send(()).unwrap();
    writer.join().unwrap();
    let rest: Vec<Value> = answers.try_iter().collect();
    assert_eq!(
        rest.len(),
        4,
        "three queued answers, then the end: {rest:?}"
    );
    let last = &rest[3];
    assert_eq!(last["error"]["code"], ErrorCode::Cancelled.code(), "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_watch_backlog")
    );
    result(
        &host,
        "world.insert_components",
        json!({"entity": entity, "components": {NAME: "after"}}),
    );
    assert!(answers.try_recv().is_err(), "the watch has ended");
}
