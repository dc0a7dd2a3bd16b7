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
    let player = Target::default();
    push_frame(&app, &player, &Frame::Pose(pose()).to_flatbuffers()).expect("FlatBuffers");
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
                   {"x": 0.5, "y": 0.75, "z": 0.0, "visibility": 0.5, "presence": 0.25}]})
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
        let error = push_frame(&app, &Target::default(), bad).expect_err("malformed");
        assert_eq!(error.code, brp::ErrorCode::InvalidParams);
    }
    let gone = app.with_world_mut(|world| {
        let entity = world.spawn_empty().id();
        world.despawn(entity);
        entity
    });
    let error = push_frame(&app, &Target::Entity(gone), br#"{"Empty": {}}"#).expect_err("gone");
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
    let frame = Frame::decode(&golden("v1_pose.bin"));
    assert_eq!(frame, Ok(Frame::Pose(expected)));
    assert_eq!(Frame::decode(&golden("v1_empty.bin")), Ok(Frame::Empty));

    let app = Host::new();
    push_frame(&app, &Target::default(), &golden("v1_pose.bin")).expect("an original frame");
    let id = names(&app)["response"]["entities"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let landed = component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").expect("landed");
    assert_eq!(
        (&landed["sequence"], &landed["capture_time_ns"]),
        (&Value::Null, &Value::Null)
    );
    push_frame(&app, &Target::default(), &golden("v1_empty.bin")).expect("an original Empty");
    assert!(component(&get(&app, &id, "PoseLandmarks"), "PoseLandmarks").is_none());
}

/// The encoder writes, byte for byte, the golden frames that the original
/// schema reads (`scripts/check-generated` decodes `pose.bin` with
/// `tests/pose/detection_v1.fbs`; `flatc --conform` there guarantees it for
/// any frame of the current schema). The bytes are equal because the
/// `flatbuffers` crate and flatc of the same version lay out a message the
/// same way; a version that does not fails here first.
#[test]
fn the_original_schema_reads_frames_with_the_appended_fields() {
    let pose_frame = golden("pose.bin");
    assert_eq!(Frame::Pose(pose()).to_flatbuffers(), pose_frame);
    assert_eq!(Frame::decode(&pose_frame), Ok(Frame::Pose(pose())));
    assert_eq!(Frame::Empty.to_flatbuffers(), golden("v1_empty.bin"));
}
