//! The request parser and dispatch: arbitrary text as requests, one per line,
//! through [`Host::respond`] (the `request` target) and through
//! [`Session::submit`] / [`Session::receive`] (the `session` target), on two
//! apps with the same small scene: a strict one with the default limits, and
//! one with `auto_declare` and small limits.
//!
//! Invariants checked for every line: no panic (the engine turns a
//! handler's panic into an internal error, which counts as one); the
//! response is a JSON object with the request's id (or `null`, see
//! [`wire::expected_id`]) and either a `response` object or an `error` with
//! a code of the table; `to_text` and `to_json` agree; the world (entities,
//! their components with change ticks, the registered components and the
//! change tick) changes only on a successful SPAWN, DESTROY, INSERT, REMOVE,
//! REPARENT, MUTATE, INSERT_RESOURCE or REMOVE_RESOURCE. Through a session, every submission gets exactly one
//! response.

use super::wire;
use brp::{Config, ErrorCode, Host, Response, Session};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

/// At most this many lines of an input are sent.
const MAX_LINES: usize = 16;

/// How long to wait for a response a POLL timeout or a cancellation
/// delivers from another thread, before calling it lost.
const DELIVERY_WAIT: Duration = Duration::from_secs(2);

/// The dynamic components both apps declare (those of the conformance
/// vectors).
const COMPONENTS: [&str; 3] = ["Position", "Player", "game::Score"];

/// The scene: 1v0 the player (a child 3v0), 2v0 a camera, 4v0 a light.
const SCENE: [&str; 4] = [
    r#"{"id": 0, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"Player\""}, "Position": {"JSON": "{\"x\": 1, \"y\": 2}"}, "Player": {"JSON": "true"}}}}"#,
    r#"{"id": 0, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"Camera\""}, "Transform": {"JSON": "{\"translation\": [0, 5, 10]}"}}}}"#,
    r#"{"id": 0, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"Hand\""}, "Parent": {"JSON": "\"1v0\""}, "game::Score": {"JSON": "[1, 2, 3]"}}}}"#,
    r#"{"id": 0, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"Light\""}}}}"#,
];

/// An app under test and the request-size limit it was made with.
pub struct Subject {
    /// The app.
    pub app: Host,
    /// Its `Config::max_request_bytes`.
    pub max_bytes: usize,
}

/// The two apps every input runs on, each made afresh: [`strict`] and
/// [`lenient`].
pub fn subjects() -> [Subject; 2] {
    [strict(), lenient()]
}

/// The scene on an app with the default limits, strict about names.
pub fn strict() -> Subject {
    scene(Config {
        components: COMPONENTS.map(str::to_owned).to_vec(),
        ..Config::default()
    })
}

/// The scene on an app that declares unknown names itself, with small
/// limits (2048-byte requests, 8 components per request).
pub fn lenient() -> Subject {
    scene(Config {
        components: COMPONENTS.map(str::to_owned).to_vec(),
        auto_declare: true,
        max_request_bytes: 2048,
        max_components_per_request: 8,
        ..Config::default()
    })
}

fn scene(config: Config) -> Subject {
    let max_bytes = config.max_request_bytes;
    let app = Host::with_config(config).expect("the fuzz configs are valid");
    for request in SCENE {
        let answer = app.request(request);
        assert!(answer.contains("\"entity\""), "scene: {answer}");
    }
    Subject { app, max_bytes }
}

/// What requests may change, cheap to compare: the change tick, the number
/// of registered components, and every entity (hidden ones included) with
/// each component's index and added/changed ticks.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    tick: u32,
    components: usize,
    entities: Vec<(u64, Vec<ComponentState>)>,
}

/// A component of an entity: its index and its added and changed ticks.
type ComponentState = (usize, u32, u32);

impl Snapshot {
    /// The snapshot of `app`'s world now.
    pub fn of(app: &Host) -> Self {
        app.read(|world| {
            let mut entities = Vec::new();
            for archetype in world.archetypes().iter() {
                for entity in archetype.entities() {
                    let entity = world.entity(entity.id());
                    let components = archetype
                        .components()
                        .iter()
                        .map(|&id| {
                            let ticks = entity.get_change_ticks_by_id(id);
                            let (added, changed) =
                                ticks.map_or((0, 0), |t| (t.added.get(), t.changed.get()));
                            (id.index(), added, changed)
                        })
                        .collect();
                    entities.push((entity.id().to_bits(), components));
                }
            }
            entities.sort_unstable();
            Self {
                tick: world.read_change_tick().get(),
                components: world.components().len(),
                entities,
            }
        })
    }

    /// The same snapshot without the change tick.
    pub fn without_tick(self) -> Self {
        Self { tick: 0, ..self }
    }
}

/// The lines of a fuzz input, each one request text (invalid UTF-8
/// replaced), at most [`MAX_LINES`] of them.
fn lines(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split('\n')
        .take(MAX_LINES)
        .map(str::to_owned)
        .collect()
}

/// Whether `text` names a request that may change the world when it
/// succeeds: SPAWN, DESTROY, INSERT, REMOVE, REPARENT, MUTATE,
/// INSERT_RESOURCE or REMOVE_RESOURCE.
fn mutates(text: &str) -> bool {
    let fields = serde_json::from_str::<HashMap<String, &RawValue>>(text);
    let name = |key| {
        let fields = fields.as_ref().ok()?;
        serde_json::from_str::<String>(fields.get(key)?.get()).ok()
    };
    let request = name("request");
    let method = name("method");
    matches!(
        request.as_deref(),
        Some(
            "SPAWN"
                | "DESTROY"
                | "INSERT"
                | "REMOVE"
                | "REPARENT"
                | "MUTATE"
                | "INSERT_RESOURCE"
                | "REMOVE_RESOURCE"
        )
    ) || matches!(
        method.as_deref(),
        Some(
            "world.spawn_entity"
                | "world.insert_components"
                | "world.remove_components"
                | "world.despawn_entity"
                | "world.reparent_entities"
                | "world.mutate_components"
                | "world.insert_resources"
                | "world.remove_resources"
                | "world.mutate_resources"
        )
    )
}

/// Checks one response (of a request whose id should be `expected`) and
/// returns whether it is an error.
fn check(response: &Response, expected: Option<u64>, request: &str) -> bool {
    let text = response.to_text();
    let object = wire::check_response(&text, expected)
        .unwrap_or_else(|why| panic!("request {request:?}: {why}"));
    let reparsed = serde_json::Value::Object(object.clone());
    assert_eq!(reparsed, response.to_json(), "to_text and to_json differ");
    match wire::error_code(&object) {
        Some(code) => {
            let known = i32::try_from(code).ok().and_then(ErrorCode::from_code);
            assert!(known.is_some(), "unknown error code in {text}");
            true
        }
        None => false,
    }
}

/// Every response `session` has queued now.
fn drain(session: &Session) -> Vec<Response> {
    std::iter::from_fn(|| session.receive(Some(Duration::ZERO)).ok()).collect()
}

/// Closes `session` and collects its responses until `got` holds `count`.
/// Responses that other threads deliver (a POLL's timeout) may still be on
/// their way, so this waits a little for them.
fn close_and_collect(session: &Session, got: &mut Vec<Response>, count: usize) {
    session.close();
    let deadline = Instant::now() + DELIVERY_WAIT;
    loop {
        got.extend(drain(session));
        if got.len() >= count || Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Answers `line` outside a session: [`Host::respond`], or, for a POLL that
/// may park, a session of its own that is closed once the POLL has parked,
/// so the POLL answers (cancelled) instead of blocking.
fn respond(app: &Host, line: &str) -> Response {
    if !wire::may_park(line) {
        return app.respond(line);
    }
    let session = app.session();
    session.submit(line);
    let mut got = drain(&session);
    close_and_collect(&session, &mut got, 1);
    assert_eq!(got.len(), 1, "a POLL got {} responses: {line:?}", got.len());
    got.remove(0)
}

/// Sends one line to `subject` outside a session and checks the response
/// and the world.
fn app_line(subject: &Subject, line: &str) {
    let expected = wire::expected_id(line, subject.max_bytes);
    let before = Snapshot::of(&subject.app);
    let response = respond(&subject.app, line);
    let failed = check(&response, expected, line);
    if Snapshot::of(&subject.app) != before {
        assert!(
            !failed && mutates(line),
            "the world changed on {line:?}, answered {}",
            response.to_text()
        );
    }
}

/// The `request` target: every line through [`Host::respond`] on both apps.
pub fn app_requests(data: &[u8]) {
    let lines = lines(data);
    for subject in subjects() {
        for line in &lines {
            app_line(&subject, line);
        }
    }
}

/// The `session` target: every line submitted to one session per app;
/// responses received as they come, the session closed at the end.
pub fn session_requests(data: &[u8]) {
    let lines = lines(data);
    for subject in subjects() {
        let session = subject.app.session();
        let mut expected = Vec::with_capacity(lines.len());
        let mut got = Vec::new();
        for line in &lines {
            let id = wire::expected_id(line, subject.max_bytes);
            expected.push(id);
            let before = Snapshot::of(&subject.app);
            session.submit(line);
            let new = drain(&session);
            if Snapshot::of(&subject.app) != before {
                // The request succeeded: its own response (answered at once)
                // is among these, and no other in flight has its id.
                let answered = new.iter().any(|r| r.id == id && r.result.is_ok());
                assert!(
                    id.is_some() && answered && mutates(line),
                    "the world changed on {line:?}"
                );
            }
            got.extend(new);
        }
        close_and_collect(&session, &mut got, lines.len());
        for response in &got {
            check(response, response.id, "(submitted)");
        }
        // A watch answers once or more under its id; every other submission
        // exactly once.
        let watched: Vec<Option<u64>> = (lines.iter())
            .filter(|line| wire::is_watch(line))
            .map(|line| wire::expected_id(line, subject.max_bytes))
            .collect();
        let (streamed, mut ids): (Vec<_>, Vec<_>) = got
            .iter()
            .map(|r| r.id)
            .partition(|id| watched.contains(id));
        let (expected_streams, mut expected): (Vec<_>, Vec<_>) =
            expected.into_iter().partition(|id| watched.contains(id));
        ids.sort_unstable();
        expected.sort_unstable();
        assert_eq!(ids, expected, "every submission gets exactly one response");
        for id in expected_streams {
            assert!(streamed.contains(&id), "the watch {id:?} never answered");
        }
    }
}
