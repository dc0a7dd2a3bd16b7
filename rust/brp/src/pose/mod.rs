//! Pose streaming: the game-side client of the pose controller.
//!
//! A controller (camera + pose detector) runs a WebSocket server and sends
//! the people it sees, one frame at a time: a FlatBuffers
//! `DetectionMessage` (`schema/detection.fbs`) in binary frames or its JSON
//! form in text frames (see [`Frame`]). A [`PoseClient`] connects to it and
//! lands each person's pose on a target entity of their own (see
//! [`Target`]) as the reflected [`PoseLandmarks`] component, which GET,
//! QUERY and POLL see like any other. People keep their entities from frame
//! to frame; an entity whose person is no longer in view loses
//! `PoseLandmarks` and gets the [`PoseNotDetected`] marker instead, until a
//! person lands on it again.
//!
//! A controller that embeds the world in its own process skips the network
//! and hands the same bytes to [`push_frame`].
//!
//! ```
//! use brp::pose::{Target, push_frame};
//! let app = brp::Host::new();
//! // Poses of any landmark count (MediaPipe's 33 by default).
//! let target = Target::from_json(r#"{"name": "Player", "landmark_count": null}"#).unwrap();
//! let frame = r#"{"timestamp": 1.0, "landmarks": [{"x": 0.5, "y": 0.5, "z": 0.0}]}"#;
//! push_frame(&app, &target, frame.as_bytes()).unwrap();
//! let answer = app.request(r#"{"id": 1, "request": "QUERY", "params": {"data":
//!     {"components": ["Name", "PoseLandmarks"]}}}"#);
//! assert!(answer.contains("Player") && answer.contains("\"x\\\":0.5"));
//! ```

mod apply;
#[cfg(feature = "client")]
mod client;
mod config;
mod event;
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    missing_docs,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
#[rustfmt::skip]
mod detection_generated;
mod frame;
#[cfg(feature = "client")]
mod recorder;
mod smoothing;
mod stats;
#[cfg(feature = "client")]
mod tls;
mod tracking;

pub use crate::world::pose::{Landmark, PoseLandmarks, PoseNotDetected};
pub use apply::push_frame;
#[cfg(feature = "client")]
pub use client::PoseClient;
pub use config::{
    Backoff, ClientConfig, MAX_PEOPLE, MEDIAPIPE_POSE_LANDMARKS, Mapping, OVERSIZE_FACTOR, Target,
};
/// The code `flatc` generates from `schema/detection.fbs` (readers,
/// builders and the verifier of `DetectionMessage`).
pub(crate) use detection_generated::detection as schema;
pub use event::{FrameEvent, FrameObserver};
pub use frame::{DecodeError, Frame};
pub use smoothing::Smoothing;
pub use stats::{ConnectionState, Stats};
