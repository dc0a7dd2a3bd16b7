//! POLL, watermarks and asynchronous sessions. Waits are bounded only to
//! detect hangs; nothing here asserts how long anything takes.

use brp::{ErrorCode, Host};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Long enough never to expire on a working machine; only stops a hang.
const HANG: Duration = Duration::from_secs(30);

fn app() -> Host {
    Host::from_config_json(r#"{"components": ["Position", "Player", "Counter"]}"#).unwrap()
}

fn call(app: &Host, request: Value) -> Value {
    serde_json::from_str(&app.request(&request.to_string())).unwrap()
}

fn spawn(app: &Host, components: Value) -> String {
    let response = call(
        app,
        json!({"id": 0, "request": "SPAWN", "params": {"components": components}}),
    );
    response["response"]["entity"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"))
        .to_owned()
}

fn insert(app: &Host, entity: &str, name: &str, value: Value) {
    let response = call(
        app,
        json!({"id": 0, "request": "INSERT", "params": {"entity": entity, "components": {name: {"JSON": value.to_string()}}}}),
    );
    assert_eq!(response["response"]["status"], "OK", "{response}");
}

fn poll(id: u64, params: Value) -> String {
    json!({"id": id, "request": "POLL", "params": params}).to_string()
}

fn received(session: &brp::Session) -> Value {
    session
        .receive(Some(HANG))
        .expect("a response before the hang guard")
        .to_json()
}

/// POLLs `params` with a null watermark and returns the watermark.
fn first_watermark(app: &Host, params: &Value) -> String {
    let answer: Value = serde_json::from_str(&app.request(&poll(1, params.clone()))).unwrap();
    answer["response"]["watermark"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

fn with_watermark(params: &Value, watermark: &str) -> Value {
    let mut params = params.clone();
    params["watermark"] = json!(watermark);
    params
}

#[test]
fn a_parked_poll_is_woken_by_an_insert_from_another_thread() {
    let app = app();
    let player = spawn(&app, json!({"Position": {"JSON": "{\"x\": 0}"}}));
    let params = json!({"data": {"components": ["Position"]}});
    let watermark = first_watermark(&app, &params);

    let session = app.session();
    session.submit(&poll(7, with_watermark(&params, &watermark)));
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "nothing changed: the POLL is parked"
    );

    let writer = app.clone();
    std::thread::spawn(move || insert(&writer, &player, "Position", json!({"x": 5})))
        .join()
        .unwrap();
    let answer = received(&session);
    assert_eq!(answer["id"], 7);
    assert_eq!(
        answer["response"]["entities"][0]["Position"]["JSON"],
        "{\"x\":5}"
    );
    assert_ne!(answer["response"]["watermark"], json!(watermark));
}

#[test]
fn a_blocking_poll_waits_in_its_thread_until_another_session_writes() {
    let app = app();
    let player = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);
    let (sender, receiver) = mpsc::channel();
    let poller = app.clone();
    let request = poll(1, with_watermark(&params, &watermark));
    std::thread::spawn(move || sender.send(poller.session().request(&request)));
    assert!(
        receiver.recv_timeout(Duration::from_millis(50)).is_err(),
        "parked until a change"
    );
    insert(&app, &player, "Counter", json!(1));
    let answer: Value = serde_json::from_str(&receiver.recv_timeout(HANG).unwrap()).unwrap();
    assert_eq!(answer["response"]["entities"][0]["Counter"]["JSON"], "1");
}

#[test]
fn entering_and_leaving_the_match_set_wake_a_poll() {
    let app = app();
    spawn(&app, json!({"Player": {"JSON": "1"}}));
    let params = json!({"filter": {"with": ["Player"]}});
    let session = app.session();

    let watermark = first_watermark(&app, &params);
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    let newcomer = spawn(&app, json!({"Player": {"JSON": "2"}}));
    let entered = received(&session);
    assert_eq!(entered["response"]["entities"].as_array().unwrap().len(), 2);

    let watermark = entered["response"]["watermark"]
        .as_str()
        .unwrap()
        .to_owned();
    session.submit(&poll(2, with_watermark(&params, &watermark)));
    call(
        &app,
        json!({"id": 0, "request": "DESTROY", "params": {"entity": newcomer}}),
    );
    let left = received(&session);
    assert_eq!(left["response"]["entities"].as_array().unwrap().len(), 1);
}

#[test]
fn an_optional_component_coming_or_going_wakes_a_poll_and_unrelated_changes_do_not() {
    let app = app();
    let player = spawn(
        &app,
        json!({"Player": {"JSON": "1"}, "Counter": {"JSON": "0"}}),
    );
    let params = json!({"data": {"optional": ["Position"]}, "filter": {"with": ["Player"]}, "timeout_ms": 200});
    let watermark = first_watermark(&app, &params);
    let session = app.session();
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    insert(&app, &player, "Counter", json!(1));
    let timed_out = received(&session);
    assert_eq!(
        timed_out["error"]["code"],
        ErrorCode::Timeout.code(),
        "Counter is not selected: {timed_out}"
    );

    session.submit(&poll(2, with_watermark(&params, &watermark)));
    insert(&app, &player, "Position", json!({"x": 1}));
    let added = received(&session);
    assert_eq!(
        added["response"]["entities"][0]["Position"]["JSON"],
        "{\"x\":1}"
    );

    let watermark = added["response"]["watermark"].as_str().unwrap().to_owned();
    session.submit(&poll(3, with_watermark(&params, &watermark)));
    call(
        &app,
        json!({"id": 0, "request": "REMOVE", "params": {"entity": player, "components": ["Position"]}}),
    );
    let removed = received(&session);
    assert_eq!(removed["response"]["entities"][0], json!({"id": player}));
}

#[test]
fn changed_returns_only_the_entities_that_changed() {
    let app = app();
    let a = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let b = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}, "filter": {"changed": ["Counter"]}});
    let all: Value = serde_json::from_str(&app.request(&poll(1, params.clone()))).unwrap();
    assert_eq!(
        all["response"]["entities"].as_array().unwrap().len(),
        2,
        "no watermark: everything"
    );
    let watermark = all["response"]["watermark"].as_str().unwrap();

    insert(&app, &b, "Counter", json!(5));
    let some: Value =
        serde_json::from_str(&app.request(&poll(2, with_watermark(&params, watermark)))).unwrap();
    assert_eq!(
        some["response"]["entities"],
        json!([{"id": b, "Counter": {"JSON": "5"}}])
    );

    let session = app.session();
    let watermark = some["response"]["watermark"].as_str().unwrap();
    session.submit(&poll(3, with_watermark(&params, watermark)));
    spawn(&app, json!({"Position": {"JSON": "1"}}));
    assert!(
        session.receive(Some(Duration::ZERO)).is_err(),
        "no Counter changed yet"
    );
    insert(&app, &a, "Counter", json!(9));
    let answer = received(&session);
    assert_eq!(
        answer["response"]["entities"],
        json!([{"id": a, "Counter": {"JSON": "9"}}])
    );
}

#[test]
fn responses_come_out_of_order_and_ids_in_flight_are_rejected() {
    let app = app();
    let player = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);
    let session = app.session();
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    session.submit(r#"{"id": 2, "request": "PING"}"#);
    session.submit(r#"{"id": 1, "request": "PING"}"#);
    assert_eq!(
        received(&session),
        json!({"id": 2, "response": {"status": "OK"}})
    );
    let duplicate = received(&session);
    assert_eq!(duplicate["id"], 1);
    assert_eq!(duplicate["error"]["code"], ErrorCode::DuplicateId.code());
    insert(&app, &player, "Counter", json!(1));
    let answer = received(&session);
    assert_eq!(answer["id"], 1);
    assert!(answer["response"]["entities"].is_array());
    session.submit(r#"{"id": 1, "request": "PING"}"#);
    assert_eq!(
        received(&session),
        json!({"id": 1, "response": {"status": "OK"}}),
        "id 1 is free again"
    );
}

#[test]
fn a_poll_can_be_cancelled_by_call_or_by_request() {
    let app = app();
    spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);
    let session = app.session();
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    assert!(session.cancel(1));
    assert!(!session.cancel(1), "already gone");
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code()
    );

    session.submit(&poll(2, with_watermark(&params, &watermark)));
    session.submit(r#"{"id": 3, "request": "CANCEL", "params": {"id": 2}}"#);
    let mut answers = [received(&session), received(&session)];
    answers.sort_by_key(|a| a["id"].as_u64());
    assert_eq!(answers[0]["error"]["code"], ErrorCode::Cancelled.code());
    assert_eq!(answers[1], json!({"id": 3, "response": {"status": "OK"}}));

    session.submit(r#"{"id": 4, "request": "CANCEL", "params": {"id": 99}}"#);
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::InvalidParams.code()
    );
    let other = app.session();
    session.submit(&poll(5, with_watermark(&params, &watermark)));
    assert!(!other.cancel(5), "a session cannot cancel another's POLL");
    assert!(session.cancel(5));
}

#[test]
fn closing_a_session_or_the_app_wakes_parked_polls() {
    let app = app();
    spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);

    let session = app.session();
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    session.close();
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    assert!(session.receive(Some(Duration::ZERO)).is_err());
    session.submit(r#"{"id": 2, "request": "PING"}"#);
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code(),
        "a closed session refuses requests"
    );

    let (sender, receiver) = mpsc::channel();
    let poller = app.clone();
    let request = poll(3, with_watermark(&params, &watermark));
    std::thread::spawn(move || sender.send(poller.request(&request)));
    assert!(receiver.recv_timeout(Duration::from_millis(50)).is_err());
    app.close();
    let answer: Value = serde_json::from_str(&receiver.recv_timeout(HANG).unwrap()).unwrap();
    assert_eq!(answer["error"]["code"], ErrorCode::Cancelled.code());
    assert_eq!(
        call(&app, json!({"id": 4, "request": "PING"}))["response"]["status"],
        "OK"
    );
}

#[test]
fn dropping_a_session_with_a_parked_poll_frees_it() {
    let app = app();
    spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let session = app.session();
        let sink = Arc::clone(&seen);
        session.set_callback(Some(Arc::new(move |r: brp::Response| {
            sink.lock().unwrap().push(r.to_json())
        })));
        session.submit(&poll(1, with_watermark(&params, &watermark)));
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["error"]["code"], ErrorCode::Cancelled.code());
}

#[test]
fn callbacks_receive_answers_and_may_call_back_into_the_app() {
    let app = app();
    let player = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}});
    let watermark = first_watermark(&app, &params);
    let session = app.session();
    let (sender, receiver) = mpsc::channel();
    let reader = app.clone();
    let sender = Mutex::new(sender);
    session.set_callback(Some(Arc::new(move |r: brp::Response| {
        let ping = reader.request(r#"{"id": 9, "request": "PING"}"#);
        let _ = sender.lock().unwrap().send((r.to_json(), ping));
    })));
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    insert(&app, &player, "Counter", json!(3));
    let (answer, ping) = receiver.recv_timeout(HANG).unwrap();
    assert_eq!(answer["response"]["entities"][0]["Counter"]["JSON"], "3");
    assert_eq!(ping, r#"{"id":9,"response":{"status":"OK"}}"#);
}

#[test]
fn update_and_direct_world_changes_wake_polls() {
    use bevy_ecs::prelude::*;
    #[derive(Component, bevy_reflect::Reflect, Default)]
    #[reflect(Component)]
    struct Ticks(u32);
    let app = app();
    app.register_type::<Ticks>().unwrap();
    app.add_systems(
        bevy_app::Update,
        |mut query: bevy_ecs::system::Query<&mut Ticks>| {
            for mut ticks in &mut query {
                ticks.0 += 1;
            }
        },
    );
    spawn(&app, json!({"Ticks": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Ticks"]}});
    let watermark = first_watermark(&app, &params);
    let session = app.session();
    session.submit(&poll(1, with_watermark(&params, &watermark)));
    app.update().unwrap();
    let answer = received(&session);
    assert_eq!(answer["response"]["entities"][0]["Ticks"]["JSON"], "1");

    let watermark = answer["response"]["watermark"].as_str().unwrap().to_owned();
    session.submit(&poll(2, with_watermark(&params, &watermark)));
    app.with_world_mut(|world| {
        let mut query = world.query::<&mut Ticks>();
        for mut ticks in query.iter_mut(world) {
            ticks.0 = 40;
        }
    });
    assert_eq!(
        received(&session)["response"]["entities"][0]["Ticks"]["JSON"],
        "40"
    );
}

/// The guarantee: every value the poller does not see is superseded by one
/// it does see. The poller sees a strictly increasing subsequence of the
/// written values that ends with the last one written.
#[test]
fn a_poller_never_misses_the_latest_change() {
    const WRITES: u64 = 2_000;
    let app = app();
    let player = spawn(&app, json!({"Counter": {"JSON": "0"}}));
    let params = json!({"data": {"components": ["Counter"]}, "filter": {"changed": ["Counter"]},
                        "timeout_ms": HANG.as_millis() as u64});
    let poller = {
        let app = app.clone();
        std::thread::spawn(move || {
            let session = app.session();
            let mut watermark = Value::Null;
            let mut seen = Vec::new();
            for id in 0.. {
                let mut request = params.clone();
                request["watermark"] = watermark;
                let answer: Value =
                    serde_json::from_str(&session.request(&poll(id, request))).unwrap();
                watermark = answer["response"]["watermark"].clone();
                let value: u64 = answer["response"]["entities"][0]["Counter"]["JSON"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{answer}"));
                seen.push(value);
                if value == WRITES {
                    return seen;
                }
            }
            unreachable!()
        })
    };
    for value in 1..=WRITES {
        insert(&app, &player, "Counter", json!(value));
    }
    let seen = poller.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&WRITES));
}

/// Submits a POLL with the current watermark of `params` to `session`; it
/// parks, since nothing changed since that watermark.
fn park(app: &Host, session: &brp::Session, id: u64, params: &Value) {
    let watermark = first_watermark(app, params);
    session.submit(&poll(id, with_watermark(params, &watermark)));
}

#[test]
fn writes_wake_polls_through_the_hierarchy_and_required_components() {
    let app = app();
    let session = app.session();
    let parent = spawn(&app, json!({"Name": {"JSON": "\"parent\""}}));
    // A POLL of the parent's Children, woken by a SPAWN of a child.
    let children = json!({"data": {"components": ["Children"]}});
    let none: Value = serde_json::from_str(&app.request(&poll(1, children.clone()))).unwrap();
    assert_eq!(none["response"]["entities"], json!([]), "{none}");
    park(&app, &session, 1, &children);
    let child = spawn(&app, json!({"ChildOf": {"JSON": format!("\"{parent}\"")}}));
    let answer = received(&session);
    assert_eq!(answer["response"]["entities"][0]["id"], parent, "{answer}");
    // A POLL of GlobalTransform, woken by a SPAWN of a Transform (which
    // requires it).
    let global = json!({"data": {"components": ["GlobalTransform"]}});
    park(&app, &session, 2, &global);
    spawn(&app, json!({"Transform": {"JSON": "{}"}}));
    let answer = received(&session);
    assert_eq!(answer["id"], 2);
    assert_eq!(
        answer["response"]["entities"].as_array().unwrap().len(),
        1,
        "{answer}"
    );
    // A POLL of the parent's Children, woken by the child leaving it.
    park(&app, &session, 3, &children);
    let answer = call(
        &app,
        json!({"id": 9, "request": "REPARENT", "params": {"entity": child, "parent": null}}),
    );
    assert_eq!(answer["response"]["status"], "OK");
    let answer = received(&session);
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["response"]["entities"], json!([]), "{answer}");
}

#[test]
fn a_session_may_park_only_so_many_polls() {
    let app = Host::from_config_json(
        r#"{"components": ["Position"], "max_parked_polls_per_session": 3}"#,
    )
    .unwrap();
    spawn(&app, json!({"Position": {"JSON": "1"}}));
    let session = app.session();
    let params = json!({"data": {"components": ["Position"]}});
    for id in 1..=3 {
        park(&app, &session, id, &params);
    }
    park(&app, &session, 4, &params);
    let refused = received(&session);
    assert_eq!(refused["id"], 4);
    assert_eq!(
        refused["error"]["code"],
        ErrorCode::InvalidRequest.code(),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_parked_polls_per_session")
    );
    assert!(session.cancel(1));
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    park(&app, &session, 5, &params);
    assert_eq!(
        session
            .receive(Some(Duration::ZERO))
            .ok()
            .map(|r| r.to_json()),
        None,
        "POLL 5 parked"
    );
}

#[test]
fn a_changed_poll_answers_when_a_watched_entity_is_destroyed() {
    let app = app();
    let session = app.session();
    let player = spawn(&app, json!({"Position": {"JSON": "1"}}));
    spawn(&app, json!({"Position": {"JSON": "2"}}));
    let params = json!({"data": {"components": ["Position"]}, "filter": {"changed": ["Position"]}});
    park(&app, &session, 1, &params);
    let answer = call(
        &app,
        json!({"id": 2, "request": "DESTROY", "params": {"entity": player}}),
    );
    assert_eq!(answer["response"]["status"], "OK");
    let answer = received(&session);
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["response"]["entities"], json!([]), "{answer}");
    assert!(answer["response"]["watermark"].is_string());
}

#[test]
fn an_interrupted_blocking_poll_is_cancelled_and_leaves_nothing_parked() {
    let app = app();
    let entity = spawn(&app, json!({"Position": {"JSON": "1"}}));
    let params = json!({"data": {"components": ["Position"]}});
    let watermark = first_watermark(&app, &params);
    let text = poll(7, with_watermark(&params, &watermark));
    let mut asked = 0;
    let answer = app.respond_interruptible(&text, || {
        asked += 1;
        asked == 3
    });
    assert_eq!(asked, 3, "asked every slice until it said yes");
    assert_eq!(
        answer.to_json()["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    let session = app.session();
    let mut asked = 0;
    let answer = session.respond_interruptible(&text, || {
        asked += 1;
        asked == 2
    });
    assert_eq!(
        answer.to_json()["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    // Nothing stayed parked: the id is free and a write wakes no one.
    insert(&app, &entity, "Position", json!(2));
    let again = session.request(&poll(7, json!({"data": {"components": ["Position"]}})));
    assert!(again.contains("watermark"), "{again}");
}

#[test]
fn try_submit_returns_the_answers_of_refused_requests() {
    let app = app();
    let session = app.session();
    let unreadable = session.try_submit(r#"{"id": 1, "request": "PING", "params": {"x": NaN}}"#);
    let refused = unreadable
        .expect_err("unreadable text is refused")
        .to_json();
    assert_eq!(refused["id"], Value::Null);
    assert_eq!(refused["error"]["code"], ErrorCode::ParseError.code());
    let params = json!({"data": {"components": ["Position"]}});
    spawn(&app, json!({"Position": {"JSON": "1"}}));
    let watermark = first_watermark(&app, &params);
    let parked = poll(2, with_watermark(&params, &watermark));
    assert!(session.try_submit(&parked).is_ok());
    let duplicate = session
        .try_submit(&parked)
        .expect_err("id 2 is in flight")
        .to_json();
    assert_eq!(duplicate["error"]["code"], ErrorCode::DuplicateId.code());
    assert!(
        session
            .try_submit(r#"{"id": 3, "request": "PING"}"#)
            .is_ok()
    );
    assert_eq!(received(&session)["id"], 3);
    assert_eq!(
        session
            .receive(Some(Duration::ZERO))
            .ok()
            .map(|r| r.to_json()),
        None
    );
}
