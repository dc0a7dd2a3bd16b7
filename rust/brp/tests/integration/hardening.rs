//! Input sized or shaped to exhaust the host process: each is refused or
//! handled without recursion or unbounded allocation (docs/limits.md).

use brp::{Config, ErrorCode, Host};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

fn call(app: &Host, request: Value) -> Value {
    serde_json::from_str(&app.request(&request.to_string())).expect("responses are JSON")
}

fn spawn(app: &Host, components: Value) -> String {
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
    let app = Host::new();
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
    let app = Host::with_config(Config {
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
    let app = Host::with_config(Config {
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
    let app = Host::with_config(Config {
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
    let app = Host::with_config(Config {
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

/// Runs `f` on a thread and fails, instead of hanging, if it has not
/// finished within a generous deadline.
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || done.send(f()));
    finished
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} did not finish: deadlock or hang"))
}

#[test]
fn a_callback_that_submits_the_next_request_is_not_reentered() {
    let app = Host::new();
    let session = Arc::new(app.session());
    let (done, finished) = mpsc::channel();
    let depth = Arc::new(AtomicUsize::new(0));
    let max_depth = Arc::new(AtomicUsize::new(0));
    let next = Arc::downgrade(&session);
    let (d, m) = (depth.clone(), max_depth.clone());
    session.set_callback(Some(Arc::new(move |response: brp::Response| {
        let now = d.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        let id = response.id.unwrap_or(0);
        if id < 10_000 {
            if let Some(session) = next.upgrade() {
                session.submit(&format!(r#"{{"id": {}, "request": "PING"}}"#, id + 1));
            }
        } else {
            let _ = done.send(id);
        }
        d.fetch_sub(1, Ordering::SeqCst);
    })));
    session.submit(r#"{"id": 1, "request": "PING"}"#);
    assert_eq!(finished.try_recv(), Ok(10_000), "the chain ran to its end");
    assert_eq!(max_depth.load(Ordering::SeqCst), 1);
}

#[test]
fn callbacks_that_close_each_others_sessions_do_not_deadlock() {
    finishes("two callbacks closing each other's sessions", || {
        let app = Host::new();
        let a = Arc::new(app.session());
        let b = Arc::new(app.session());
        let barrier = Arc::new(Barrier::new(2));
        for (this, other) in [(&a, &b), (&b, &a)] {
            let (other, barrier) = (Arc::clone(other), barrier.clone());
            this.set_callback(Some(Arc::new(move |_| {
                barrier.wait(); // both callbacks are running now
                other.close();
            })));
        }
        let (a2, b2) = (a.clone(), b.clone());
        let first = std::thread::spawn(move || a2.submit(r#"{"id": 1, "request": "PING"}"#));
        b2.submit(r#"{"id": 1, "request": "PING"}"#);
        first.join().unwrap();
    });
}

#[test]
fn closing_a_session_while_its_poll_parks_always_cancels_the_poll() {
    let app = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    spawn(&app, json!({"Position": {"JSON": "1"}}));
    let first = call(
        &app,
        json!({"id": 1, "request": "POLL", "params": {
        "data": {"components": ["Position"]}, "watermark": null}}),
    );
    let watermark = first["response"]["watermark"].as_str().unwrap().to_owned();
    for round in 0..200 {
        let session = Arc::new(app.session());
        let poller = Arc::clone(&session);
        let request = json!({"id": round, "request": "POLL", "params": {
            "data": {"components": ["Position"]}, "watermark": watermark}})
        .to_string();
        let answer = finishes("a POLL racing close", move || {
            let parked = std::thread::spawn(move || poller.request(&request));
            session.close();
            parked.join().unwrap()
        });
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            answer["error"]["code"],
            ErrorCode::Cancelled.code(),
            "round {round}: {answer}"
        );
    }
}

#[test]
fn error_messages_do_not_echo_unbounded_input() {
    let app = Host::new();
    let long = "7".repeat(100_000);
    for request in [
        json!({"id": 1, "request": "GET", "params": {"entity": format!("{long}v0"), "components": []}}),
        json!({"id": 2, "request": "POLL", "params": {"watermark": long}}),
        json!({"id": 3, "request": "SPAWN", "params": {"components": {"Name": long}}}),
        json!({"id": 4, "request": "SPAWN", "params": {"components": {"Transform": {"JSON": format!("{{\"{long}\": 1}}")}}}}),
        json!({"id": 5, "request": "GET", "params": {"entity": "1v0", "components": [long]}}),
        json!({"id": 6, "request": long}),
        json!({"id": 7, "request": "PING", "params": {long.clone(): 1}}),
        json!({"id": 8, "request": "PING", long.clone(): 1}),
        json!({"id": [long], "request": "PING"}),
        json!({"id": 10, "request": "SPAWN", "params": {"components": {format!("{long}!"): {"JSON": "1"}}}}),
    ] {
        let answer = call(&app, request);
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        assert!(
            message.len() < 400,
            "{} bytes: {}",
            message.len(),
            &message[..200]
        );
    }
}

#[test]
fn numbers_read_back_exactly_as_written() {
    let app = Host::from_config_json(r#"{"components": ["Position"]}"#).unwrap();
    let text = "5.236670784853995e-205"; // once read one ulp off
    let entity = spawn(&app, json!({"Position": {"JSON": text}}));
    let answer = call(
        &app,
        json!({"id": 2, "request": "GET", "params": {"entity": entity, "components": ["Position"]}}),
    );
    assert_eq!(
        answer["response"]["components"]["Position"]["JSON"], text,
        "{answer}"
    );
}
