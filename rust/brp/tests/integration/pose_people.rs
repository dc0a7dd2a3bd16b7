//! Several people in a frame: each on a target of their own, kept from
//! frame to frame by where they are; target mappings, `max_people`, the
//! landmark count, world landmarks and the image size, and smoothing.

use crate::pose_support::{Server, config, request, wait_until};
use brp::pose::{Frame, Landmark, PoseClient, PoseLandmarks, Target, push_frame};
use brp::{ErrorCode, Host};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A 33-landmark person whose torso is centred on (`x`, `y`) (each
/// landmark offset from it by its index), stamped with `sequence`.
fn person(x: f32, y: f32, sequence: u64) -> PoseLandmarks {
    PoseLandmarks {
        timestamp: sequence as f64 / 30.0,
        sequence: Some(sequence),
        landmarks: (0..33)
            .map(|i| {
                let (dx, dy) = match i {
                    11 => (-0.05, -0.1),
                    12 => (0.05, -0.1),
                    23 => (-0.05, 0.1),
                    24 => (0.05, 0.1),
                    _ => (0.001 * i as f32, -0.2),
                };
                Landmark {
                    x: x + dx,
                    y: y + dy,
                    z: 0.0,
                    visibility: 1.0,
                    presence: 1.0,
                }
            })
            .collect(),
        ..PoseLandmarks::default()
    }
}

fn frame(people: Vec<PoseLandmarks>) -> Frame {
    Frame { people }
}

fn target(json: &str) -> Target {
    Target::from_json(json).expect("a valid target")
}

/// Every named entity: its pose (`None` without `PoseLandmarks`) and
/// whether it has `PoseNotDetected`.
fn world(app: &Host) -> BTreeMap<String, (Option<Value>, bool)> {
    let answer = request(
        app,
        json!({"id": 1, "request": "QUERY", "params": {"data": {
            "components": ["Name"], "optional": ["PoseLandmarks"], "has": ["PoseNotDetected"]}}}),
    );
    let parse =
        |value: &Value| -> Option<Value> { serde_json::from_str(value["JSON"].as_str()?).ok() };
    let entities = answer["response"]["entities"].as_array().expect("entities");
    entities
        .iter()
        .map(|entity| {
            let name = parse(&entity["Name"]).expect("a name");
            let name = name.as_str().expect("a string").to_owned();
            let pose = entity.get("PoseLandmarks").and_then(parse);
            (name, (pose, entity["PoseNotDetected"] == json!(true)))
        })
        .collect()
}

/// The `sequence` of the pose of each named entity (`None`: it has
/// `PoseNotDetected`), failing on an entity with both or neither.
fn sequences(app: &Host) -> BTreeMap<String, Option<u64>> {
    world(app)
        .into_iter()
        .map(|(name, (pose, not_detected))| {
            assert_ne!(pose.is_some(), not_detected, "{name}: one of the two");
            (name, pose.and_then(|pose| pose["sequence"].as_u64()))
        })
        .collect()
}

/// The x of the left shoulder of each named entity's pose.
fn shoulder_x(app: &Host) -> BTreeMap<String, f64> {
    world(app)
        .into_iter()
        .filter_map(|(name, (pose, _))| Some((name, pose?["landmarks"][11]["x"].as_f64()?)))
        .collect()
}

fn expect(pairs: &[(&str, Option<u64>)]) -> BTreeMap<String, Option<u64>> {
    pairs.iter().map(|&(n, s)| (n.to_owned(), s)).collect()
}

#[test]
fn several_people_land_on_entities_of_their_own_in_either_form() {
    let people = vec![
        person(0.2, 0.5, 1),
        person(0.5, 0.5, 2),
        person(0.8, 0.5, 3),
    ];
    let encodings = [
        frame(people.clone()).to_flatbuffers(),
        frame(people).to_json().into_bytes(),
    ];
    for bytes in encodings {
        let app = Host::new();
        push_frame(&app, &Target::default(), &bytes).expect("three people");
        assert_eq!(
            sequences(&app),
            expect(&[
                ("Player", Some(1)),
                ("Player 2", Some(2)),
                ("Player 3", Some(3))
            ])
        );
    }
    // One person, as the original controllers send: the first target only.
    let app = Host::new();
    push_frame(
        &app,
        &Target::default(),
        &Frame::pose(person(0.5, 0.5, 9)).to_flatbuffers(),
    )
    .expect("one person");
    assert_eq!(sequences(&app), expect(&[("Player", Some(9))]));
}

#[test]
fn people_keep_their_entities_when_the_frame_lists_them_in_another_order() {
    let app = Host::new();
    let player = Target::default();
    let push = |people| push_frame(&app, &player, &frame(people).to_flatbuffers());
    push(vec![person(0.2, 0.5, 1), person(0.8, 0.5, 1)]).expect("frame 1");
    let first = shoulder_x(&app);
    // Swapped, and both moved a little towards each other.
    push(vec![person(0.75, 0.5, 2), person(0.25, 0.5, 2)]).expect("frame 2");
    let second = shoulder_x(&app);
    for name in ["Player", "Player 2"] {
        assert!(
            (first[name] - second[name]).abs() < 0.06,
            "{name} jumped: {first:?} then {second:?}"
        );
    }
    assert!(second["Player"] < second["Player 2"]);
}

#[test]
fn people_entering_take_free_targets_and_people_leaving_free_theirs() {
    let app = Host::new();
    let player = Target::default();
    let push = |people| push_frame(&app, &player, &frame(people).to_json().into_bytes());
    let (left, right) = (0.2, 0.8);

    push(vec![person(left, 0.5, 1)]).expect("one enters");
    assert_eq!(sequences(&app), expect(&[("Player", Some(1))]));
    // A second person enters, listed first: the first keeps the Player.
    push(vec![person(right, 0.5, 2), person(left, 0.5, 3)]).expect("another enters");
    assert_eq!(
        sequences(&app),
        expect(&[("Player", Some(3)), ("Player 2", Some(2))])
    );
    assert!(shoulder_x(&app)["Player"] < 0.5);
    // The first leaves: the Player is not detected, the other stays.
    push(vec![person(right, 0.5, 4)]).expect("one leaves");
    assert_eq!(
        sequences(&app),
        expect(&[("Player", None), ("Player 2", Some(4))])
    );
    // Someone enters: the free Player.
    push(vec![person(right, 0.5, 5), person(0.5, 0.5, 6)]).expect("one comes back");
    assert_eq!(
        sequences(&app),
        expect(&[("Player", Some(6)), ("Player 2", Some(5))])
    );
    // Nobody in view: everyone not detected, no entity spawned or lost.
    push(Vec::new()).expect("nobody");
    assert_eq!(
        sequences(&app),
        expect(&[("Player", None), ("Player 2", None)])
    );
    // The first person after that takes the first target.
    push(vec![person(right, 0.5, 7)]).expect("one again");
    assert_eq!(
        sequences(&app),
        expect(&[("Player", Some(7)), ("Player 2", None)])
    );
}

#[test]
fn people_land_on_listed_names_or_entities_and_no_further() {
    let app = Host::new();
    let three = frame(vec![
        person(0.2, 0.5, 1),
        person(0.5, 0.5, 2),
        person(0.8, 0.5, 3),
    ])
    .to_flatbuffers();
    push_frame(&app, &target(r#"{"names": ["Left", "Right"]}"#), &three).expect("names");
    assert_eq!(
        sequences(&app),
        expect(&[("Left", Some(1)), ("Right", Some(2))])
    );

    let (a, b) = app.with_world_mut(|world| {
        let a = world.spawn(bevy_ecs::name::Name::new("A")).id();
        let b = world.spawn(bevy_ecs::name::Name::new("B")).id();
        (brp::entity_id::format(a), brp::entity_id::format(b))
    });
    let by_id = target(&format!(r#"{{"entities": ["{b}", "{a}"]}}"#));
    push_frame(&app, &by_id, &three).expect("entities");
    let landed = sequences(&app);
    assert_eq!((landed["B"], landed["A"]), (Some(1), Some(2)));
    assert_eq!(landed.len(), 4, "nothing spawned: {landed:?}");

    // One listed entity missing: refused, and nothing changes.
    let gone = app.with_world_mut(|world| {
        let gone = world.spawn_empty().id();
        world.despawn(gone);
        brp::entity_id::format(gone)
    });
    let before = world(&app);
    let missing = target(&format!(r#"{{"entities": ["{a}", "{gone}"]}}"#));
    let error = push_frame(&app, &missing, &Frame::empty().to_flatbuffers()).expect_err("gone");
    assert_eq!(error.code, ErrorCode::EntityNotFound);
    assert_eq!(error.message, format!("entity {gone} does not exist"));
    assert_eq!(world(&app), before);

    // The old forms: one entity, one name.
    let one = target(&format!(r#"{{"entity": "{a}"}}"#));
    push_frame(&app, &one, &three).expect("one entity");
    assert_eq!(sequences(&app)["A"], Some(1));
    let hero = target(r#"{"name": "Hero"}"#);
    push_frame(&app, &hero, &three).expect("by name");
    let landed = sequences(&app);
    let heroes = ["Hero", "Hero 2", "Hero 3"].map(|name| landed[name]);
    assert_eq!(heroes, [Some(1), Some(2), Some(3)]);
}

#[test]
fn people_beyond_max_people_are_ignored_unread() {
    let app = Host::new();
    let mut odd = person(0.9, 0.5, 3);
    odd.landmarks.truncate(5);
    let three = frame(vec![person(0.1, 0.5, 1), person(0.5, 0.5, 2), odd]);
    let two = target(r#"{"name": "P", "max_people": 2}"#);
    push_frame(&app, &two, &three.to_flatbuffers()).expect("the first two");
    push_frame(&app, &two, three.to_json().as_bytes()).expect("the first two");
    assert_eq!(sequences(&app), expect(&[("P", Some(1)), ("P 2", Some(2))]));
    // With room for the third, its five landmarks refuse the frame.
    let error = push_frame(&app, &target(r#"{"name": "P"}"#), &three.to_flatbuffers());
    let error = error.expect_err("a short pose");
    assert_eq!(error.code, ErrorCode::InvalidParams);
    assert!(
        error.message.ends_with(
            "more_people[1].landmarks: expected 33 landmarks (the target's landmark_count), got 5"
        ),
        "{}",
        error.message
    );
    assert_eq!(sequences(&app), expect(&[("P", Some(1)), ("P 2", Some(2))]));

    let error = Target::from_json(r#"{"max_people": 65}"#).expect_err("too many");
    assert_eq!(error.code, ErrorCode::InvalidParams);
    assert_eq!(
        error.message,
        "invalid pose target: max_people must be between 1 and 64, got 65"
    );
}

#[test]
fn world_landmarks_and_the_image_size_land_and_read_back() {
    let app = Host::new();
    let mut pose = person(0.5, 0.5, 1);
    pose.world_landmarks = (0..33)
        .map(|i| Landmark {
            x: -0.25,
            y: 0.5 - i as f32 / 64.0,
            z: 0.125,
            visibility: 0.5,
            presence: 0.75,
        })
        .collect();
    pose.image_width = Some(1280);
    pose.image_height = Some(720);
    for bytes in [
        Frame::pose(pose.clone()).to_flatbuffers(),
        Frame::pose(pose).to_json().into_bytes(),
    ] {
        push_frame(&app, &Target::default(), &bytes).expect("lands");
        let (pose, _) = world(&app).remove("Player").expect("the Player");
        let pose = pose.expect("a pose");
        assert_eq!(
            (pose["image_width"].clone(), pose["image_height"].clone()),
            (json!(1280), json!(720))
        );
        let world_landmarks = pose["world_landmarks"].as_array().expect("a list");
        assert_eq!(world_landmarks.len(), 33);
        assert_eq!(
            world_landmarks[32],
            json!({"x": -0.25, "y": 0.0, "z": 0.125, "visibility": 0.5, "presence": 0.75})
        );
    }
    // Without them: an empty list and nulls.
    push_frame(
        &app,
        &Target::default(),
        &Frame::pose(person(0.5, 0.5, 2)).to_flatbuffers(),
    )
    .expect("lands");
    let pose = world(&app)
        .remove("Player")
        .and_then(|(pose, _)| pose)
        .expect("a pose");
    assert_eq!(pose["world_landmarks"], json!([]));
    assert_eq!(
        (&pose["image_width"], &pose["image_height"]),
        (&Value::Null, &Value::Null)
    );
}

#[test]
fn the_landmark_count_is_33_unless_the_target_says_otherwise() {
    let app = Host::new();
    let mut short = person(0.5, 0.5, 1);
    short.landmarks.truncate(17);
    let bytes = Frame::pose(short.clone()).to_flatbuffers();
    let error = push_frame(&app, &Target::default(), &bytes).expect_err("17 landmarks");
    assert_eq!(error.code, ErrorCode::InvalidParams);
    assert_eq!(
        error.message,
        "malformed pose frame: landmarks: expected 33 landmarks (the target's landmark_count), got 17"
    );
    push_frame(&app, &target(r#"{"landmark_count": 17}"#), &bytes).expect("17 expected");
    push_frame(&app, &target(r#"{"landmark_count": null}"#), &bytes).expect("any count");
    let error = push_frame(
        &app,
        &target(r#"{"landmark_count": 33}"#),
        Frame::pose(short).to_json().as_bytes(),
    );
    assert!(error.is_err_and(|e| e.message.contains("got 17")));

    // World landmarks, when sent, as many as landmarks.
    let mut uneven = person(0.5, 0.5, 2);
    uneven.world_landmarks = uneven.landmarks[..32].to_vec();
    for bytes in [
        Frame::pose(uneven.clone()).to_flatbuffers(),
        Frame::pose(uneven).to_json().into_bytes(),
    ] {
        let error = push_frame(&app, &Target::default(), &bytes).expect_err("32 world landmarks");
        assert!(
            error
                .message
                .ends_with("world_landmarks: expected as many as landmarks (33), got 32"),
            "{}",
            error.message
        );
    }

    // The client counts such frames as decode errors and stays connected.
    let server = Server::start();
    let client = PoseClient::start(&app, config(server.url())).expect("client starts");
    let peer = server.next_peer();
    let mut short = person(0.5, 0.5, 3);
    short.landmarks.truncate(5);
    peer.send_frame(&Frame::pose(short));
    wait_until("the short pose is refused", || {
        client.stats().decode_errors == 1
    });
    peer.send_frame(&Frame::pose(person(0.5, 0.5, 4)));
    wait_until("a full pose lands", || client.stats().frames_applied == 1);
    let stats = client.stats();
    assert_eq!((stats.connections, stats.decode_errors), (1, 1));
    assert!(
        stats
            .last_error
            .is_some_and(|e| e.contains("expected 33 landmarks"))
    );
}

#[test]
fn a_client_tracks_people_as_push_frame_does() {
    let server = Server::start();
    let app = Host::new();
    let mut config = config(server.url());
    config.target = target(r#"{"names": ["Left", "Right"]}"#);
    let client = PoseClient::start(&app, config).expect("client starts");
    let peer = server.next_peer();
    peer.send_frame(&frame(vec![person(0.2, 0.5, 1), person(0.8, 0.5, 1)]));
    wait_until("one frame", || client.stats().frames_applied == 1);
    // The next frame swaps them, and arrives as pushed in-process.
    let swapped = frame(vec![person(0.8, 0.5, 2), person(0.2, 0.5, 3)]);
    peer.send(tokio_tungstenite::tungstenite::Message::text(
        swapped.to_json(),
    ));
    wait_until("two frames", || client.stats().frames_applied == 2);
    let x = shoulder_x(&app);
    assert!(x["Left"] < 0.5 && x["Right"] > 0.5, "{x:?}");
    assert_eq!(
        sequences(&app),
        expect(&[("Left", Some(3)), ("Right", Some(2))])
    );
    client.stop();
    push_frame(
        &app,
        &target(r#"{"names": ["Left", "Right"]}"#),
        &frame(vec![person(0.2, 0.5, 4)]).to_flatbuffers(),
    )
    .expect("pushed");
    assert_eq!(
        sequences(&app),
        expect(&[("Left", Some(4)), ("Right", None)])
    );
}

/// A deterministic pseudo-random sequence uniform in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0) as f32
    }
}

/// The root mean square of the differences of successive samples.
fn step_rms(samples: &[f64]) -> f64 {
    let sum: f64 = samples.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    (sum / (samples.len() - 1) as f64).sqrt()
}

/// Pushes 5 s of a still person at 30 fps with ±0.005 of jitter (frames
/// stamped with their capture time) to `target`; the landed left shoulder
/// x of each frame, and of each world landmark 0 x.
fn jittery(target: &Target) -> (Vec<f64>, Vec<f64>) {
    let app = Host::new();
    let mut noise = Noise(7);
    let (mut landed, mut world_x) = (Vec::new(), Vec::new());
    for i in 0..150u64 {
        let mut pose = person(0.5, 0.5, i);
        for l in pose.landmarks.iter_mut() {
            l.x += 0.005 * noise.next();
        }
        pose.world_landmarks = pose.landmarks.clone();
        pose.capture_time_ns = Some(1_700_000_000_000_000_000 + i * 33_333_333);
        push_frame(&app, target, &Frame::pose(pose).to_flatbuffers()).expect("lands");
        let (pose, _) = world(&app).remove("Player").expect("Player");
        let pose = pose.expect("a pose");
        landed.push(pose["landmarks"][11]["x"].as_f64().expect("x"));
        world_x.push(pose["world_landmarks"][11]["x"].as_f64().expect("x"));
    }
    (landed, world_x)
}

#[test]
fn smoothing_reduces_jitter_and_starts_over_when_the_person_returns() {
    let (raw, raw_world) = jittery(&Target::default());
    let smooth = target(r#"{"smoothing": {}}"#);
    let (smoothed, smoothed_world) = jittery(&smooth);
    let (raw, smoothed) = (step_rms(&raw[30..]), step_rms(&smoothed[30..]));
    assert!(smoothed * 3.0 <= raw, "raw {raw}, smoothed {smoothed}");
    let (raw, smoothed) = (step_rms(&raw_world[30..]), step_rms(&smoothed_world[30..]));
    assert!(
        smoothed * 3.0 <= raw,
        "world: raw {raw}, smoothed {smoothed}"
    );

    // After the person leaves, the next pose is the filter's first: as sent.
    let app = Host::new();
    let stamped = |x, i: u64| {
        let mut pose = person(x, 0.5, i);
        pose.capture_time_ns = Some(i * 33_333_333);
        Frame::pose(pose).to_flatbuffers()
    };
    for i in 1..10 {
        push_frame(&app, &smooth, &stamped(0.3, i)).expect("still");
    }
    push_frame(&app, &smooth, &stamped(0.7, 10)).expect("a jump");
    let followed = shoulder_x(&app)["Player"];
    assert!(followed < 0.6, "smoothed towards 0.25: {followed}");
    push_frame(&app, &smooth, &Frame::empty().to_flatbuffers()).expect("gone");
    push_frame(&app, &smooth, &stamped(0.7, 12)).expect("back");
    let back = shoulder_x(&app)["Player"];
    assert!((back - 0.65).abs() < 1e-6, "as sent: {back}");

    // The filter state is no component requests know.
    let answer = request(
        &app,
        json!({"id": 1, "request": "QUERY", "params": {"data": {"components": ["LandmarkFilter"]}}}),
    );
    assert!(answer["error"].is_object(), "{answer}");
    let error = Target::from_json(r#"{"smoothing": {"min_cutoff": 0}}"#).expect_err("no filter");
    assert_eq!(error.code, ErrorCode::InvalidParams);
    assert!(
        error.message.contains("smoothing.min_cutoff must be"),
        "{}",
        error.message
    );
}
