//! Frames as controllers send them: a FlatBuffers `DetectionMessage`
//! (binary WebSocket frames) or its JSON form (text frames).
//!
//! The JSON form of a pose is
//! `{"timestamp": 1.5, "landmarks": [{"x": 0.5, "y": 0.4, "z": -0.1,
//! "availability": {"visibility": 0.9, "presence": 0.95}}]}`, with optional
//! `"sequence"` and `"capture_time_ns"` (unsigned integers) and an optional
//! `availability` (0, 0 when missing, as in FlatBuffers). Nobody in view is
//! `{"Empty": {}}`. Other keys are ignored, so senders may add fields.

use super::components::{Landmark, PoseLandmarks};
use super::schema;
use crate::error::BrpError;
use flatbuffers::FlatBufferBuilder;
use serde::{Deserialize, Serialize};
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
    pub fn from_flatbuffers(bytes: &[u8]) -> Result<Self, DecodeError> {
        use schema::DetectionPayload;
        let message = schema::root_as_detection_message(bytes)
            .map_err(|e| DecodeError(format!("not a DetectionMessage: {e}")))?;
        match message.payload_type() {
            DetectionPayload::PoseDetectionResult => {
                let result = message
                    .payload_as_pose_detection_result()
                    .ok_or_else(|| DecodeError("the pose payload is missing".into()))?;
                Ok(Self::Pose(pose_from_table(result)))
            }
            DetectionPayload::Empty => Ok(Self::Empty),
            DetectionPayload::NONE => Err(DecodeError("the message has no payload".into())),
            other => Err(DecodeError(format!("unknown payload type {}", other.0))),
        }
    }

    /// Decodes the JSON form (see the module documentation).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError(format!("invalid JSON: {e}")))?;
        if value.get("Empty").is_some() {
            return Ok(Self::Empty);
        }
        let pose = JsonPose::deserialize(value)
            .map_err(|e| DecodeError(format!("invalid pose JSON: {e}")))?;
        Ok(Self::Pose(pose.into()))
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

#[derive(Serialize, Deserialize)]
struct JsonPose {
    timestamp: f64,
    landmarks: Vec<JsonLandmark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sequence: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capture_time_ns: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct JsonLandmark {
    x: f32,
    y: f32,
    z: f32,
    #[serde(default)]
    availability: JsonAvailability,
}

#[derive(Default, Serialize, Deserialize)]
struct JsonAvailability {
    #[serde(default)]
    visibility: f32,
    #[serde(default)]
    presence: f32,
}

impl From<JsonPose> for PoseLandmarks {
    fn from(pose: JsonPose) -> Self {
        let landmarks = pose
            .landmarks
            .into_iter()
            .map(|l| Landmark {
                x: l.x,
                y: l.y,
                z: l.z,
                visibility: l.availability.visibility,
                presence: l.availability.presence,
            })
            .collect();
        Self {
            timestamp: pose.timestamp,
            sequence: pose.sequence,
            capture_time_ns: pose.capture_time_ns,
            landmarks,
        }
    }
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
