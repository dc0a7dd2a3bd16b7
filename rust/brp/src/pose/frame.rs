//! Frames as controllers send them: a FlatBuffers `DetectionMessage`
//! (binary WebSocket frames) or its JSON form (text frames).
//!
//! The JSON form of a frame is the first person's pose,
//! `{"timestamp": 1.5, "landmarks": [{"x": 0.5, "y": 0.4, "z": -0.1,
//! "availability": {"visibility": 0.9, "presence": 0.95}}]}`, with optional
//! `"sequence"` and `"capture_time_ns"` (unsigned integers),
//! `"world_landmarks"` (landmarks as `"landmarks"`), `"image_width"` and
//! `"image_height"` (unsigned 32-bit integers), an optional `availability`
//! per landmark (0, 0 when missing, as in FlatBuffers), and
//! `"more_people": [pose, ...]` for everyone else in view. Nobody in view
//! is `{"Empty": {}}` (or `{"Empty": null}`). Other keys are ignored, so
//! senders may add fields.
//!
//! In FlatBuffers, nobody in view is a payload of type `Empty` with or
//! without its (empty) table, or no payload at all.
//!
//! In either form every landmark value and the timestamp must be finite
//! once stored (a landmark value as `f32`: `1e300` is out of range), each
//! pose must have the [`Target`]'s `landmark_count` landmarks, and
//! `world_landmarks`, when sent, as many as `landmarks`. Error messages
//! quote no more than 80 characters of the frame.

use super::config::Target;
use super::schema;
use crate::error::BrpError;
use crate::params::{echo, kind, raw_kind};
use crate::world::pose::{Landmark, PoseLandmarks};
use flatbuffers::{
    FlatBufferBuilder, ForwardsUOffset, InvalidFlatbuffer, Vector, Verifiable, Verifier,
    VerifierOptions, WIPOffset,
};
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use std::fmt;

/// One decoded frame: everyone in view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// The people in view, in the controller's order (in FlatBuffers the
    /// payload's person first, then `more_people`); empty when nobody is.
    pub people: Vec<PoseLandmarks>,
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

/// What a decoder takes from a frame: the [`Target`]'s limits.
#[derive(Debug, Clone, Copy)]
struct Rules {
    /// At most this many people are decoded; the others are skipped.
    people: usize,
    /// The landmark count every pose must have, if any.
    landmark_count: Option<usize>,
}

impl From<&Target> for Rules {
    fn from(target: &Target) -> Self {
        Self {
            people: target.people(),
            landmark_count: target.landmark_count,
        }
    }
}

impl Frame {
    /// Nobody in view.
    pub fn empty() -> Self {
        Self::default()
    }

    /// One person in view.
    pub fn pose(pose: PoseLandmarks) -> Self {
        Self { people: vec![pose] }
    }

    /// Decodes the bytes of either kind of frame for the default
    /// [`Target`] (up to 8 people of 33 landmarks each), as
    /// [`decode_for`](Self::decode_for).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_for(bytes, &Target::default())
    }

    /// Decodes the bytes of either kind of frame as `target` takes them:
    /// JSON text when they start with `{` (after optional ASCII
    /// whitespace), FlatBuffers otherwise.
    ///
    /// Only the first [`target.people()`](Target::people) people are
    /// decoded (the others are skipped, not checked), and each must have
    /// `target.landmark_count` landmarks.
    ///
    /// A FlatBuffers message never starts with `{`: it starts with the
    /// small, 4-aligned offset of its root table.
    pub fn decode_for(bytes: &[u8], target: &Target) -> Result<Self, DecodeError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::from_json_for(bytes, target),
            _ => Self::from_flatbuffers_for(bytes, target),
        }
    }

    /// Decodes a FlatBuffers `DetectionMessage` for the default [`Target`],
    /// as [`from_flatbuffers_for`](Self::from_flatbuffers_for).
    pub fn from_flatbuffers(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_flatbuffers_for(bytes, &Target::default())
    }

    /// Decodes a FlatBuffers `DetectionMessage` as `target` takes it (see
    /// [`decode_for`](Self::decode_for)), verifying it first.
    ///
    /// Bytes that fail verification but are JSON are refused saying so: a
    /// JSON object as belonging in a text message, another JSON value (e.g.
    /// `[]`) as the JSON form refuses it ("expected a JSON object ..., got a
    /// list"), which says more than the verifier.
    pub fn from_flatbuffers_for(bytes: &[u8], target: &Target) -> Result<Self, DecodeError> {
        use schema::DetectionPayload;
        if bytes.is_empty() {
            return Err(empty());
        }
        let rules = Rules::from(target);
        let message = match schema::root_as_detection_message(bytes) {
            Ok(message) => message,
            Err(error) => match bare_message(bytes) {
                Ok(Some(bare)) => return bare.decode(),
                _ => return Err(not_a_message(bytes, &error)),
            },
        };
        let first = match message.payload_type() {
            DetectionPayload::PoseDetectionResult => message
                .payload_as_pose_detection_result()
                .ok_or_else(|| DecodeError("the pose payload is missing".into()))?,
            DetectionPayload::Empty | DetectionPayload::NONE => {
                let more = message.more_people().map_or(0, |more| more.len());
                return nobody(more);
            }
            other => return Err(DecodeError(format!("unknown payload type {}", other.0))),
        };
        let more = message.more_people();
        let count = rules.people.min(1 + more.map_or(0, |more| more.len()));
        let mut people = Vec::with_capacity(count);
        people.push(pose_from_table("", first, rules)?);
        for (i, result) in more.iter().flatten().take(count - 1).enumerate() {
            people.push(pose_from_table(
                &format!("more_people[{i}]."),
                result,
                rules,
            )?);
        }
        Ok(Self { people })
    }

    /// Decodes the JSON form (see the module documentation) for the default
    /// [`Target`], as [`from_json_for`](Self::from_json_for).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_json_for(bytes, &Target::default())
    }

    /// Decodes the JSON form (see the module documentation) as `target`
    /// takes it (see [`decode_for`](Self::decode_for)).
    ///
    /// An object with neither `landmarks` (a pose) nor `Empty` (nobody in
    /// view) is an error, and so is one with both.
    pub fn from_json_for(bytes: &[u8], target: &Target) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            return Err(empty());
        }
        let rules = Rules::from(target);
        // serde_json's syntax errors name a place, never the input.
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError(format!("invalid JSON: {e}")))?;
        let Value::Object(object) = &value else {
            return Err(not_an_object(kind(&value)));
        };
        let more = match object.get("more_people") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(more)) => more.as_slice(),
            Some(other) => return Err(expected("more_people", "a list", other)),
        };
        match (object.get("Empty"), object.contains_key("landmarks")) {
            (Some(_), true) => {
                return Err(DecodeError(
                    "both `landmarks` (a pose) and `Empty` (nobody in view)".into(),
                ));
            }
            (Some(Value::Null | Value::Object(_)), false) => return nobody(more.len()),
            (Some(other), false) => return Err(expected("Empty", "an object or null", other)),
            (None, true) => {}
            (None, false) => {
                return Err(DecodeError(
                    "missing field `landmarks` (a pose) or `Empty` (nobody in view)".into(),
                ));
            }
        }
        let count = rules.people.min(1 + more.len());
        let mut people = Vec::with_capacity(count);
        people.push(pose_from_json("", object, rules)?);
        for (i, pose) in more.iter().take(count - 1).enumerate() {
            let at = format!("more_people[{i}]");
            let Value::Object(pose) = pose else {
                return Err(expected(&at, "an object (a pose)", pose));
            };
            people.push(pose_from_json(&format!("{at}."), pose, rules)?);
        }
        Ok(Self { people })
    }

    /// Encodes the frame as a FlatBuffers `DetectionMessage`: the first
    /// person as the payload, the others in `more_people`; nobody in view as
    /// an `Empty` payload.
    pub fn to_flatbuffers(&self) -> Vec<u8> {
        use schema::{DetectionMessage, DetectionMessageArgs, DetectionPayload, Empty, EmptyArgs};
        let mut fbb = FlatBufferBuilder::new();
        let (payload_type, payload) = match self.people.first() {
            Some(first) => {
                let payload = pose_table(&mut fbb, first).as_union_value();
                (DetectionPayload::PoseDetectionResult, payload)
            }
            None => {
                let payload = Empty::create(&mut fbb, &EmptyArgs {}).as_union_value();
                (DetectionPayload::Empty, payload)
            }
        };
        let more_people = match self.people.get(1..) {
            Some(more) if !more.is_empty() => {
                let tables: Vec<_> = more.iter().map(|pose| pose_table(&mut fbb, pose)).collect();
                Some(fbb.create_vector(&tables))
            }
            _ => None,
        };
        let args = DetectionMessageArgs {
            payload_type,
            payload: Some(payload),
            more_people,
        };
        let root = DetectionMessage::create(&mut fbb, &args);
        fbb.finish(root, None);
        fbb.finished_data().to_vec()
    }

    /// Encodes the frame in its JSON form: the first person's pose with the
    /// others in `more_people`, or `{"Empty": {}}`.
    pub fn to_json(&self) -> String {
        let Some((first, more)) = self.people.split_first() else {
            return serde_json::json!({"Empty": {}}).to_string();
        };
        let frame = JsonFrame {
            first: JsonPose::from(first),
            more_people: more.iter().map(JsonPose::from).collect(),
        };
        serde_json::json!(frame).to_string()
    }
}

/// A frame that says nobody is in view but lists `more` other people.
fn nobody(more: usize) -> Result<Frame, DecodeError> {
    match more {
        0 => Ok(Frame::empty()),
        more => Err(DecodeError(format!(
            "more_people holds {more} people, but the payload says nobody is in view"
        ))),
    }
}

/// A `DetectionMessage` with a payload type but no payload table, which
/// flatc's verifier refuses ("inconsistent union") and the upstream
/// controller sends for nobody in view (it adds the type `Empty` and no
/// table).
struct Bare {
    payload_type: schema::DetectionPayload,
    /// How many people `more_people` lists.
    more_people: usize,
}

impl Bare {
    fn decode(&self) -> Result<Frame, DecodeError> {
        use schema::DetectionPayload;
        match self.payload_type {
            DetectionPayload::Empty | DetectionPayload::NONE => nobody(self.more_people),
            DetectionPayload::PoseDetectionResult => {
                Err(DecodeError("the pose payload is missing".into()))
            }
            other => Err(DecodeError(format!("unknown payload type {}", other.0))),
        }
    }
}

/// `bytes` as a [`Bare`] message, verified as far as it is read (the root
/// table, its payload type and its `more_people`); `None` when the message
/// has a payload table.
fn bare_message(bytes: &[u8]) -> Result<Option<Bare>, InvalidFlatbuffer> {
    use schema::{DetectionMessage as Message, PoseDetectionResult};
    type People<'a> = ForwardsUOffset<Vector<'a, ForwardsUOffset<PoseDetectionResult<'a>>>>;
    let options = VerifierOptions::default();
    let mut verifier = Verifier::new(&options, bytes);
    // The root offset, as `flatbuffers::root` reads it.
    let root = verifier.get_uoffset(0)? as usize;
    let mut table = verifier.visit_table(root)?;
    if table.deref(Message::VT_PAYLOAD)?.is_some() {
        return Ok(None);
    }
    let payload_type = match table.deref(Message::VT_PAYLOAD_TYPE)? {
        Some(at) => table.verifier().get_u8(at)?,
        None => 0,
    };
    let more_people = match table.deref(Message::VT_MORE_PEOPLE)? {
        None => 0,
        Some(at) => {
            let verifier = table.verifier();
            People::run_verifier(verifier, at)?;
            // Verified: an offset to a vector, whose first word is its length.
            let vector = at.saturating_add(verifier.get_uoffset(at)? as usize);
            verifier.get_uoffset(vector)? as usize
        }
    };
    Ok(Some(Bare {
        payload_type: schema::DetectionPayload(payload_type),
        more_people,
    }))
}

/// The error of bytes that are not a `DetectionMessage`, which the
/// verifier refused with `error`.
fn not_a_message(bytes: &[u8], error: &InvalidFlatbuffer) -> DecodeError {
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
    let text = error.to_string();
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
}

/// The pose of a `PoseDetectionResult`; `at` (e.g. `more_people[0].`)
/// prefixes the fields named in errors.
fn pose_from_table(
    at: &str,
    result: schema::PoseDetectionResult<'_>,
    rules: Rules,
) -> Result<PoseLandmarks, DecodeError> {
    let landmarks = result.landmarks();
    let world = result.world_landmarks();
    // Counted before anything is allocated.
    check_counts(
        at,
        rules,
        landmarks.map_or(0, |l| l.len()),
        world.map_or(0, |w| w.len()),
    )?;
    let pose = PoseLandmarks {
        timestamp: result.timestamp(),
        sequence: result.sequence(),
        capture_time_ns: result.capture_time_ns(),
        landmarks: landmarks_from_table(landmarks),
        world_landmarks: landmarks_from_table(world),
        image_width: result.image_width(),
        image_height: result.image_height(),
    };
    check_finite(at, &pose)?;
    Ok(pose)
}

/// A vector of `Landmark` tables (none: empty) as landmarks.
fn landmarks_from_table(
    landmarks: Option<Vector<'_, ForwardsUOffset<schema::Landmark<'_>>>>,
) -> Vec<Landmark> {
    let Some(landmarks) = landmarks else {
        return Vec::new();
    };
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
}

/// Fails unless a pose of `landmarks` landmarks and `world` world landmarks
/// (0: none sent) has the counts `rules` require.
fn check_counts(at: &str, rules: Rules, landmarks: usize, world: usize) -> Result<(), DecodeError> {
    if let Some(count) = rules.landmark_count
        && landmarks != count
    {
        return Err(DecodeError(format!(
            "{at}landmarks: expected {count} landmarks (the target's landmark_count), \
             got {landmarks}"
        )));
    }
    if world != 0 && world != landmarks {
        return Err(DecodeError(format!(
            "{at}world_landmarks: expected as many as landmarks ({landmarks}), got {world}"
        )));
    }
    Ok(())
}

/// Adds `pose` to `fbb` as a `PoseDetectionResult`.
fn pose_table<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    pose: &PoseLandmarks,
) -> WIPOffset<schema::PoseDetectionResult<'a>> {
    use schema::{PoseDetectionResult, PoseDetectionResultArgs};
    let landmarks = Some(landmark_vector(fbb, &pose.landmarks));
    let world_landmarks =
        (!pose.world_landmarks.is_empty()).then(|| landmark_vector(fbb, &pose.world_landmarks));
    let args = PoseDetectionResultArgs {
        landmarks,
        timestamp: pose.timestamp,
        capture_time_ns: pose.capture_time_ns,
        sequence: pose.sequence,
        world_landmarks,
        image_width: pose.image_width,
        image_height: pose.image_height,
    };
    PoseDetectionResult::create(fbb, &args)
}

/// Adds `landmarks` to `fbb` as a vector of `Landmark` tables.
fn landmark_vector<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    landmarks: &[Landmark],
) -> WIPOffset<Vector<'a, ForwardsUOffset<schema::Landmark<'a>>>> {
    use schema::{Availability, AvailabilityArgs, Landmark as FbLandmark, LandmarkArgs};
    let tables: Vec<_> = landmarks
        .iter()
        .map(|l| {
            let availability = AvailabilityArgs {
                visibility: l.visibility,
                presence: l.presence,
            };
            let availability = Some(Availability::create(fbb, &availability));
            let args = LandmarkArgs {
                x: l.x,
                y: l.y,
                z: l.z,
                availability,
            };
            FbLandmark::create(fbb, &args)
        })
        .collect();
    fbb.create_vector(&tables)
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

/// Fails unless the timestamp and every landmark value are finite; `at`
/// prefixes the fields named.
fn check_finite(at: &str, pose: &PoseLandmarks) -> Result<(), DecodeError> {
    if !pose.timestamp.is_finite() {
        return Err(DecodeError(format!(
            "{at}timestamp is {}, not a finite number",
            pose.timestamp
        )));
    }
    let lists = [
        ("landmarks", &pose.landmarks),
        ("world_landmarks", &pose.world_landmarks),
    ];
    for (list, landmarks) in lists {
        for (i, l) in landmarks.iter().enumerate() {
            let values = [
                ("x", l.x),
                ("y", l.y),
                ("z", l.z),
                ("visibility", l.visibility),
                ("presence", l.presence),
            ];
            if let Some((name, value)) = values.iter().find(|(_, v)| !v.is_finite()) {
                return Err(DecodeError(format!(
                    "{at}{list}[{i}].{name} is {value}, not a finite number"
                )));
            }
        }
    }
    Ok(())
}

/// The pose of a JSON pose object (see the module documentation); `at`
/// (e.g. `more_people[0].`) prefixes the fields named in errors.
fn pose_from_json(
    at: &str,
    object: &Map<String, Value>,
    rules: Rules,
) -> Result<PoseLandmarks, DecodeError> {
    let landmarks = match object.get("landmarks") {
        None => return Err(DecodeError(format!("{at}missing field `landmarks`"))),
        Some(Value::Array(list)) => list.as_slice(),
        Some(other) => return Err(expected(&format!("{at}landmarks"), "a list", other)),
    };
    let world = match object.get("world_landmarks") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(list)) => list.as_slice(),
        Some(other) => return Err(expected(&format!("{at}world_landmarks"), "a list", other)),
    };
    // Counted before anything is built.
    check_counts(at, rules, landmarks.len(), world.len())?;
    let read = |key: &str, list: &[Value]| {
        list.iter()
            .enumerate()
            .map(|(i, landmark)| landmark_from_json(&format!("{at}{key}[{i}]"), landmark))
            .collect::<Result<Vec<_>, _>>()
    };
    let landmarks = read("landmarks", landmarks)?;
    let world_landmarks = read("world_landmarks", world)?;
    let timestamp = match object.get("timestamp") {
        None => return Err(DecodeError(format!("{at}missing field `timestamp`"))),
        Some(value) => value
            .as_f64()
            .ok_or_else(|| expected(&format!("{at}timestamp"), "a number", value))?,
    };
    let unsigned = |key: &str, max: u64, what: &str| match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|&n| n <= max)
            .map(Some)
            .ok_or_else(|| expected(&format!("{at}{key}"), what, value)),
    };
    let (u64_max, u32_max) = (u64::MAX, u64::from(u32::MAX));
    let size = |key: &str| {
        let value = unsigned(key, u32_max, "an unsigned 32-bit integer")?;
        Ok(value.and_then(|n| u32::try_from(n).ok()))
    };
    Ok(PoseLandmarks {
        timestamp,
        sequence: unsigned("sequence", u64_max, "an unsigned integer")?,
        capture_time_ns: unsigned("capture_time_ns", u64_max, "an unsigned integer")?,
        landmarks,
        world_landmarks,
        image_width: size("image_width")?,
        image_height: size("image_height")?,
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

/// The JSON form of a frame with people, for [`Frame::to_json`].
#[derive(Serialize)]
struct JsonFrame {
    #[serde(flatten)]
    first: JsonPose,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    more_people: Vec<JsonPose>,
}

/// The JSON form of a pose.
#[derive(Serialize)]
struct JsonPose {
    timestamp: f64,
    landmarks: Vec<JsonLandmark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_time_ns: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    world_landmarks: Vec<JsonLandmark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_height: Option<u32>,
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

impl From<&Landmark> for JsonLandmark {
    fn from(l: &Landmark) -> Self {
        Self {
            x: l.x,
            y: l.y,
            z: l.z,
            availability: JsonAvailability {
                visibility: l.visibility,
                presence: l.presence,
            },
        }
    }
}

impl From<&PoseLandmarks> for JsonPose {
    fn from(pose: &PoseLandmarks) -> Self {
        Self {
            timestamp: pose.timestamp,
            landmarks: pose.landmarks.iter().map(JsonLandmark::from).collect(),
            sequence: pose.sequence,
            capture_time_ns: pose.capture_time_ns,
            world_landmarks: pose
                .world_landmarks
                .iter()
                .map(JsonLandmark::from)
                .collect(),
            image_width: pose.image_width,
            image_height: pose.image_height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::{DetectionMessageBuilder, DetectionPayload};

    fn landmarks(count: usize, scale: f32) -> Vec<Landmark> {
        (0..count)
            .map(|i| Landmark {
                x: scale * i as f32 / 33.0,
                y: 0.5,
                z: -0.25,
                visibility: 0.9,
                presence: 0.75,
            })
            .collect()
    }

    fn pose() -> PoseLandmarks {
        PoseLandmarks {
            timestamp: 12.5,
            sequence: Some(7),
            capture_time_ns: Some(1_700_000_000_000_000_000),
            landmarks: landmarks(33, 1.0),
            world_landmarks: landmarks(33, 0.5),
            image_width: Some(640),
            image_height: Some(480),
        }
    }

    /// The default target, taking poses of any landmark count.
    fn any_count() -> Target {
        Target {
            landmark_count: None,
            ..Target::default()
        }
    }

    /// A message built as `build` adds its fields, nothing else.
    fn message(
        build: impl FnOnce(&mut DetectionMessageBuilder<'_, '_, flatbuffers::DefaultAllocator>),
    ) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::new();
        let mut builder = DetectionMessageBuilder::new(&mut fbb);
        build(&mut builder);
        let root = builder.finish();
        fbb.finish(root, None);
        fbb.finished_data().to_vec()
    }

    /// [`pose`] without any of the optional fields.
    fn bare() -> PoseLandmarks {
        PoseLandmarks {
            sequence: None,
            capture_time_ns: None,
            world_landmarks: Vec::new(),
            image_width: None,
            image_height: None,
            ..pose()
        }
    }

    #[test]
    fn every_form_round_trips() {
        let bare = bare();
        let two = Frame {
            people: vec![pose(), bare.clone()],
        };
        for frame in [Frame::pose(pose()), Frame::pose(bare), two, Frame::empty()] {
            assert_eq!(Frame::decode(&frame.to_flatbuffers()), Ok(frame.clone()));
            assert_eq!(Frame::decode(frame.to_json().as_bytes()), Ok(frame.clone()));
        }
    }

    #[test]
    fn optional_fields_stay_absent() {
        let bare = bare();
        let frame = Frame::pose(bare);
        let message = frame.to_flatbuffers();
        assert_eq!(Frame::from_flatbuffers(&message), Ok(frame.clone()));
        let root = schema::root_as_detection_message(&message).expect("verifies");
        assert!(root.more_people().is_none());
        let result = root.payload_as_pose_detection_result().expect("a pose");
        assert!(result.world_landmarks().is_none() && result.image_width().is_none());
        let json = frame.to_json();
        for key in ["sequence", "world_landmarks", "image_width", "more_people"] {
            assert!(!json.contains(key), "{key}: {json}");
        }
    }

    #[test]
    fn json_availability_defaults_to_zero_and_extra_keys_are_ignored() {
        let text = br#" {"timestamp": 1, "landmarks": [{"x": 1, "y": 2, "z": 3}], "extra": 0}"#;
        let frame = Frame::decode_for(text, &any_count()).expect("decodes");
        assert_eq!(
            frame.people[0].landmarks,
            [Landmark {
                x: 1.0,
                y: 2.0,
                z: 3.0,
                ..Landmark::default()
            }]
        );
    }

    #[test]
    fn upstream_and_bare_messages_are_nobody_in_view() {
        // What the upstream controller sends: the type `Empty`, no table.
        let upstream = message(|b| b.add_payload_type(DetectionPayload::Empty));
        assert!(schema::root_as_detection_message(&upstream).is_err());
        assert_eq!(Frame::decode(&upstream), Ok(Frame::empty()));
        // No payload at all (the type NONE is the default, not written).
        let none = message(|b| b.add_payload_type(DetectionPayload::NONE));
        assert_eq!(Frame::decode(&none), Ok(Frame::empty()));

        let refused = [
            (
                message(|b| b.add_payload_type(DetectionPayload::PoseDetectionResult)),
                "the pose payload is missing",
            ),
            (
                message(|b| b.add_payload_type(DetectionPayload(9))),
                "unknown payload type 9",
            ),
        ];
        for (bytes, error) in refused {
            assert_eq!(Frame::decode(&bytes), Err(DecodeError(error.into())));
        }
        // Truncated, the bare message is no message.
        for cut in 1..upstream.len() {
            assert!(Frame::decode(&upstream[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn nobody_in_view_with_more_people_is_an_error() {
        let mut fbb = FlatBufferBuilder::new();
        let tables: Vec<_> = (0..2).map(|_| pose_table(&mut fbb, &pose())).collect();
        let more_people = fbb.create_vector(&tables);
        let mut builder = DetectionMessageBuilder::new(&mut fbb);
        builder.add_payload_type(DetectionPayload::Empty);
        builder.add_more_people(more_people);
        let root = builder.finish();
        fbb.finish(root, None);
        let error = "more_people holds 2 people, but the payload says nobody is in view";
        assert_eq!(
            Frame::decode(fbb.finished_data()),
            Err(DecodeError(error.into()))
        );
        let json = br#"{"Empty": {}, "more_people": [{}, {}]}"#;
        assert_eq!(Frame::decode(json), Err(DecodeError(error.into())));
    }

    #[test]
    fn people_beyond_the_target_are_skipped_unread() {
        let mut broken = pose();
        broken.landmarks[0].x = f32::NAN;
        let frame = Frame {
            people: vec![pose(), pose(), broken],
        };
        let two = Target {
            max_people: 2,
            ..Target::default()
        };
        let expected = Frame {
            people: vec![pose(), pose()],
        };
        let bytes = frame.to_flatbuffers();
        assert_eq!(Frame::decode_for(&bytes, &two), Ok(expected.clone()));
        let error = Frame::decode(&bytes).expect_err("the third is read");
        assert_eq!(
            error.to_string(),
            "more_people[1].landmarks[0].x is NaN, not a finite number"
        );
        let json = frame.to_json();
        assert_eq!(Frame::decode_for(json.as_bytes(), &two), Ok(expected));
        assert!(
            Frame::decode(json.as_bytes()).is_err(),
            "NaN is null in JSON"
        );
    }

    #[test]
    fn garbage_truncation_and_wrong_shapes_are_errors() {
        let good = Frame::pose(pose()).to_flatbuffers();
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
            r#"{"timestamp": 1, "landmarks": null}"#,
            r#"{"timestamp": 1, "landmarks": [], "image_width": 4294967296}"#,
            r#"{"timestamp": 1, "landmarks": [], "image_height": -1}"#,
            r#"{"timestamp": 1, "landmarks": [], "world_landmarks": {}}"#,
            r#"{"timestamp": 1, "landmarks": [], "more_people": {}}"#,
            r#"{"timestamp": 1, "landmarks": [], "more_people": [1]}"#,
            r#"{"timestamp": 1, "landmarks": [], "more_people": [{"timestamp": 1}]}"#,
            r#"{"Empty": []}"#,
            r#"{"Empty": {}, "landmarks": []}"#,
        ] {
            assert!(
                Frame::decode_for(text.as_bytes(), &any_count()).is_err(),
                "{text}"
            );
        }
    }
}
