//! Per-client statistics.

use serde::Serialize;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
    /// Capture-to-applied latency of the newest frame that carried a capture
    /// time, in milliseconds (as far as the two machines' clocks agree).
    pub latency_ms: Option<f64>,
    /// Mean of `latency_ms` over every frame that carried a capture time.
    pub latency_mean_ms: Option<f64>,
}

/// The live counters behind [`Stats`], shared by a client's threads.
pub(crate) struct Recorder {
    inner: Mutex<Inner>,
}

struct Inner {
    stats: Stats,
    applied_at: Option<Instant>,
    latency_sum_ms: f64,
    latency_count: u64,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                stats: Stats {
                    state: ConnectionState::Connecting,
                    connections: 0,
                    reconnects: 0,
                    frames_received: 0,
                    frames_applied: 0,
                    frames_dropped: 0,
                    decode_errors: 0,
                    oversize_frames: 0,
                    apply_errors: 0,
                    idle_timeouts: 0,
                    last_error: None,
                    pose_age_ms: None,
                    latency_ms: None,
                    latency_mean_ms: None,
                },
                applied_at: None,
                latency_sum_ms: 0.0,
                latency_count: 0,
            }),
        }
    }

    /// Changes the counters.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.lock().stats);
    }

    /// Records an error: counted by `count`, and kept as the last error.
    pub(crate) fn error(&self, count: impl FnOnce(&mut Stats), message: String) {
        let stats = &mut self.lock().stats;
        count(stats);
        stats.last_error = Some(message);
    }

    /// Moves to `state`, unless the client has stopped for good.
    pub(crate) fn set_state(&self, state: ConnectionState) {
        let stats = &mut self.lock().stats;
        if stats.state != ConnectionState::Stopped {
            stats.state = state;
        }
    }

    /// Records an applied frame, stamped with `capture_time_ns` if any;
    /// returns its latency in milliseconds when stamped.
    pub(crate) fn applied(&self, capture_time_ns: Option<u64>) -> Option<f64> {
        let mut inner = self.lock();
        inner.stats.frames_applied += 1;
        inner.applied_at = Some(Instant::now());
        let captured = capture_time_ns?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let latency_ms = (now as i128 - i128::from(captured)) as f64 / 1e6;
        inner.stats.latency_ms = Some(latency_ms);
        inner.latency_sum_ms += latency_ms;
        inner.latency_count += 1;
        Some(latency_ms)
    }

    /// The statistics as of now.
    pub(crate) fn snapshot(&self) -> Stats {
        let inner = self.lock();
        Stats {
            pose_age_ms: inner.applied_at.map(|at| at.elapsed().as_secs_f64() * 1e3),
            latency_mean_ms: (inner.latency_count > 0)
                .then(|| inner.latency_sum_ms / inner.latency_count as f64),
            ..inner.stats.clone()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_is_final_and_latency_is_averaged() {
        let recorder = Recorder::new();
        recorder.set_state(ConnectionState::Stopped);
        recorder.set_state(ConnectionState::Connecting);
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let an_hour_ago = u64::try_from(now_ns).unwrap_or(u64::MAX) - 3_600_000_000_000;
        recorder.applied(None);
        recorder.applied(Some(an_hour_ago));
        let stats = recorder.snapshot();
        assert_eq!(stats.state, ConnectionState::Stopped);
        assert_eq!(stats.frames_applied, 2);
        assert!(stats.pose_age_ms.is_some());
        let latency = stats.latency_ms.unwrap_or_default();
        assert!(latency >= 3_600_000.0, "{latency}");
        assert_eq!(stats.latency_mean_ms, stats.latency_ms);
    }
}
