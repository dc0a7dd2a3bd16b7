//! Frames as controllers send them: a FlatBuffers `DetectionMessage`
//! (binary WebSocket frames) or its JSON form (text frames).
//!
//! The JSON form of a pose is
//! `{"timestamp": 1.5, "landmarks": [{"x": 0.5, "y": 0.4, "z": -0.1,
//! "availability": {"visibility": 0.9, "presence": 0.95}}]}`, with optional
//! `"sequence"` and `"capture_time_ns"` (unsigned integers) and an optional
//! `availability` (0, 0 when missing, as in FlatBuffers). Nobody in view is
//! `{"Empty": {}}`. Other keys are ignored, so senders may add fields.
//!
//! In either form every landmark value and the timestamp must be finite
//! once stored (a landmark value as `f32`: `1e300` is out of range), and
//! error messages quote no more than 80 characters of the frame.

use super::schema;
use crate::error::BrpError;
use crate::params::{echo, kind, raw_kind};
use crate::world::pose::{Landmark, PoseLandmarks};
use flatbuffers::FlatBufferBuilder;
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use std::fmt;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A detected body.
    Pose(PoseLandmarks),
    /// Nobody is in view.
    Empty,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for BrpError {
    fn from(error: DecodeError) -> Self {
        BrpError::invalid_params(format!("malformed pose frame: {error}"))
    }
}

impl Frame {
    /// Decodes the bytes of either kind of frame: JSON text when they start
    /// with `{` (after optional ASCII whitespace), FlatBuffers otherwise.
    ///
    /// A FlatBuffers message never starts that way: it starts with the
    /// small, 4-aligned offset of its root table.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::from_json(bytes),
            _ => Self::from_flatbuffers(bytes),
        }
    }

    /// Decodes a FlatBuffers `DetectionMessage`, verifying it first.
    ///
    /// Bytes that fail verification but are JSON are refused saying so: a
    /// JSON object as belonging in a text message, another JSON value (e.g.
    /// `[]`) as the JSON form refuses it ("expected a JSON object ..., got a
    /// list"), which says more than the verifier.
    pub fn from_flatbuffers(bytes: &[u8]) -> Result<Self, DecodeError> {
        use schema::DetectionPayload;
        if bytes.is_empty() {
            return Err(empty());
        }
        let message = schema::root_as_detection_message(bytes).map_err(|e| {
            // Checked without building the JSON's values.
            let json = serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
            match std::str::from_utf8(bytes)
                .ok()
                .filter(|_| json)
                .map(raw_kind)
            {
                Some("an object") => {
                    let size = bytes.len();
                    let why = "a JSON pose, which goes in a text message";
                    return DecodeError(format!("not a DetectionMessage ({size} bytes): {why}"));
                }
                Some(kind) => return not_an_object(kind),
                None => {}
            }
            // The verifier's message ends in blank lines and may span several.
            let text = e.to_string();
            let lines: Vec<_> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            DecodeError(format!(
                "not a DetectionMessage ({} bytes): {}",
                bytes.len(),
                echo(&lines.join(", "))
            ))
        })?;
        match message.payload_type() {
            DetectionPayload::PoseDetectionResult => {
                let result = message
                    .payload_as_pose_detection_result()
                    .ok_or_else(|| DecodeError("the pose payload is missing".into()))?;
                let pose = pose_from_table(result);
                check_finite(&pose)?;
                Ok(Self::Pose(pose))
            }
            DetectionPayload::Empty => Ok(Self::Empty),
            DetectionPayload::NONE => Err(DecodeError("the message has no payload".into())),
            other => Err(DecodeError(format!("unknown payload type {}", other.0))),
        }
    }

    /// Decodes the JSON form (see the module documentation).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(empty());
        }
        // serde_json's syntax errors name a place, never the input.
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError(format!("invalid JSON: {e}")))?;
        let Value::Object(object) = &value else {
            return Err(not_an_object(kind(&value)));
        };
        if object.contains_key("Empty") {
            return Ok(Self::Empty);
        }
        pose_from_json(object).map(Self::Pose)
    }

    /// Encodes the frame as a FlatBuffers `DetectionMessage`.
    pub fn to_flatbuffers(&self) -> Vec<u8> {
        use schema::{
            Availability, AvailabilityArgs, DetectionMessage, DetectionMessageArgs,
            DetectionPayload, Empty, EmptyArgs, Landmark as FbLandmark, LandmarkArgs,
            PoseDetectionResult, PoseDetectionResultArgs,
        };
        let mut fbb = FlatBufferBuilder::new();
        let (payload_type, payload) = match self {
            Self::Pose(pose) => {
                let landmarks: Vec<_> = pose
                    .landmarks
                    .iter()
                    .map(|l| {
                        let availability = AvailabilityArgs {
                            visibility: l.visibility,
                            presence: l.presence,
                        };
                        let availability = Some(Availability::create(&mut fbb, &availability));
                        let args = LandmarkArgs {
                            x: l.x,
                            y: l.y,
                            z: l.z,
                            availability,
                        };
                        FbLandmark::create(&mut fbb, &args)
                    })
                    .collect();
                let landmarks = Some(fbb.create_vector(&landmarks));
                let args = PoseDetectionResultArgs {
                    landmarks,
                    timestamp: pose.timestamp,
                    capture_time_ns: pose.capture_time_ns,
                    sequence: pose.sequence,
                    ..Default::default()
                };
                let payload = PoseDetectionResult::create(&mut fbb, &args).as_union_value();
                (DetectionPayload::PoseDetectionResult, payload)
            }
            Self::Empty => {
                let payload = Empty::create(&mut fbb, &EmptyArgs {}).as_union_value();
                (DetectionPayload::Empty, payload)
            }
        };
        let args = DetectionMessageArgs {
            payload_type,
            payload: Some(payload),
            ..Default::default()
        };
        let root = DetectionMessage::create(&mut fbb, &args);
        fbb.finish(root, None);
        fbb.finished_data().to_vec()
    }

    /// Encodes the frame in its JSON form.
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Pose(pose) => serde_json::json!(JsonPose::from(pose)),
            Self::Empty => serde_json::json!({"Empty": {}}),
        };
        value.to_string()
    }
}

fn pose_from_table(result: schema::PoseDetectionResult<'_>) -> PoseLandmarks {
    let landmarks = result.landmarks().map_or_else(Vec::new, |landmarks| {
        landmarks
            .iter()
            .map(|l| {
                let (visibility, presence) = l
                    .availability()
                    .map_or((0.0, 0.0), |a| (a.visibility(), a.presence()));
                Landmark {
                    x: l.x(),
                    y: l.y(),
                    z: l.z(),
                    visibility,
                    presence,
                }
            })
            .collect()
    });
    PoseLandmarks {
        timestamp: result.timestamp(),
        sequence: result.sequence(),
        capture_time_ns: result.capture_time_ns(),
        landmarks,
    }
}

/// The error of a JSON frame that is not an object but `kind` (e.g. "a list").
fn not_an_object(kind: &str) -> DecodeError {
    DecodeError(format!(
        "expected a JSON object (a pose {{\"timestamp\": ..., \"landmarks\": [...]}} \
         or {{\"Empty\": {{}}}}), got {kind}"
    ))
}

/// The error of a frame with no bytes.
fn empty() -> DecodeError {
    DecodeError("the frame is empty (0 bytes)".into())
}

/// Fails unless the timestamp and every landmark value are finite.
fn check_finite(pose: &PoseLandmarks) -> Result<(), DecodeError> {
    if !pose.timestamp.is_finite() {
        return Err(DecodeError(format!(
            "timestamp is {}, not a finite number",
            pose.timestamp
        )));
    }
    for (i, l) in pose.landmarks.iter().enumerate() {
        let values = [
            ("x", l.x),
            ("y", l.y),
            ("z", l.z),
            ("visibility", l.visibility),
            ("presence", l.presence),
        ];
        if let Some((name, value)) = values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(DecodeError(format!(
                "landmarks[{i}].{name} is {value}, not a finite number"
            )));
        }
    }
    Ok(())
}

/// The pose of a JSON frame's object (see the module documentation).
fn pose_from_json(object: &Map<String, Value>) -> Result<PoseLandmarks, DecodeError> {
    let Some(landmarks) = object.get("landmarks") else {
        return Err(DecodeError("missing field `landmarks`".into()));
    };
    let Value::Array(landmarks) = landmarks else {
        return Err(expected("landmarks", "a list", landmarks));
    };
    let landmarks = landmarks
        .iter()
        .enumerate()
        .map(|(i, landmark)| landmark_from_json(&format!("landmarks[{i}]"), landmark))
        .collect::<Result<_, _>>()?;
    let timestamp = match object.get("timestamp") {
        None => return Err(DecodeError("missing field `timestamp`".into())),
        Some(value) => value
            .as_f64()
            .ok_or_else(|| expected("timestamp", "a number", value))?,
    };
    let unsigned = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| expected(key, "an unsigned integer", value)),
    };
    Ok(PoseLandmarks {
        timestamp,
        sequence: unsigned("sequence")?,
        capture_time_ns: unsigned("capture_time_ns")?,
        landmarks,
    })
}

/// One landmark of a JSON frame; `at` names it in errors.
fn landmark_from_json(at: &str, value: &Value) -> Result<Landmark, DecodeError> {
    let Value::Object(landmark) = value else {
        return Err(expected(at, "an object", value));
    };
    let required = |key: &str| match landmark.get(key) {
        None => Err(DecodeError(format!("{at}: missing field `{key}`"))),
        Some(value) => float(&format!("{at}.{key}"), value),
    };
    let (x, y, z) = (required("x")?, required("y")?, required("z")?);
    let (mut visibility, mut presence) = (0.0, 0.0);
    match landmark.get("availability") {
        None | Some(Value::Null) => {}
        Some(Value::Object(availability)) => {
            let optional = |key: &str| match availability.get(key) {
                None | Some(Value::Null) => Ok(0.0),
                Some(value) => float(&format!("{at}.availability.{key}"), value),
            };
            (visibility, presence) = (optional("visibility")?, optional("presence")?);
        }
        Some(other) => return Err(expected(&format!("{at}.availability"), "an object", other)),
    }
    Ok(Landmark {
        x,
        y,
        z,
        visibility,
        presence,
    })
}

/// `value` as an `f32`, which must be finite: a number beyond `f32`'s range
/// (e.g. `1e300`) is an error, not infinity.
fn float(at: &str, value: &Value) -> Result<f32, DecodeError> {
    let Value::Number(number) = value else {
        return Err(expected(at, "a number", value));
    };
    let converted = number.as_f64().map(|n| n as f32);
    converted.filter(|v| v.is_finite()).ok_or_else(|| {
        DecodeError(format!(
            "{at}: {} is out of range for a 32-bit float",
            echo(&number.to_string())
        ))
    })
}

/// The error of a JSON value `got` at `at` that is not `what`.
fn expected(at: &str, what: &str, got: &Value) -> DecodeError {
    let got = match got {
        Value::Number(number) => echo(&number.to_string()).into_owned(),
        other => kind(other).to_owned(),
    };
    DecodeError(format!("{at}: expected {what}, got {got}"))
}

/// The JSON form of a pose, for [`Frame::to_json`].
#[derive(Serialize)]
struct JsonPose {
    timestamp: f64,
    landmarks: Vec<JsonLandmark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_time_ns: Option<u64>,
}

#[derive(Serialize)]
struct JsonLandmark {
    x: f32,
    y: f32,
    z: f32,
    availability: JsonAvailability,
}

#[derive(Serialize)]
struct JsonAvailability {
    visibility: f32,
    presence: f32,
}

impl From<&PoseLandmarks> for JsonPose {
    fn from(pose: &PoseLandmarks) -> Self {
        let landmarks = pose
            .landmarks
            .iter()
            .map(|l| JsonLandmark {
                x: l.x,
                y: l.y,
                z: l.z,
                availability: JsonAvailability {
                    visibility: l.visibility,
                    presence: l.presence,
                },
            })
            .collect();
        Self {
            timestamp: pose.timestamp,
            landmarks,
            sequence: pose.sequence,
            capture_time_ns: pose.capture_time_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose() -> PoseLandmarks {
        PoseLandmarks {
            timestamp: 12.5,
            sequence: Some(7),
            capture_time_ns: Some(1_700_000_000_000_000_000),
            landmarks: (0..33)
                .map(|i| Landmark {
                    x: i as f32 / 33.0,
                    y: 0.5,
                    z: -0.25,
                    visibility: 0.9,
                    presence: 0.75,
                })
                .collect(),
        }
    }

    #[test]
    fn both_forms_round_trip() {
        for frame in [Frame::Pose(pose()), Frame::Empty] {
            assert_eq!(Frame::decode(&frame.to_flatbuffers()), Ok(frame.clone()));
            assert_eq!(Frame::decode(frame.to_json().as_bytes()), Ok(frame.clone()));
        }
    }

    #[test]
    fn optional_fields_stay_absent() {
        let bare = PoseLandmarks {
            sequence: None,
            capture_time_ns: None,
            ..pose()
        };
        let frame = Frame::Pose(bare);
        assert_eq!(
            Frame::from_flatbuffers(&frame.to_flatbuffers()),
            Ok(frame.clone())
        );
        assert!(!frame.to_json().contains("sequence"));
    }

    #[test]
    fn json_availability_defaults_to_zero_and_extra_keys_are_ignored() {
        let text = br#" {"timestamp": 1, "landmarks": [{"x": 1, "y": 2, "z": 3}], "extra": 0}"#;
        let Ok(Frame::Pose(pose)) = Frame::decode(text) else {
            panic!("decodes");
        };
        assert_eq!(
            pose.landmarks,
            [Landmark {
                x: 1.0,
                y: 2.0,
                z: 3.0,
                ..Landmark::default()
            }]
        );
    }

    #[test]
    fn garbage_truncation_and_wrong_shapes_are_errors() {
        let good = Frame::Pose(pose()).to_flatbuffers();
        for cut in [0, 1, 4, 8, good.len() / 2, good.len() - 1] {
            assert!(
                Frame::from_flatbuffers(&good[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut flipped = good.clone();
        flipped[0] ^= 0xff;
        assert!(Frame::decode(&flipped).is_err());
        for text in [
            "{",
            "{}",
            r#"{"timestamp": 1}"#,
            r#"{"timestamp": "1", "landmarks": []}"#,
            r#"{"timestamp": 1, "landmarks": [{"x": 1}]}"#,
            r#"{"timestamp": 1, "landmarks": [], "sequence": -1}"#,
        ] {
            assert!(Frame::decode(text.as_bytes()).is_err(), "{text}");
        }
    }
}
