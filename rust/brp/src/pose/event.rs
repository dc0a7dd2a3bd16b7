//! [`FrameEvent`]: what a [`PoseClient`](super::PoseClient)'s observer
//! learns about each frame it applies.

use serde::Serialize;
use std::sync::Arc;

/// One frame a client applied to the world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameEvent {
    /// True for a pose, false for `Empty` (nobody in view).
    pub detected: bool,
    /// The controller's frame counter, if the frame carried one.
    pub sequence: Option<u64>,
    /// The detector's timestamp of a pose (`None` for `Empty`).
    pub timestamp: Option<f64>,
    /// When the camera captured the frame, in ns since the UNIX epoch, if
    /// stamped.
    pub capture_time_ns: Option<u64>,
    /// Capture-to-applied latency in milliseconds, when `capture_time_ns` is
    /// set (as far as the two machines' clocks agree).
    pub latency_ms: Option<f64>,
}

/// A callback run once per applied frame, see
/// [`PoseClient::start_with_observer`](super::PoseClient::start_with_observer).
pub type FrameObserver = Arc<dyn Fn(&FrameEvent) + Send + Sync>;
