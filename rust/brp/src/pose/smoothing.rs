//! [`Smoothing`]: the One Euro filter (Casiez, Roussel and Vogel, CHI 2012)
//! applied to the landmarks of a pose stream.
//!
//! A One Euro filter is a first-order low-pass filter whose cutoff
//! frequency rises with the signal's speed: at rest it smooths hard (low
//! cutoff, little jitter), in motion it follows closely (high cutoff,
//! little lag). Per sample, with `dt` the time since the previous one:
//!
//! ```text
//! alpha(f)  = 1 / (1 + 1 / (2π f dt))             smoothing factor of cutoff f
//! speed     = (x - x̂_prev) / dt                   (the paper's derivative)
//! ŝ         = ŝ_prev + alpha(d_cutoff) (speed - ŝ_prev)
//! cutoff    = min_cutoff + beta |ŝ|
//! x̂         = x̂_prev + alpha(cutoff) (x - x̂_prev)
//! ```
//!
//! After settling on a ramp of speed `v`, the filtered value trails the
//! input by at most `v / (2π (min_cutoff + beta v))`, which is below
//! `1 / (2π beta)` at any speed (and `v / (2π min_cutoff)` when `beta` is
//! 0): with the defaults, under 0.016 (1.6% of the image).

use crate::error::{BrpError, BrpResult};
use crate::world::pose::Landmark;
use bevy_ecs::component::Component;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Settings of the One Euro filter that smooths each landmark's `x`, `y`
/// and `z` (`visibility` and `presence` are not filtered). JSON, every
/// field optional:
///
/// ```json
/// {"min_cutoff": 1.0, "beta": 10.0, "d_cutoff": 1.0}
/// ```
///
/// The defaults are those of the paper and of MediaPipe's `OneEuroFilter`
/// for the cutoffs (1 Hz each), and a `beta` for coordinates normalized to
/// the image: the paper's example value (0.007) is per pixel per second of a
/// mouse pointer, and MediaPipe's pose graph (80) is per body size per
/// second, for values it rescales by the body's size. In image units, 10
/// keeps a still body's jitter down (cutoff near 1 Hz) and limits the lag of
/// a moving landmark to under 1.6% of the image at any speed (about 15 ms
/// of motion at one image width per second).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smoothing {
    /// The cutoff frequency at rest, in Hz (> 0; default 1.0). Lower: less
    /// jitter, more lag at low speeds.
    pub min_cutoff: f64,
    /// How much the cutoff rises with speed, in Hz per (image unit per
    /// second) (>= 0; default 10.0). Higher: less lag in fast motion, more
    /// jitter. 0 makes a plain low-pass filter of `min_cutoff`.
    pub beta: f64,
    /// The cutoff frequency of the speed estimate, in Hz (> 0; default
    /// 1.0).
    pub d_cutoff: f64,
}

impl Default for Smoothing {
    fn default() -> Self {
        Self {
            min_cutoff: 1.0,
            beta: 10.0,
            d_cutoff: 1.0,
        }
    }
}

impl Smoothing {
    /// Checks that the settings make a filter: finite numbers, positive
    /// cutoffs and a `beta` of at least 0 ([`ErrorCode::InvalidParams`]
    /// naming the field otherwise).
    ///
    /// [`ErrorCode::InvalidParams`]: crate::ErrorCode::InvalidParams
    pub(crate) fn validate(&self) -> BrpResult<()> {
        let check = |name: &str, value: f64, ok: bool, expected: &str| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(BrpError::invalid_params(format!(
                    "smoothing.{name} must be {expected}, got {value}"
                )))
            }
        };
        let positive = "a finite number of Hz above 0";
        check(
            "min_cutoff",
            self.min_cutoff,
            self.min_cutoff > 0.0,
            positive,
        )?;
        check("beta", self.beta, self.beta >= 0.0, "a finite number >= 0")?;
        check("d_cutoff", self.d_cutoff, self.d_cutoff > 0.0, positive)
    }
}

/// One coordinate's filter state.
#[derive(Debug, Clone, Copy)]
struct Axis {
    /// The filtered value, `x̂`.
    value: f64,
    /// The filtered speed, `ŝ`, in units per second.
    speed: f64,
}

impl Axis {
    fn new(value: f32) -> Self {
        Self {
            value: f64::from(value),
            speed: 0.0,
        }
    }

    /// Filters `x` taken `dt` seconds after the previous sample.
    fn filter(&mut self, settings: &Smoothing, dt: f64, speed_alpha: f64, x: &mut f32) {
        let raw = f64::from(*x);
        self.speed += speed_alpha * ((raw - self.value) / dt - self.speed);
        let cutoff = settings.min_cutoff + settings.beta * self.speed.abs();
        self.value += alpha(cutoff, dt) * (raw - self.value);
        // Between two f32 inputs (or equal to one), so it fits an f32.
        *x = self.value as f32;
    }
}

/// The smoothing factor of a first-order low-pass filter of `cutoff` Hz for
/// a sample `dt` seconds after the previous one.
fn alpha(cutoff: f64, dt: f64) -> f64 {
    let tau = 1.0 / (TAU * cutoff);
    1.0 / (1.0 + tau / dt)
}

/// The One Euro filters of one person's landmarks: one per coordinate
/// (`x`, `y`, `z`) of each landmark, by index. It lives on the person's
/// entity and is not reflected, so requests do not see it.
///
/// The first frame passes through unfiltered and starts the filters. So
/// does, starting them over, a frame whose landmark count differs from the
/// previous one's (another detector or model), and one whose time is not
/// after the previous frame's (the same or an earlier time: a repeated
/// frame or a restarted controller), since no speed can be estimated from
/// it. The state takes room for as many landmarks as the largest frame
/// seen, and no more.
#[derive(Debug, Component)]
pub(crate) struct LandmarkFilter {
    settings: Smoothing,
    /// The time of the previous frame, in seconds; meaningless while
    /// `axes` is empty.
    time_s: f64,
    /// The state of each landmark's `x`, `y` and `z`; empty before the
    /// first frame.
    axes: Vec<[Axis; 3]>,
}

impl LandmarkFilter {
    /// A filter with `settings` (already validated) that has seen no frame.
    pub(crate) fn new(settings: Smoothing) -> Self {
        Self {
            settings,
            time_s: 0.0,
            axes: Vec::new(),
        }
    }

    /// Smooths `landmarks`, a frame taken at `time_s` seconds, in place.
    pub(crate) fn apply(&mut self, time_s: f64, landmarks: &mut [Landmark]) {
        let dt = time_s - self.time_s;
        let later = dt > 0.0; // false for a NaN time too
        if self.axes.is_empty() || self.axes.len() != landmarks.len() || !later {
            self.restart(time_s, landmarks);
            return;
        }
        self.time_s = time_s;
        let settings = &self.settings;
        let speed_alpha = alpha(settings.d_cutoff, dt);
        for (landmark, [x, y, z]) in landmarks.iter_mut().zip(&mut self.axes) {
            x.filter(settings, dt, speed_alpha, &mut landmark.x);
            y.filter(settings, dt, speed_alpha, &mut landmark.y);
            z.filter(settings, dt, speed_alpha, &mut landmark.z);
        }
    }

    /// Starts over from `landmarks` as they are, at rest.
    fn restart(&mut self, time_s: f64, landmarks: &[Landmark]) {
        self.time_s = time_s;
        self.axes.clear();
        self.axes.extend(
            landmarks
                .iter()
                .map(|l| [Axis::new(l.x), Axis::new(l.y), Axis::new(l.z)]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// A deterministic pseudo-random sequence uniform in [-1, 1) (a 64-bit
    /// linear congruential generator, Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    const FPS: f64 = 30.0;

    /// Runs a one-landmark signal `x(t)` (with `y` and `z` as `x`) through a
    /// default filter at [`FPS`] for `seconds`; the raw and filtered `x`.
    fn run(seconds: f64, mut signal: impl FnMut(f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let mut filter = LandmarkFilter::new(Smoothing::default());
        let (mut raw, mut filtered) = (Vec::new(), Vec::new());
        for i in 0..(seconds * FPS) as usize {
            let t = i as f64 / FPS;
            let x = signal(t) as f32;
            let mut frame = [Landmark {
                x,
                y: x,
                z: x,
                visibility: 0.5,
                presence: 0.25,
            }];
            filter.apply(t, &mut frame);
            assert_eq!((frame[0].visibility, frame[0].presence), (0.5, 0.25));
            assert_eq!((frame[0].y, frame[0].z), (frame[0].x, frame[0].x));
            raw.push(f64::from(x));
            filtered.push(f64::from(frame[0].x));
        }
        (raw, filtered)
    }

    /// The root mean square of the differences of successive samples.
    fn step_rms(samples: &[f64]) -> f64 {
        let sum: f64 = samples.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
        (sum / (samples.len() - 1) as f64).sqrt()
    }

    #[test]
    fn jitter_at_rest_is_reduced() {
        let mut noise = Lcg(7);
        // About MediaPipe's jitter on a still body: ±0.5% of the image.
        let (raw, filtered) = run(10.0, |_| 0.5 + 0.005 * noise.next());
        let (raw, filtered) = (step_rms(&raw[30..]), step_rms(&filtered[30..]));
        assert!(filtered * 3.0 <= raw, "raw {raw}, filtered {filtered}");
    }

    #[test]
    fn a_noisy_sine_is_followed_with_less_jitter() {
        let mut noise = Lcg(11);
        let truth = |t: f64| 0.5 + 0.2 * (TAU * 0.5 * t).sin();
        let (raw, filtered) = run(10.0, |t| truth(t) + 0.005 * noise.next());
        // Smoother than the input, the more so the slower it moves...
        assert!(step_rms(&filtered[30..]) < step_rms(&raw[30..]));
        // ...and never far behind: the top speed is 0.2 * π per second, so
        // the lag is below 0.2π / (2π (1 + 10 * 0.2π)) = 0.014, plus noise.
        for (i, x) in filtered.iter().enumerate().skip(30) {
            let error = (x - truth(i as f64 / FPS)).abs();
            assert!(error < 0.02, "frame {i}: off by {error}");
        }
        let (low, high) = filtered[30..]
            .iter()
            .fold((1.0f64, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        assert!(low < 0.32 && high > 0.68, "flattened to [{low}, {high}]");
    }

    #[test]
    fn the_lag_on_a_ramp_is_bounded() {
        let settings = Smoothing::default();
        for speed in [0.1, 0.5, 2.0] {
            let (raw, filtered) = run(3.0, |t| 0.1 + speed * t);
            let bound = speed / (TAU * (settings.min_cutoff + settings.beta * speed));
            assert!(bound < 1.0 / (TAU * settings.beta));
            for i in (FPS as usize)..raw.len() {
                let lag = raw[i] - filtered[i];
                assert!(
                    (0.0..=bound + 1e-6).contains(&lag),
                    "speed {speed}, frame {i}: lag {lag} over {bound}"
                );
            }
        }
    }

    fn landmarks(values: &[f32]) -> Vec<Landmark> {
        values
            .iter()
            .map(|&x| Landmark {
                x,
                y: -x,
                z: x / 2.0,
                ..Landmark::default()
            })
            .collect()
    }

    #[test]
    fn the_first_frame_passes_through_and_a_later_one_is_filtered() {
        let mut filter = LandmarkFilter::new(Smoothing::default());
        let mut first = landmarks(&[0.1, 0.2]);
        filter.apply(1.0, &mut first);
        assert_eq!(first, landmarks(&[0.1, 0.2]));
        let mut second = landmarks(&[0.3, 0.4]);
        filter.apply(1.1, &mut second);
        for (got, raw) in second.iter().zip(landmarks(&[0.3, 0.4])) {
            assert!(got.x > 0.1 && got.x < raw.x, "{got:?}");
            assert!(got.y < -0.1 && got.y > raw.y, "{got:?}");
            assert!(got.z > 0.05 && got.z < raw.z, "{got:?}");
        }
    }

    #[test]
    fn a_new_count_or_a_time_not_after_the_last_starts_over() {
        let mut filter = LandmarkFilter::new(Smoothing::default());
        filter.apply(1.0, &mut landmarks(&[0.1, 0.2]));
        // Another count: through, and the start of the next filtering.
        let mut three = landmarks(&[0.5, 0.5, 0.5]);
        filter.apply(1.1, &mut three);
        assert_eq!(three, landmarks(&[0.5, 0.5, 0.5]));
        assert_eq!(filter.axes.len(), 3);
        let mut next = landmarks(&[0.9, 0.9, 0.9]);
        filter.apply(1.2, &mut next);
        assert!(next[0].x > 0.5 && next[0].x < 0.9);
        // The same time, an earlier one, and NaN: through, starting over.
        for time in [1.2, 0.5, f64::NAN] {
            let mut again = landmarks(&[0.2, 0.2, 0.2]);
            filter.apply(time, &mut again);
            assert_eq!(again, landmarks(&[0.2, 0.2, 0.2]), "time {time}");
        }
        // Fewer landmarks keep the room already taken.
        let capacity = filter.axes.capacity();
        filter.apply(2.0, &mut landmarks(&[0.2]));
        assert_eq!((filter.axes.len(), filter.axes.capacity()), (1, capacity));
        // An empty frame is a count too.
        filter.apply(2.1, &mut []);
        let mut one = landmarks(&[0.7]);
        filter.apply(2.2, &mut one);
        assert_eq!(one, landmarks(&[0.7]));
    }

    #[test]
    fn json_defaults_and_validation() {
        let parse = |text: &str| serde_json::from_str::<Smoothing>(text);
        assert_eq!(parse("{}").ok(), Some(Smoothing::default()));
        let some = parse(r#"{"min_cutoff": 1.0, "beta": 0.007, "d_cutoff": 1.0}"#);
        assert_eq!(some.ok().map(|s| s.beta), Some(0.007));
        assert!(parse(r#"{"mincutoff": 1}"#).is_err());
        assert_eq!(Smoothing::default().validate(), Ok(()));
        let zero_beta = Smoothing {
            beta: 0.0,
            ..Smoothing::default()
        };
        assert_eq!(zero_beta.validate(), Ok(()));

        let bad = [
            (
                "min_cutoff",
                0.0,
                "smoothing.min_cutoff must be a finite number of Hz above 0, got 0",
            ),
            (
                "min_cutoff",
                f64::INFINITY,
                "smoothing.min_cutoff must be a finite number of Hz above 0, got inf",
            ),
            (
                "beta",
                -1.0,
                "smoothing.beta must be a finite number >= 0, got -1",
            ),
            (
                "beta",
                f64::NAN,
                "smoothing.beta must be a finite number >= 0, got NaN",
            ),
            (
                "d_cutoff",
                -0.5,
                "smoothing.d_cutoff must be a finite number of Hz above 0, got -0.5",
            ),
        ];
        for (field, value, message) in bad {
            let mut settings = Smoothing::default();
            match field {
                "min_cutoff" => settings.min_cutoff = value,
                "beta" => settings.beta = value,
                _ => settings.d_cutoff = value,
            }
            let error = settings.validate().expect_err(message);
            assert_eq!(error.code, ErrorCode::InvalidParams);
            assert_eq!(error.message, message);
        }
    }
}
