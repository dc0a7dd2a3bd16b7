//! Pose streaming: the game-side client of the pose controller.
//!
//! A controller (camera + pose detector) runs a WebSocket server and sends
//! one pose per frame: a FlatBuffers `DetectionMessage`
//! (`schema/detection.fbs`) in binary frames or its JSON form in text
//! frames (see [`Frame`]). A [`PoseClient`] connects to it and lands every
//! pose on a target entity as the reflected [`PoseLandmarks`] component,
//! which GET, QUERY and POLL see like any other. When the controller
//! reports nobody in view (`Empty`), the entity loses `PoseLandmarks` and
//! gets the [`PoseNotDetected`] marker instead, until the next pose.
//!
//! A controller that embeds the world in its own process skips the network
//! and hands the same bytes to [`push_frame`].
//!
//! ```
//! use brp::pose::{Target, push_frame};
//! let app = brp::Host::new();
//! let frame = r#"{"timestamp": 1.0, "landmarks": [{"x": 0.5, "y": 0.5, "z": 0.0}]}"#;
//! push_frame(&app, &Target::default(), frame.as_bytes()).unwrap();
//! let answer = app.request(r#"{"id": 1, "request": "QUERY", "params": {"data":
//!     {"components": ["Name", "PoseLandmarks"]}}}"#);
//! assert!(answer.contains("Player") && answer.contains("\"x\\\":0.5"));
//! ```

mod apply;
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
mod stats;
mod tls;

pub use crate::world::pose::{Landmark, PoseLandmarks, PoseNotDetected};
pub use apply::push_frame;
pub use client::PoseClient;
pub use config::{Backoff, ClientConfig, OVERSIZE_FACTOR, Target};
/// The code `flatc` generates from `schema/detection.fbs` (readers,
/// builders and the verifier of `DetectionMessage`).
pub(crate) use detection_generated::detection as schema;
pub use event::{FrameEvent, FrameObserver};
pub use frame::{DecodeError, Frame};
pub use stats::{ConnectionState, Stats};
