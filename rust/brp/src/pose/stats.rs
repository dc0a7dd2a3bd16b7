//! A pose client's statistics, as a snapshot.

use serde::Serialize;

/// Where a client's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Opening a connection (TCP, TLS, WebSocket handshake).
    Connecting,
    /// Receiving frames.
    Connected,
    /// Waiting out the backoff before the next attempt.
    Waiting,
    /// Stopped, or done because reconnecting is off; no more frames apply.
    Stopped,
}

/// A snapshot of one client's statistics. Every frame received ends up
/// applied, dropped (a newer one replaced it before it applied), a decode
/// error, oversize, or an apply error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The connection's state.
    pub state: ConnectionState,
    /// Connections established (WebSocket handshakes completed).
    pub connections: u64,
    /// Connection attempts after the first.
    pub reconnects: u64,
    /// Binary and text frames received.
    pub frames_received: u64,
    /// Frames applied to the world.
    pub frames_applied: u64,
    /// Frames replaced by a newer one before they were applied.
    pub frames_dropped: u64,
    /// Frames that were not a valid pose message.
    pub decode_errors: u64,
    /// Frames over the configured `max_message_size`.
    pub oversize_frames: u64,
    /// Frames that could not be applied (e.g. the target entity is gone).
    pub apply_errors: u64,
    /// Connections dropped because nothing was received for
    /// `idle_timeout_ms` (a silent or dead controller).
    pub idle_timeouts: u64,
    /// The most recent connection, decode or apply error (e.g. `connection
    /// lost: idle timeout: ...`).
    pub last_error: Option<String>,
    /// Milliseconds since the newest frame was applied.
    pub pose_age_ms: Option<f64>,
    /// Frames received per second on the current connection, over those
    /// of the last 2 seconds (at most the newest 256): `(n - 1) / (newest -
    /// oldest)`. `None` with fewer than two frames in that window, so it
    /// goes back to `None` 2 s after the stream stops.
    pub arrival_fps: Option<f64>,
    /// Jitter of the frames' arrival on the current connection, in
    /// milliseconds: the smoothed mean deviation of each interval between
    /// two arrivals from the smoothed mean interval (both moving averages
    /// with gain 1/16, as RFC 3550's jitter), so 0 for a steady stream.
    /// `None` before the connection's third frame.
    pub arrival_jitter_ms: Option<f64>,
    /// Capture-to-applied latency of the newest frame that carried a capture
    /// time, in milliseconds (as far as the two machines' clocks agree).
    pub latency_ms: Option<f64>,
    /// Mean of `latency_ms` over every frame that carried a capture time.
    pub latency_mean_ms: Option<f64>,
}
