//! MUTATE and POLL: a MUTATE wakes the POLLs that watch its component,
//! and a failed one wakes nothing (the answers and errors themselves are
//! in tests/conformance/mutate.json).

use brp::Host;
use serde_json::{Value, json};
use std::time::Duration;

/// Long enough never to expire on a working machine; only stops a hang.
const HANG: Duration = Duration::from_secs(30);

fn call(host: &Host, request: Value) -> Value {
    serde_json::from_str(&host.request(&request.to_string())).unwrap()
}

fn mutate(host: &Host, component: &str, path: &str, value: &str) -> Value {
    call(
        host,
        json!({"id": 1, "request": "MUTATE", "params": {"entity": "1v0",
               "component": component, "path": path, "value": {"JSON": value}}}),
    )
}

/// A POLL of `params` parked in `session` after a first answer.
fn park(host: &Host, session: &brp::Session, params: Value) {
    let first = call(host, json!({"id": 1, "request": "POLL", "params": params}));
    let mut params = params;
    params["watermark"] = first["response"]["watermark"].clone();
    session.submit(&json!({"id": 2, "request": "POLL", "params": params}).to_string());
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "nothing changed: the POLL is parked"
    );
}

#[test]
fn a_mutate_wakes_a_parked_poll_with_the_changed_entity() {
    let host = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    for components in [
        json!({"Transform": {"JSON": "{}"}, "Position": {"JSON": "{\"x\": [1, 2]}"}}),
        json!({"Transform": {"JSON": "{}"}}),
    ] {
        call(
            &host,
            json!({"id": 1, "request": "SPAWN", "params": {"components": components}}),
        );
    }
    let session = host.session();
    park(
        &host,
        &session,
        json!({"data": {"components": ["Transform"]}, "filter": {"changed": ["Transform"]}}),
    );
    let failed = mutate(&host, "Transform", "translation.y", "\"up\"");
    assert_eq!(failed["error"]["code"], -32602, "{failed}");
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "a failed MUTATE changes nothing"
    );
    let done = mutate(&host, "Transform", "translation.y", "2.5");
    assert_eq!(done["response"]["status"], "OK", "{done}");
    let answer = session
        .receive(Some(HANG))
        .expect("the POLL answers")
        .to_json();
    let entities = &answer["response"]["entities"];
    assert_eq!(entities.as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(entities[0]["id"], "1v0");
    let transform: Value =
        serde_json::from_str(entities[0]["Transform"]["JSON"].as_str().unwrap()).unwrap();
    assert_eq!(transform["translation"], json!([0.0, 2.5, 0.0]));
}

#[test]
fn a_mutate_of_a_dynamic_component_wakes_a_parked_poll() {
    let host = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "{\"x\": [1, 2]}"}}}}),
    );
    let session = host.session();
    park(
        &host,
        &session,
        json!({"data": {"components": ["Position"]}}),
    );
    let done = mutate(&host, "Position", "x[0]", "{\"deep\": true}");
    assert_eq!(done["response"]["status"], "OK", "{done}");
    let answer = session
        .receive(Some(HANG))
        .expect("the POLL answers")
        .to_json();
    assert_eq!(
        answer["response"]["entities"][0]["Position"]["JSON"],
        "{\"x\":[{\"deep\":true},2]}"
    );
}

#[test]
fn a_resource_write_leaves_a_parked_poll_parked_but_answering_later_writes() {
    let host = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    call(
        &host,
        json!({"id": 1, "request": "SPAWN", "params": {"components": {"Position": {"JSON": "1"}}}}),
    );
    let session = host.session();
    park(
        &host,
        &session,
        json!({"data": {"components": ["Position"]}}),
    );
    let done = call(
        &host,
        json!({"id": 3, "request": "MUTATE", "params": {"resource": "Time<Fixed>",
               "path": "context.timestep", "value": {"JSON": "{\"secs\": 1, \"nanos\": 0}"}}}),
    );
    assert_eq!(done["response"]["status"], "OK", "{done}");
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "re-evaluated, the POLL's answer is unchanged"
    );
    let done = mutate(&host, "Position", "", "2");
    assert_eq!(done["response"]["status"], "OK", "{done}");
    let answer = session
        .receive(Some(HANG))
        .expect("the POLL answers")
        .to_json();
    assert_eq!(answer["response"]["entities"][0]["Position"]["JSON"], "2");
}
