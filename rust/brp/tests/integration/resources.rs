//! Resources of a game's own plugin through GET_RESOURCE, INSERT_RESOURCE,
//! REMOVE_RESOURCE, LIST_RESOURCES, MUTATE and POLL, as its systems see them
//! (the built-in clocks are in tests/conformance/resources.json). Waits are
//! bounded only to detect hangs; nothing here asserts how long anything takes.

use bevy_app::Update;
use bevy_ecs::prelude::*;
use bevy_ecs::reflect::ReflectResource;
use bevy_reflect::Reflect;
use bevy_reflect::std_traits::ReflectDefault;
use brp::{ErrorCode, Host};
use serde_json::{Value, json};
use std::time::Duration;

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
    assert!(spawned["response"]["entity"].is_string(), "{spawned}");
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

/// Long enough never to expire on a working machine; only stops a hang.
const HANG: Duration = Duration::from_secs(30);

fn poll(id: u64, params: Value) -> String {
    json!({"id": id, "request": "POLL", "params": params}).to_string()
}

/// A sessionless POLL, which must answer at once (bounded: a POLL that
/// parks instead fails with a timeout).
fn poll_now(host: &Host, mut params: Value) -> Value {
    params["timeout_ms"] = json!(HANG.as_millis() as u64);
    serde_json::from_str(&host.request(&poll(1, params))).unwrap()
}

/// The next answer of `session`.
fn received(session: &brp::Session) -> Value {
    session
        .receive(Some(HANG))
        .expect("a response before the hang guard")
        .to_json()
}

/// True when `session` has no answer waiting: its POLL is still parked.
/// Wakes are evaluated before the write that causes them returns.
fn parked(session: &brp::Session) -> bool {
    session.receive(Some(Duration::ZERO)).is_err()
}

fn watermark(answer: &Value) -> String {
    answer["response"]["watermark"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

/// The `Score.points` a resource POLL answered.
fn points(answer: &Value) -> u64 {
    let text = answer["response"]["value"]["JSON"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    serde_json::from_str::<Value>(text).unwrap()["points"]
        .as_u64()
        .unwrap()
}

/// POLLs `Score` with `watermark` through `session` as request `id`.
fn park_score(session: &brp::Session, id: u64, watermark: &str) {
    session.submit(&poll(
        id,
        json!({"resource": "Score", "watermark": watermark}),
    ));
    assert!(parked(session), "nothing changed since {watermark}");
}

fn set_points(host: &Host, points: u32) {
    let answer = call(
        host,
        json!({"id": 0, "request": "MUTATE", "params": {"resource": "Score",
               "path": "points", "value": {"JSON": points.to_string()}}}),
    );
    assert_eq!(answer["response"]["status"], "OK", "{answer}");
}

#[test]
fn a_watermark_of_a_new_app_parks_until_something_changes() {
    // The plugins' own writes while the app was built are older than it.
    let host = host();
    let answer = poll_now(&host, json!({"resource": "Score"}));
    let session = host.session();
    park_score(&session, 1, &watermark(&answer));
    set_points(&host, 1);
    assert!(session.receive(Some(HANG)).is_ok());
}

#[test]
fn a_resource_poll_answers_its_value_at_once_and_null_while_absent() {
    let host = host();
    for name in ["Score", "integration::resources::Score"] {
        let answer = poll_now(&host, json!({"resource": name}));
        let response = answer["response"].as_object().unwrap();
        assert_eq!(response.len(), 2, "{answer}");
        assert_eq!(
            serde_json::from_str::<Value>(response["value"]["JSON"].as_str().unwrap()).unwrap(),
            json!({"points": 0, "streak": []})
        );
        watermark(&answer);
    }
    let absent = poll_now(&host, json!({"resource": "Bonus", "watermark": null}));
    assert_eq!(absent["response"]["value"], Value::Null, "{absent}");
    watermark(&absent);
}

#[test]
fn every_kind_of_resource_write_wakes_a_parked_resource_poll_and_nothing_else_does() {
    let host = host();
    let session = host.session();
    let first = poll_now(&host, json!({"resource": "Score"}));
    park_score(&session, 1, &watermark(&first));

    // Neither other writes, nor reads, nor frames and direct changes that
    // leave the resource alone answer it.
    let spawned = call(
        &host,
        json!({"id": 0, "request": "SPAWN", "params": {"components": {"Name": {"JSON": "\"x\""}}}}),
    );
    assert!(spawned["response"]["entity"].is_string(), "{spawned}");
    score(&host);
    host.update().unwrap();
    host.with_world_mut(|world| world.resource_mut::<Seen>().0 = Some(99));
    let bonus = call(
        &host,
        json!({"id": 0, "request": "INSERT_RESOURCE", "params": {"resource": "Bonus", "value": {"JSON": "1"}}}),
    );
    assert_eq!(bonus["response"]["status"], "OK", "{bonus}");
    assert!(parked(&session), "the score did not change");
    // A SPAWN given the resource's type is refused and changes nothing.
    let spawned = call(
        &host,
        json!({"id": 0, "request": "SPAWN", "params": {"components": {
            "integration::resources::Score": {"JSON": "{\"points\": 8, \"streak\": []}"}}}}),
    );
    assert_eq!(spawned["error"]["code"], -23402, "{spawned}");
    assert!(parked(&session), "{}", score(&host));
    assert_eq!(score(&host), json!({"points": 0, "streak": []}));

    let inserted = call(
        &host,
        json!({"id": 0, "request": "INSERT_RESOURCE", "params": {"resource": "Score",
               "value": {"JSON": "{\"points\": 3, \"streak\": []}"}}}),
    );
    assert_eq!(inserted["response"]["status"], "OK", "{inserted}");
    let answer = received(&session);
    assert_eq!((answer["id"].as_u64(), points(&answer)), (Some(1), 3));
    assert_ne!(watermark(&answer), watermark(&first));

    park_score(&session, 2, &watermark(&answer));
    set_points(&host, 4);
    let answer = received(&session);
    assert_eq!((answer["id"].as_u64(), points(&answer)), (Some(2), 4));

    park_score(&session, 3, &watermark(&answer));
    host.with_world_mut(|world| world.resource_mut::<Score>().points = 5);
    let answer = received(&session);
    assert_eq!((answer["id"].as_u64(), points(&answer)), (Some(3), 5));

    park_score(&session, 4, &watermark(&answer));
    host.add_systems(Update, |score: Option<ResMut<Score>>| {
        if let Some(mut score) = score {
            score.points += 1;
        }
    });
    host.update().unwrap();
    let answer = received(&session);
    assert_eq!((answer["id"].as_u64(), points(&answer)), (Some(4), 6));
}

#[test]
fn a_resource_poll_learns_of_a_removal_and_of_an_insertion() {
    let host = host();
    let session = host.session();
    let present = poll_now(&host, json!({"resource": "Score"}));
    park_score(&session, 1, &watermark(&present));
    let removed = call(
        &host,
        json!({"id": 0, "request": "REMOVE_RESOURCE", "params": {"resource": "Score"}}),
    );
    assert_eq!(removed["response"]["status"], "OK", "{removed}");
    let gone = received(&session);
    assert_eq!(gone["response"]["value"], Value::Null, "{gone}");

    // While it stays absent, nothing answers; a failed write changes nothing.
    park_score(&session, 2, &watermark(&gone));
    let failed = call(
        &host,
        json!({"id": 0, "request": "MUTATE", "params": {"resource": "Score",
               "path": "points", "value": {"JSON": "1"}}}),
    );
    assert_eq!(
        failed["error"]["code"],
        ErrorCode::ComponentNotPresent.code()
    );
    // (No frame: the game's system needs the score.)
    host.with_world_mut(|world| world.resource_mut::<Seen>().0 = None);
    assert!(parked(&session), "still absent");
    host.with_world_mut(|world| world.insert_resource(Score::default()));
    let back = received(&session);
    assert_eq!((back["id"].as_u64(), points(&back)), (Some(2), 0));

    // Removed by the game and inserted again with the same value, between
    // two POLLs: the POLL with the older watermark still answers.
    host.with_world_mut(|world| world.remove_resource::<Score>());
    let reinserted = call(
        &host,
        json!({"id": 0, "request": "INSERT_RESOURCE", "params": {"resource": "Score",
               "value": {"JSON": "{\"points\": 0, \"streak\": []}"}}}),
    );
    assert_eq!(reinserted["response"]["status"], "OK", "{reinserted}");
    let again = poll_now(
        &host,
        json!({"resource": "Score", "watermark": watermark(&back)}),
    );
    assert_eq!(points(&again), 0, "{again}");
    park_score(&session, 3, &watermark(&again));
}

#[test]
fn a_resource_poll_never_answers_a_stale_value() {
    let host = host();
    let first = poll_now(&host, json!({"resource": "Score"}));
    set_points(&host, 1);
    // A write right after an answer is seen by the next POLL with its watermark.
    let next = poll_now(
        &host,
        json!({"resource": "Score", "watermark": watermark(&first)}),
    );
    assert_eq!(points(&next), 1);
    // A watermark of another POLL stands for another answer, even of a
    // resource the world holds too, written after the score's last write.
    let query = poll_now(&host, json!({"data": {"components": ["Name"]}}));
    let inserted = call(
        &host,
        json!({"id": 0, "request": "INSERT_RESOURCE", "params": {"resource": "Bonus", "value": {"JSON": "1"}}}),
    );
    assert_eq!(inserted["response"]["status"], "OK", "{inserted}");
    let bonus = poll_now(&host, json!({"resource": "Bonus"}));
    assert_eq!(bonus["response"]["value"]["JSON"], "1", "{bonus}");
    for other in [query, bonus] {
        let answer = poll_now(
            &host,
            json!({"resource": "Score", "watermark": watermark(&other)}),
        );
        assert_eq!(points(&answer), 1, "{answer}");
    }
    // And the other way round.
    let query = poll_now(
        &host,
        json!({"data": {"components": ["Name"]}, "watermark": watermark(&next)}),
    );
    assert_eq!(query["response"]["entities"], json!([]), "{query}");

    // A poller sees a strictly increasing subsequence of the written values
    // that ends with the last one.
    const WRITES: u32 = 500;
    let poller = {
        let host = host.clone();
        let mut watermark = watermark(&next);
        std::thread::spawn(move || {
            let session = host.session();
            let mut seen = Vec::new();
            for id in 0.. {
                let request = poll(
                    id,
                    json!({"resource": "Score", "watermark": watermark,
                           "timeout_ms": HANG.as_millis() as u64}),
                );
                let answer: Value = serde_json::from_str(&session.request(&request)).unwrap();
                let value = points(&answer);
                watermark = answer["response"]["watermark"].as_str().unwrap().to_owned();
                seen.push(value);
                if value == u64::from(WRITES) {
                    return seen;
                }
            }
            unreachable!()
        })
    };
    for value in 2..=WRITES {
        set_points(&host, value);
    }
    let seen = poller.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&u64::from(WRITES)));
}

#[test]
fn a_bad_resource_poll_fails_at_once_and_changes_nothing() {
    let host = host();
    let before = poll_now(&host, json!({"resource": "Score"}));
    let bad = [
        json!({"resource": "Score", "data": {"components": ["Name"]}}),
        json!({"resource": "Score", "filter": {"with": ["Name"]}}),
        json!({"resource": "Score", "data": null}),
    ];
    for params in bad {
        let answer = poll_now(&host, params);
        assert_eq!(
            answer["error"]["code"],
            ErrorCode::InvalidParams.code(),
            "{answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("params.resource") && message.contains("not both"),
            "{message}"
        );
    }
    let unknown = poll_now(&host, json!({"resource": "Nope"}));
    let get = call(
        &host,
        json!({"id": 1, "request": "GET_RESOURCE", "params": {"resource": "Nope"}}),
    );
    assert_eq!(unknown["error"]["code"], ErrorCode::ComponentError.code());
    assert_eq!(unknown, get, "the same error as GET_RESOURCE");
    let not_a_name = poll_now(&host, json!({"resource": 5}));
    assert_eq!(
        not_a_name["error"]["message"],
        "params.resource must be a string"
    );
    let malformed = poll_now(&host, json!({"resource": "Score", "watermark": "1-1"}));
    assert_eq!(malformed["error"]["code"], ErrorCode::InvalidParams.code());

    // Through a session, a failed POLL answers at once and parks nothing:
    // its id is free again, and the resource did not change.
    let session = host.session();
    session.submit(&poll(
        9,
        json!({"resource": "Nope", "watermark": watermark(&before)}),
    ));
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::ComponentError.code()
    );
    park_score(&session, 9, &watermark(&before));
    assert!(session.cancel(9));
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    assert_eq!(score(&host), json!({"points": 0, "streak": []}));
}

#[test]
fn a_resource_poll_times_out_and_is_cancelled_and_interrupted_like_a_query_poll() {
    let host = host();
    let mark = watermark(&poll_now(&host, json!({"resource": "Score"})));
    let session = host.session();
    session.submit(&poll(
        1,
        json!({"resource": "Score", "watermark": mark, "timeout_ms": 1}),
    ));
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Timeout.code()
    );

    park_score(&session, 2, &mark);
    session.submit(r#"{"id": 3, "request": "CANCEL", "params": {"id": 2}}"#);
    let mut answers = [received(&session), received(&session)];
    answers.sort_by_key(|a| a["id"].as_u64());
    assert_eq!(answers[0]["error"]["code"], ErrorCode::Cancelled.code());
    assert_eq!(answers[1], json!({"id": 3, "response": {"status": "OK"}}));

    let text = poll(4, json!({"resource": "Score", "watermark": mark}));
    let mut asked = 0;
    let answer = session.respond_interruptible(&text, || {
        asked += 1;
        asked == 2
    });
    assert_eq!(
        answer.to_json()["error"]["code"],
        ErrorCode::Cancelled.code()
    );

    park_score(&session, 5, &mark);
    session.close();
    assert_eq!(
        received(&session)["error"]["code"],
        ErrorCode::Cancelled.code()
    );
    // Nothing stayed parked: a write wakes no one.
    set_points(&host, 1);
    assert!(parked(&host.session()));
}
