//! The in-process path (`push_frame`) and the schema's compatibility with
//! the original `DetectionMessage` both ways, through the golden frames of
//! `tests/pose/` (`scripts/check-generated` checks the other half: that the
//! original schema reads the frames written with the current one).

use std::path::Path;

use brp::Host;
use brp::pose::{Frame, Landmark, PoseLandmarks, Target, push_frame};
use serde_json::{Value, json};

fn pose() -> PoseLandmarks {
    PoseLandmarks {
        timestamp: 2.5,
        sequence: Some(41),
        capture_time_ns: Some(1_700_000_000_123_456_789),
        landmarks: vec![
            Landmark {
                x: 0.25,
                y: 0.5,
                z: -0.125,
                visibility: 0.75,
                presence: 1.0,
            },
            Landmark {
                x: 0.5,
                y: 0.75,
                z: 0.0,
                visibility: 0.5,
                presence: 0.25,
            },
        ],
        ..PoseLandmarks::default()
    }
}

/// The default target, for poses of any landmark count (the golden frames
/// have two landmarks).
fn any_count() -> Target {
    Target {
        landmark_count: None,
        ..Target::default()
    }
}

fn get(app: &Host, entity: &str, component: &str) -> Value {
    let request = json!({"id": 1, "request": "GET",
        "params": {"entity": entity, "components": [component]}});
    serde_json::from_str(&app.request(&request.to_string())).expect("JSON response")
}

fn component(answer: &Value, name: &str) -> Option<Value> {
    let text = answer["response"]["components"][name]["JSON"].as_str()?;
    serde_json::from_str(text).ok()
}

#[test]
fn pushed_frames_land_like_received_ones() {
    let app = Host::new();
    let player = any_count();
    push_frame(&app, &player, &Frame::pose(pose()).to_flatbuffers()).expect("FlatBuffers");
    let query = names(&app);
    let entities = query["response"]["entities"].as_array().expect("entities");
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["Name"], json!({"JSON": "\"Player\""}));
    let id = entities[0]["id"].as_str().expect("an id").to_owned();
    let landed = component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").expect("landed");
    assert_eq!(
        landed,
        json!({"timestamp": 2.5, "sequence": 41, "capture_time_ns": 1_700_000_000_123_456_789u64,
               "landmarks": [
                   {"x": 0.25, "y": 0.5, "z": -0.125, "visibility": 0.75, "presence": 1.0},
                   {"x": 0.5, "y": 0.75, "z": 0.0, "visibility": 0.5, "presence": 0.25}],
               "world_landmarks": [], "image_width": null, "image_height": null})
    );

    push_frame(&app, &player, br#"{"Empty": {}}"#).expect("JSON Empty");
    assert!(component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").is_none());
    assert_eq!(
        component(&get(&app, &id, "PoseNotDetected"), "PoseNotDetected"),
        Some(json!({}))
    );

    let text = br#"{"timestamp": 3, "landmarks": [{"x": 1, "y": 2, "z": 3,
        "availability": {"visibility": 0.5, "presence": 0.5}}]}"#;
    push_frame(&app, &player, text).expect("JSON pose");
    let landed = component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").expect("landed");
    assert_eq!(landed["sequence"], Value::Null);
    assert_eq!(
        landed["landmarks"][0],
        json!({"x": 1.0, "y": 2.0, "z": 3.0, "visibility": 0.5, "presence": 0.5})
    );
    assert!(component(&get(&app, &id, "PoseNotDetected"), "PoseNotDetected").is_none());
}

fn names(app: &Host) -> Value {
    let query = r#"{"id": 1, "request": "QUERY", "params": {"data": {"components": ["Name"]}}}"#;
    serde_json::from_str(&app.request(query)).expect("JSON response")
}

#[test]
fn bad_frames_and_missing_targets_are_errors_that_change_nothing() {
    let app = Host::new();
    for bad in [
        &b""[..],
        b"\x0c\0\0\0garbage",
        b"{\"timestamp\": 1}",
        b"[1, 2]",
    ] {
        let error = push_frame(&app, &any_count(), bad).expect_err("malformed");
        assert_eq!(error.code, brp::ErrorCode::InvalidParams);
    }
    let gone = app.with_world_mut(|world| {
        let entity = world.spawn_empty().id();
        world.despawn(entity);
        entity
    });
    let error = push_frame(&app, &Target::entity(gone), br#"{"Empty": {}}"#).expect_err("gone");
    assert_eq!(error.code, brp::ErrorCode::EntityNotFound);
    assert_eq!(names(&app)["response"]["entities"], json!([]));
}

/// A golden frame of `tests/pose/`, written once by flatc from the JSON
/// file of the same name (`v1_*` with the original schema,
/// `tests/pose/detection_v1.fbs`; the others with `schema/detection.fbs`).
fn golden(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/pose")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn frames_of_the_original_schema_decode() {
    let unavailable = Landmark {
        x: 0.5,
        y: 0.75,
        z: 0.0,
        visibility: 0.0,
        presence: 0.0,
    };
    let expected = PoseLandmarks {
        sequence: None,
        capture_time_ns: None,
        landmarks: vec![pose().landmarks[0], unavailable],
        ..pose()
    };
    let frame = Frame::decode_for(&golden("v1_pose.bin"), &any_count());
    assert_eq!(frame, Ok(Frame::pose(expected)));
    assert_eq!(Frame::decode(&golden("v1_empty.bin")), Ok(Frame::empty()));

    let app = Host::new();
    push_frame(&app, &any_count(), &golden("v1_pose.bin")).expect("an original frame");
    let id = names(&app)["response"]["entities"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let landed = component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").expect("landed");
    assert_eq!(
        (&landed["sequence"], &landed["capture_time_ns"]),
        (&Value::Null, &Value::Null)
    );
    push_frame(&app, &any_count(), &golden("v1_empty.bin")).expect("an original Empty");
    assert!(component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").is_none());
}

/// The encoder writes, byte for byte, the golden frames that the original
/// schema reads (`scripts/check-generated` decodes `pose.bin` and
/// `people.bin` with `tests/pose/detection_v1.fbs`; `flatc --conform` there
/// guarantees it for any frame of the current schema). The bytes are equal
/// because the `flatbuffers` crate and flatc of the same version lay out a
/// message the same way; a version that does not fails here first.
#[test]
fn the_original_schema_reads_frames_with_the_appended_fields() {
    let pose_frame = golden("pose.bin");
    assert_eq!(Frame::pose(pose()).to_flatbuffers(), pose_frame);
    assert_eq!(
        Frame::decode_for(&pose_frame, &any_count()),
        Ok(Frame::pose(pose()))
    );
    assert_eq!(Frame::empty().to_flatbuffers(), golden("v1_empty.bin"));

    let people = Frame {
        people: golden_people(),
    };
    assert_eq!(people.to_flatbuffers(), golden("people.bin"));
    assert_eq!(
        Frame::decode_for(&golden("people.bin"), &any_count()),
        Ok(people)
    );
}

/// The people of `tests/pose/people.json`: the first with world landmarks
/// and the image size, then two more (one as sparse as the original
/// schema's poses).
fn golden_people() -> Vec<PoseLandmarks> {
    let landmark = |x, y, z, visibility, presence| Landmark {
        x,
        y,
        z,
        visibility,
        presence,
    };
    let first = PoseLandmarks {
        world_landmarks: vec![
            landmark(-0.125, -0.5, 0.0625, 0.75, 1.0),
            landmark(0.125, 0.25, 0.0, 0.5, 0.25),
        ],
        image_width: Some(1280),
        image_height: Some(720),
        ..pose()
    };
    let second = PoseLandmarks {
        landmarks: vec![
            landmark(0.75, 0.5, 0.25, 1.0, 1.0),
            landmark(0.875, 0.75, 0.0, 0.25, 0.5),
        ],
        world_landmarks: Vec::new(),
        ..first.clone()
    };
    let third = PoseLandmarks {
        timestamp: 2.5,
        landmarks: vec![
            landmark(0.0625, 0.25, 0.5, 0.125, 0.0),
            landmark(0.125, 0.5, 0.0, 0.0, 0.0),
        ],
        ..PoseLandmarks::default()
    };
    vec![first, second, third]
}

/// The upstream controller (`tobiaslocker/pose`,
/// `python/pose/protocol/fbs/detection.py`) says nobody is in view by
/// starting a `DetectionMessage`, adding the payload type `Empty` and
/// ending it, with no payload table; flatc's verifier calls that an
/// inconsistent union. It and a message with no payload at all are nobody
/// in view, as `Empty` with its table is.
#[test]
fn every_form_of_nobody_in_view_is_nobody_in_view() {
    use flatbuffers::FlatBufferBuilder;
    // What the upstream encoder does, call for call.
    let mut fbb = FlatBufferBuilder::new();
    let start = fbb.start_table();
    fbb.push_slot::<u8>(4, 2, 0); // DetectionMessage.AddPayloadType(Empty)
    let end = fbb.end_table(start);
    fbb.finish(end, None);
    let upstream = fbb.finished_data().to_vec();
    assert_eq!(upstream, golden("upstream_empty.bin"));
    // A message with no fields: no payload type, no payload.
    let mut fbb = FlatBufferBuilder::new();
    let start = fbb.start_table();
    let end = fbb.end_table(start);
    fbb.finish(end, None);
    let bare = fbb.finished_data().to_vec();
    assert_eq!(bare, golden("no_payload.bin"));

    let forms: [&[u8]; 7] = [
        &upstream,
        &bare,
        &golden("v1_empty.bin"),
        br#"{"Empty": {}}"#,
        br#"{"Empty": null}"#,
        br#" {"Empty": {"reason": "nobody"}, "more_people": []}"#,
        br#"{"Empty": {}, "more_people": null}"#,
    ];
    let app = Host::new();
    for (i, form) in forms.iter().enumerate() {
        assert_eq!(Frame::decode(form), Ok(Frame::empty()), "form {i}");
        // Each after a pose: the pose goes, the marker comes.
        push_frame(&app, &any_count(), &Frame::pose(pose()).to_flatbuffers()).expect("a pose");
        push_frame(&app, &any_count(), form).expect("nobody");
        let id = names(&app)["response"]["entities"][0]["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        assert!(component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").is_none());
        let marker = component(&get(&app, &id, "PoseNotDetected"), "PoseNotDetected");
        assert_eq!(marker, Some(json!({})), "form {i}");
    }
    assert_eq!(
        names(&app)["response"]["entities"].as_array().map(Vec::len),
        Some(1)
    );

    // An object with neither a pose nor `Empty`, or with both, is no frame.
    let refused: [(&[u8], &str); 4] = [
        (
            b"{}",
            "missing field `landmarks` (a pose) or `Empty` (nobody in view)",
        ),
        (
            br#"{"timestamp": 1}"#,
            "missing field `landmarks` (a pose) or `Empty`",
        ),
        (
            br#"{"Empty": {}, "landmarks": []}"#,
            "both `landmarks` (a pose) and `Empty`",
        ),
        (
            br#"{"Empty": []}"#,
            "Empty: expected an object or null, got a list",
        ),
    ];
    for (text, message) in refused {
        let error = push_frame(&app, &any_count(), text).expect_err("refused");
        assert_eq!(error.code, brp::ErrorCode::InvalidParams);
        assert!(error.message.contains(message), "{}", error.message);
    }
}
