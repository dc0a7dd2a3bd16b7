//! The live counters behind a client's [`Stats`], and the throttle of its
//! log messages.

use super::stats::{ConnectionState, Stats};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How far back [`Stats::arrival_fps`] looks.
const RATE_WINDOW: Duration = Duration::from_secs(2);
/// How many arrivals [`Stats::arrival_fps`] looks at, at most (the newest):
/// the window is shorter than [`RATE_WINDOW`] above 128 frames per second.
const RATE_SAMPLES: usize = 256;
/// The gain of the moving averages behind [`Stats::arrival_jitter_ms`]
/// (RFC 3550's 1/16).
const JITTER_GAIN: f64 = 1.0 / 16.0;

/// The live counters behind [`Stats`], shared by a client's threads.
pub(crate) struct Recorder {
    inner: Mutex<Inner>,
}

struct Inner {
    stats: Stats,
    applied_at: Option<Instant>,
    latency_sum_ms: f64,
    latency_count: u64,
    arrivals: Arrivals,
}

/// The arrival times of the current connection's frames: as many as
/// [`Stats::arrival_fps`] needs, and the moving averages of their
/// intervals.
struct Arrivals {
    /// The newest arrivals within [`RATE_WINDOW`], at most
    /// [`RATE_SAMPLES`], oldest first.
    recent: VecDeque<Instant>,
    /// The newest arrival, also once it left the window.
    previous: Option<Instant>,
    /// The smoothed interval between arrivals, in milliseconds.
    mean_interval_ms: Option<f64>,
    /// The smoothed deviation of the intervals from `mean_interval_ms`.
    jitter_ms: Option<f64>,
}

impl Arrivals {
    fn new() -> Self {
        Self {
            recent: VecDeque::with_capacity(RATE_SAMPLES),
            previous: None,
            mean_interval_ms: None,
            jitter_ms: None,
        }
    }

    /// Forgets everything: a new connection starts a new stream.
    fn clear(&mut self) {
        self.recent.clear();
        self.previous = None;
        self.mean_interval_ms = None;
        self.jitter_ms = None;
    }

    fn record(&mut self, at: Instant) {
        if let Some(previous) = self.previous.replace(at) {
            let interval_ms = at.saturating_duration_since(previous).as_secs_f64() * 1e3;
            match self.mean_interval_ms {
                None => self.mean_interval_ms = Some(interval_ms),
                Some(mean) => {
                    let deviation = (interval_ms - mean).abs();
                    let jitter = self.jitter_ms.unwrap_or(0.0);
                    self.jitter_ms = Some(jitter + JITTER_GAIN * (deviation - jitter));
                    self.mean_interval_ms = Some(mean + JITTER_GAIN * (interval_ms - mean));
                }
            }
        }
        if self.recent.len() == RATE_SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(at);
        self.forget_before(at);
    }

    /// Drops the arrivals older than [`RATE_WINDOW`] before `now`.
    fn forget_before(&mut self, now: Instant) {
        while let Some(&oldest) = self.recent.front()
            && now.saturating_duration_since(oldest) > RATE_WINDOW
        {
            self.recent.pop_front();
        }
    }

    /// Frames per second over the window, as of `now`.
    fn fps(&mut self, now: Instant) -> Option<f64> {
        self.forget_before(now);
        let (&oldest, &newest) = (self.recent.front()?, self.recent.back()?);
        let span = newest.saturating_duration_since(oldest).as_secs_f64();
        (span > 0.0).then(|| (self.recent.len() - 1) as f64 / span)
    }
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
                    arrival_fps: None,
                    arrival_jitter_ms: None,
                    latency_ms: None,
                    latency_mean_ms: None,
                },
                applied_at: None,
                latency_sum_ms: 0.0,
                latency_count: 0,
                arrivals: Arrivals::new(),
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

    /// Records an established connection: counted, the state is
    /// [`ConnectionState::Connected`] (unless stopped), and the arrival
    /// timing starts over.
    pub(crate) fn connected(&self) {
        let mut inner = self.lock();
        inner.stats.connections += 1;
        if inner.stats.state != ConnectionState::Stopped {
            inner.stats.state = ConnectionState::Connected;
        }
        inner.arrivals.clear();
    }

    /// Records a frame (binary or text) received at `at`.
    pub(crate) fn received(&self, at: Instant) {
        let mut inner = self.lock();
        inner.stats.frames_received += 1;
        inner.arrivals.record(at);
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
        self.snapshot_at(Instant::now())
    }

    /// The statistics as of `now`.
    fn snapshot_at(&self, now: Instant) -> Stats {
        let mut inner = self.lock();
        let arrival_fps = inner.arrivals.fps(now);
        Stats {
            pose_age_ms: inner
                .applied_at
                .map(|at| now.saturating_duration_since(at).as_secs_f64() * 1e3),
            arrival_fps,
            arrival_jitter_ms: inner.arrivals.jitter_ms,
            latency_mean_ms: (inner.latency_count > 0)
                .then(|| inner.latency_sum_ms / inner.latency_count as f64),
            ..inner.stats.clone()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How many messages of one kind a [`Throttle`] lets through at once.
const LOG_BURST: f64 = 10.0;
/// How many messages of one kind a [`Throttle`] lets through per second
/// after a burst.
const LOG_PER_SECOND: f64 = 1.0;

/// Limits the log messages of one kind (a kind of per-frame error, or the
/// connection's messages), so that a controller sending bad frames or
/// dropping connections cannot flood the log: a token bucket that lets the
/// first 10 through, then one per second (10 again after 10 quiet seconds).
/// Each message let through tells how many were held back since the
/// previous one; the statistics count every event regardless.
#[derive(Debug)]
pub(crate) struct Throttle {
    tokens: f64,
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    pub(crate) const fn new() -> Self {
        Self {
            tokens: LOG_BURST,
            last: None,
            held: 0,
        }
    }

    /// Whether to log an error that happened at `now`: `Some` with the
    /// count held back before it, or `None` (it is held back).
    pub(crate) fn admit(&mut self, now: Instant) -> Option<HeldBack> {
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * LOG_PER_SECOND;
            self.tokens = (self.tokens + refill).min(LOG_BURST);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(HeldBack(std::mem::take(&mut self.held)))
        } else {
            self.held += 1;
            None
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

/// How many messages a [`Throttle`] held back before the one it let
/// through; displays as a suffix of that message (empty for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeldBack(pub(crate) u64);

impl std::fmt::Display for HeldBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(
                f,
                " ({n} similar messages not logged since the previous one)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_steady_stream_has_its_rate_and_no_jitter() {
        let recorder = Recorder::new();
        let start = Instant::now();
        recorder.connected();
        assert_eq!(recorder.snapshot_at(start).arrival_fps, None);
        // 50 frames per second, for 3 s: the window holds the last 2 s.
        for i in 0..150 {
            recorder.received(start + 20 * MS * i);
        }
        let now = start + 20 * MS * 149;
        let stats = recorder.snapshot_at(now);
        assert_eq!(stats.frames_received, 150);
        assert!(
            (stats.arrival_fps.unwrap_or_default() - 50.0).abs() < 1e-9,
            "{stats:?}"
        );
        assert_eq!(stats.arrival_jitter_ms, Some(0.0));
        // Silence: the same rate until its frames leave the window.
        assert_eq!(
            recorder.snapshot_at(now + 1000 * MS).arrival_fps,
            stats.arrival_fps
        );
        assert_eq!(recorder.snapshot_at(now + 2001 * MS).arrival_fps, None);
        assert_eq!(
            recorder.snapshot_at(now + 2001 * MS).arrival_jitter_ms,
            Some(0.0)
        );
        // The frame after the silence: its 3 s interval is 2980 ms off the
        // mean (a snapshot between changes nothing), and alone in the window.
        recorder.received(now + 3000 * MS);
        let stats = recorder.snapshot_at(now + 3000 * MS);
        assert_eq!(stats.arrival_jitter_ms, Some(2980.0 / 16.0));
        assert_eq!(stats.arrival_fps, None);
    }

    #[test]
    fn irregular_arrivals_have_jitter_and_a_new_connection_starts_over() {
        let recorder = Recorder::new();
        let start = Instant::now();
        recorder.connected();
        recorder.received(start);
        recorder.received(start + 10 * MS);
        assert_eq!(
            recorder.snapshot_at(start + 10 * MS).arrival_jitter_ms,
            None
        );
        // Intervals of 10 and 30 ms in turn: a mean of 20 ms (50 per
        // second), each interval 10 ms away from it.
        let mut at = start + 10 * MS;
        for i in 0..400 {
            at += if i % 2 == 0 { 30 * MS } else { 10 * MS };
            recorder.received(at);
        }
        let stats = recorder.snapshot_at(at);
        let jitter = stats.arrival_jitter_ms.unwrap_or_default();
        assert!((9.0..=11.0).contains(&jitter), "{stats:?}");
        let fps = stats.arrival_fps.unwrap_or_default();
        assert!((fps - 50.0).abs() < 0.5, "{stats:?}");

        // The gap to a new connection is no interval of its stream.
        recorder.connected();
        let stats = recorder.snapshot_at(at);
        assert_eq!((stats.arrival_fps, stats.arrival_jitter_ms), (None, None));
        assert_eq!(
            (stats.connections, stats.state),
            (2, ConnectionState::Connected)
        );
        for i in 1..=3 {
            recorder.received(at + 10_000 * MS + 25 * MS * i);
        }
        let stats = recorder.snapshot_at(at + 10_000 * MS + 75 * MS);
        assert_eq!(stats.arrival_fps, Some(40.0));
        assert_eq!(stats.arrival_jitter_ms, Some(0.0));
    }

    #[test]
    fn a_flood_keeps_a_bounded_window() {
        let recorder = Recorder::new();
        let start = Instant::now();
        recorder.connected();
        // 10,000 frames 100 µs apart: the rate comes from the newest 256.
        for i in 0..10_000 {
            recorder.received(start + Duration::from_micros(100) * i);
        }
        let end = start + Duration::from_micros(100) * 9_999;
        let inner = recorder.lock();
        assert_eq!(inner.arrivals.recent.len(), RATE_SAMPLES);
        assert_eq!(inner.arrivals.recent.capacity(), RATE_SAMPLES);
        drop(inner);
        let fps = recorder.snapshot_at(end).arrival_fps.unwrap_or_default();
        assert!((fps - 10_000.0).abs() < 1e-6, "{fps}");
    }

    #[test]
    fn the_throttle_lets_a_burst_through_then_one_a_second() {
        let mut throttle = Throttle::new();
        let start = Instant::now();
        // 1000 errors in the first second: 10 logged, the rest held back.
        let logged: Vec<_> = (0..1000)
            .filter_map(|i| throttle.admit(start + MS * i))
            .collect();
        assert_eq!(logged, vec![HeldBack(0); 10]);
        // Then one per second, telling how many were held back.
        assert_eq!(throttle.admit(start + 1500 * MS), Some(HeldBack(990)));
        assert_eq!(throttle.admit(start + 1600 * MS), None);
        assert_eq!(throttle.admit(start + 2600 * MS), Some(HeldBack(1)));
        // After a quiet spell, a burst again.
        let later = start + 60_000 * MS;
        let logged = (0..20).filter(|_| throttle.admit(later).is_some()).count();
        assert_eq!(logged, 10);
        assert_eq!(HeldBack(0).to_string(), "");
        assert_eq!(
            HeldBack(3).to_string(),
            " (3 similar messages not logged since the previous one)"
        );
    }

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
