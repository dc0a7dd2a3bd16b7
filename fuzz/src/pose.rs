//! The pose frame decoder: arbitrary bytes as a controller's frame
//! (FlatBuffers `DetectionMessage` or its JSON form) through
//! [`Frame::decode`] and [`push_frame`] (the `pose_frame` target), and the
//! same bytes as text through the pose configs' JSON parsers.
//!
//! Invariants: no panic; `decode` agrees with the decoder its first byte
//! picks; a decoded frame survives FlatBuffers (bit for bit) and, when its
//! numbers are finite, JSON; `push_frame` fails exactly when decoding for
//! its target fails or the target is missing, and then leaves the world
//! unchanged; after a frame with people the target has the first person's
//! `PoseLandmarks` and no `PoseNotDetected`, after nobody in view the
//! reverse; error messages stay short.

use super::requests::{Snapshot, strict};
use super::wire;
use brp::pose::{ClientConfig, Frame, Landmark, PoseLandmarks, Target, push_frame};
use brp::{ErrorCode, Host};
use serde_json::Value;

/// A pose as bits, so that NaNs compare equal to themselves.
type PoseBits = (
    u64,
    Option<u64>,
    Option<u64>,
    Vec<[u32; 5]>,
    Vec<[u32; 5]>,
    Option<u32>,
    Option<u32>,
);

/// A frame as bits: each person's.
fn bits(frame: &Frame) -> Vec<PoseBits> {
    let landmarks = |landmarks: &[Landmark]| {
        let bits = |l: &Landmark| [l.x, l.y, l.z, l.visibility, l.presence].map(f32::to_bits);
        landmarks.iter().map(bits).collect()
    };
    let pose = |pose: &PoseLandmarks| {
        (
            pose.timestamp.to_bits(),
            pose.sequence,
            pose.capture_time_ns,
            landmarks(&pose.landmarks),
            landmarks(&pose.world_landmarks),
            pose.image_width,
            pose.image_height,
        )
    };
    frame.people.iter().map(pose).collect()
}

/// Whether every number of `frame` can be written as JSON.
fn finite(frame: &Frame) -> bool {
    let finite = |l: &Landmark| {
        [l.x, l.y, l.z, l.visibility, l.presence]
            .iter()
            .all(|v| v.is_finite())
    };
    frame.people.iter().all(|pose| {
        pose.timestamp.is_finite()
            && pose.landmarks.iter().all(finite)
            && pose.world_landmarks.iter().all(finite)
    })
}

/// The `pose_frame` target.
pub fn frames(data: &[u8]) {
    let decoded = Frame::decode(data);
    let as_json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let picked = if as_json {
        Frame::from_json(data)
    } else {
        Frame::from_flatbuffers(data)
    };
    assert_eq!(
        decoded.as_ref().map(bits).map_err(ToString::to_string),
        picked.as_ref().map(bits).map_err(ToString::to_string),
        "decode disagrees with the decoder it picks"
    );
    if let Ok(frame) = &decoded {
        let again = Frame::decode(&frame.to_flatbuffers()).map(|f| bits(&f));
        assert_eq!(again, Ok(bits(frame)), "FlatBuffers round trip");
        if finite(frame) {
            let json = frame.to_json();
            let again = Frame::decode(json.as_bytes()).map(|f| bits(&f));
            let same = again.as_ref().is_ok_and(|again| *again == bits(frame));
            assert!(same, "JSON round trip: {frame:?} -> {json} -> {again:?}");
        }
    }
    land(data);
    configs(data);
}

/// Pushes `data` at the scene's player (by name), light (by id) and a
/// missing entity, and checks what landed.
fn land(data: &[u8]) {
    let subject = strict();
    let app = &subject.app;
    for (target, entity) in [
        (Target::default(), "1v0"),
        (
            Target::from_json(r#"{"entity": "4v0"}"#).expect("a target"),
            "4v0",
        ),
        (
            Target::from_json(r#"{"entity": "99v0"}"#).expect("a target"),
            "",
        ),
    ] {
        let frame = Frame::decode_for(data, &target).ok();
        let before = Snapshot::of(app);
        let result = push_frame(app, &target, data);
        match (&frame, &result) {
            (Some(frame), Ok(())) if !entity.is_empty() => landed(app, entity, frame),
            (Some(_), Err(e)) if entity.is_empty() => {
                assert_eq!(e.code, ErrorCode::EntityNotFound, "{e}");
                // Applying takes the world's lock as a change, which
                // advances the tick even when it fails; nothing else moves.
                assert_eq!(Snapshot::of(app).without_tick(), before.without_tick());
            }
            (None, Err(e)) => {
                assert_eq!(e.code, ErrorCode::InvalidParams, "{e}");
                assert!(e.message.chars().count() < 600, "a long message: {e}");
                assert_eq!(
                    Snapshot::of(app),
                    before,
                    "a malformed frame changed the world"
                );
            }
            _ => panic!("decoded {frame:?}, pushed to {target:?}: {result:?}"),
        }
    }
}

/// GETs `name` from `entity`: its value, or the error code.
fn get(app: &Host, entity: &str, name: &str) -> Result<Value, i64> {
    let request = format!(
        r#"{{"id": 7, "request": "GET", "params": {{"entity": "{entity}", "components": ["{name}"]}}}}"#
    );
    let answer = wire::check_response(&app.request(&request), Some(7)).expect("a GET answers");
    if let Some(code) = wire::error_code(&answer) {
        return Err(code);
    }
    let text = answer["response"]["components"][name]["JSON"].as_str();
    Ok(serde_json::from_str(text.expect("a value")).expect("the value is JSON"))
}

/// Checks that `frame` is what `entity` holds now.
fn landed(app: &Host, entity: &str, frame: &Frame) {
    let absent = Err(ErrorCode::ComponentNotPresent.code().into());
    let (pose, marker) = (
        get(app, entity, "PoseLandmarks"),
        get(app, entity, "PoseNotDetected"),
    );
    let Some(expected) = frame.people.first() else {
        assert_eq!(pose, absent, "nobody in view leaves no PoseLandmarks");
        assert!(marker.is_ok(), "nobody in view marks PoseNotDetected");
        return;
    };
    assert_eq!(marker, absent, "a pose clears PoseNotDetected");
    let pose = pose.expect("a pose lands as PoseLandmarks");
    assert_eq!(pose["sequence"].as_u64(), expected.sequence);
    assert_eq!(pose["capture_time_ns"].as_u64(), expected.capture_time_ns);
    let count = pose["landmarks"].as_array().map(Vec::len);
    assert_eq!(count, Some(expected.landmarks.len()));
    let world = pose["world_landmarks"].as_array().map(Vec::len);
    assert_eq!(world, Some(expected.world_landmarks.len()));
    let size = (pose["image_width"].as_u64(), pose["image_height"].as_u64());
    let sent = (expected.image_width, expected.image_height);
    assert_eq!(size, (sent.0.map(u64::from), sent.1.map(u64::from)));
    if expected.timestamp.is_finite() {
        // Read back through serde_json, as the JSON round trip above.
        let read = pose["timestamp"].as_f64().map(f64::to_bits);
        let same = read == Some(expected.timestamp.to_bits());
        assert!(
            same,
            "timestamp {} landed as {}",
            expected.timestamp, pose["timestamp"]
        );
    }
}

/// The bytes as the text of a push target and of a client config: parsed
/// or refused with a short message (the parsers quote at most a bounded
/// part of the input).
fn configs(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let short = |message: &str| {
        assert!(message.chars().count() < 600, "a long message: {message}");
    };
    if let Err(e) = Target::from_json(&text) {
        short(&e.message);
    }
    if let Err(e) = ClientConfig::from_json(&text) {
        short(&e.message);
    }
}
