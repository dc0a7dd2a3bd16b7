//! The in-process path (`push_frame`) and the schema's compatibility with
//! the original `DetectionMessage` both ways.

#[allow(clippy::all, clippy::pedantic, unsafe_op_in_unsafe_fn, dead_code, unused_imports)]
#[rustfmt::skip]
#[path = "pose_original/detection_generated.rs"]
mod original_schema;

use brp::App;
use brp::pose::{Frame, Landmark, PoseLandmarks, Target, push_frame};
use original_schema::detection as original;
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

fn get(app: &App, entity: &str, component: &str) -> Value {
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
    let app = App::new();
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

fn names(app: &App) -> Value {
    let query = r#"{"id": 1, "request": "QUERY", "params": {"data": {"components": ["Name"]}}}"#;
    serde_json::from_str(&app.request(query)).expect("JSON response")
}

#[test]
fn bad_frames_and_missing_targets_are_errors_that_change_nothing() {
    let app = App::new();
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

/// A frame as a controller built from the original schema writes it.
fn original_frame() -> Vec<u8> {
    let mut fbb = flatbuffers::FlatBufferBuilder::new();
    let availability = original::Availability::create(
        &mut fbb,
        &original::AvailabilityArgs {
            visibility: 0.75,
            presence: 1.0,
        },
    );
    let landmark = original::Landmark::create(
        &mut fbb,
        &original::LandmarkArgs {
            x: 0.25,
            y: 0.5,
            z: -0.125,
            availability: Some(availability),
        },
    );
    let landmarks = fbb.create_vector(&[landmark]);
    let result = original::PoseDetectionResult::create(
        &mut fbb,
        &original::PoseDetectionResultArgs {
            landmarks: Some(landmarks),
            timestamp: 2.5,
        },
    );
    let message = original::DetectionMessage::create(
        &mut fbb,
        &original::DetectionMessageArgs {
            payload_type: original::DetectionPayload::PoseDetectionResult,
            payload: Some(result.as_union_value()),
        },
    );
    fbb.finish(message, None);
    fbb.finished_data().to_vec()
}

#[test]
fn frames_of_the_original_schema_decode() {
    let expected = PoseLandmarks {
        sequence: None,
        capture_time_ns: None,
        landmarks: pose().landmarks[..1].to_vec(),
        ..pose()
    };
    assert_eq!(Frame::decode(&original_frame()), Ok(Frame::Pose(expected)));
}

#[test]
fn the_original_schema_reads_frames_with_the_appended_fields() {
    let bytes = Frame::Pose(pose()).to_flatbuffers();
    let message = original::root_as_detection_message(&bytes).expect("verifies");
    assert_eq!(
        message.payload_type(),
        original::DetectionPayload::PoseDetectionResult
    );
    let result = message.payload_as_pose_detection_result().expect("a pose");
    assert_eq!(result.timestamp(), 2.5);
    let landmarks = result.landmarks().expect("landmarks");
    assert_eq!(landmarks.len(), 2);
    let second = landmarks.get(1);
    let availability = second.availability().expect("availability");
    assert_eq!((second.x(), second.y(), second.z()), (0.5, 0.75, 0.0));
    assert_eq!(
        (availability.visibility(), availability.presence()),
        (0.5, 0.25)
    );

    let empty = Frame::Empty.to_flatbuffers();
    let message = original::root_as_detection_message(&empty).expect("verifies");
    assert!(message.payload_as_empty().is_some());
}
