//! The native `PoseClient`: a handle on `brp::pose::PoseClient`.

use crate::app::App;
use crate::error;
use brp::pose::{ClientConfig, ConnectionState, FrameEvent, FrameObserver, Stats};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often `wait_connected` looks at the connection state.
const CONNECTED_CHECK: Duration = Duration::from_millis(5);

/// A pose stream from one controller into one `App`, configured by the JSON
/// text of `brp::pose::ClientConfig`. Dropping it stops it.
#[pyclass(module = "brp._native", frozen)]
pub(crate) struct PoseClient {
    /// Shared by every thread without a lock of its own: stopping waits for
    /// `on_frame`, which may read the stats meanwhile (so no lock may be
    /// held while stopping that reading the stats needs).
    inner: brp::pose::PoseClient,
}

#[pymethods]
impl PoseClient {
    /// Starts connecting to the configured controller in the background.
    /// `on_frame`, if given, is called with a dict per applied frame (with
    /// the GIL, on the client's network thread); exceptions it raises are
    /// reported as unraisable.
    #[new]
    #[pyo3(signature = (app, config_json, on_frame=None))]
    fn new(
        py: Python<'_>,
        app: &App,
        config_json: &str,
        on_frame: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        if let Some(callable) = &on_frame
            && !callable.bind(py).is_callable()
        {
            return Err(PyTypeError::new_err("on_frame must be callable or None"));
        }
        let observer = on_frame.map(|callable| -> FrameObserver {
            Arc::new(move |event: &FrameEvent| {
                // Nothing can observe a frame once the interpreter is gone.
                let _ = Python::try_attach(|py| {
                    let called =
                        event_dict(py, event).and_then(|event| callable.call1(py, (event,)));
                    if let Err(failure) = called {
                        failure.write_unraisable(py, Some(callable.bind(py)));
                    }
                });
            })
        });
        py.detach(|| {
            let config = ClientConfig::from_json(config_json)?;
            match observer {
                Some(observer) => {
                    brp::pose::PoseClient::start_with_observer(&app.inner, config, observer)
                }
                None => brp::pose::PoseClient::start(&app.inner, config),
            }
        })
        .map(|inner| Self { inner })
        .map_err(|e| error::to_py(py, &e))
    }

    /// The statistics as of now, as a dict; never waits for `stop` (so
    /// `on_frame` may call it while another thread stops the client), and
    /// still works after it (`state` is then `"stopped"`).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = py.detach(|| self.inner.stats());
        stats_dict(py, &stats)
    }

    /// Waits up to `timeout` seconds for the connection to be up; whether it is.
    fn wait_connected(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err(format!(
                "timeout must be a finite number of seconds >= 0, got {timeout}"
            ))
        })?;
        let deadline = Instant::now() + timeout;
        loop {
            let state = py.detach(|| self.inner.stats().state);
            if state == ConnectionState::Connected {
                return Ok(true);
            }
            if state == ConnectionState::Stopped || Instant::now() >= deadline {
                return Ok(false);
            }
            py.detach(|| std::thread::sleep(CONNECTED_CHECK));
            py.check_signals()?;
        }
    }

    /// Disconnects and stops; no frame applies after this returns. Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }
}

impl Drop for PoseClient {
    /// Stops with the GIL released: the network thread may be waiting for it
    /// in an `on_frame` or session callback, and stopping waits for it.
    fn drop(&mut self) {
        let client = &self.inner;
        if Python::try_attach(|py| py.detach(|| client.stop())).is_none() {
            client.stop();
        }
    }
}

/// `event` as a dict keyed like its JSON.
fn event_dict<'py>(py: Python<'py>, event: &FrameEvent) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("detected", event.detected)?;
    dict.set_item("sequence", event.sequence)?;
    dict.set_item("timestamp", event.timestamp)?;
    dict.set_item("capture_time_ns", event.capture_time_ns)?;
    dict.set_item("latency_ms", event.latency_ms)?;
    Ok(dict)
}

/// `stats` as a dict keyed like the statistics' JSON.
fn stats_dict<'py>(py: Python<'py>, stats: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let state = match stats.state {
        ConnectionState::Connecting => "connecting",
        ConnectionState::Connected => "connected",
        ConnectionState::Waiting => "waiting",
        ConnectionState::Stopped => "stopped",
    };
    let dict = PyDict::new(py);
    dict.set_item("state", state)?;
    dict.set_item("connections", stats.connections)?;
    dict.set_item("reconnects", stats.reconnects)?;
    dict.set_item("frames_received", stats.frames_received)?;
    dict.set_item("frames_applied", stats.frames_applied)?;
    dict.set_item("frames_dropped", stats.frames_dropped)?;
    dict.set_item("decode_errors", stats.decode_errors)?;
    dict.set_item("oversize_frames", stats.oversize_frames)?;
    dict.set_item("apply_errors", stats.apply_errors)?;
    dict.set_item("idle_timeouts", stats.idle_timeouts)?;
    dict.set_item("last_error", stats.last_error.as_deref())?;
    dict.set_item("pose_age_ms", stats.pose_age_ms)?;
    dict.set_item("arrival_fps", stats.arrival_fps)?;
    dict.set_item("arrival_jitter_ms", stats.arrival_jitter_ms)?;
    dict.set_item("latency_ms", stats.latency_ms)?;
    dict.set_item("latency_mean_ms", stats.latency_mean_ms)?;
    Ok(dict)
}
