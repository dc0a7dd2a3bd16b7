//! The native `App` and `Session` classes: thin handles on the core's.

use crate::{Install, error, wait};
use brp::Response;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The `install` of the module this library is built into (a `cdylib`
/// holds one), set when the module is initialised, before its classes exist.
static INSTALL: OnceLock<Install> = OnceLock::new();

/// Sets the module's `install`; a module initialised again keeps it.
pub(crate) fn set_install(install: Install) {
    INSTALL.get_or_init(|| install);
}

/// An embedded Bevy world that answers BRP requests (`brp::Host`).
///
/// Safe to share between threads: the core orders every request with one
/// lock, and the GIL is released while it works.
#[pyclass(module = "brp._native", frozen)]
pub(crate) struct App {
    pub(crate) inner: brp::Host,
}

#[pymethods]
impl App {
    /// Makes a world from the JSON text of its config (`None` or `""` for
    /// the default), e.g. `{"components": ["Position"], "auto_declare": false}`:
    /// the built-in contents (the pose components among them), then what
    /// the module's `install` adds.
    #[new]
    #[pyo3(signature = (config_json = None))]
    fn new(py: Python<'_>, config_json: Option<&str>) -> PyResult<Self> {
        // The module sets it before it adds this class, so it is always set.
        let install = INSTALL.get().copied();
        let config = config_json.unwrap_or("");
        py.detach(|| {
            let install = install
                .ok_or_else(|| brp::BrpError::internal("the native module was not initialised"))?;
            brp::Host::build_with(brp::Config::from_json(config)?, install)
        })
        .map(|inner| Self { inner })
        .map_err(|e| error::to_py(py, &e))
    }

    /// Answers one request given as JSON text with the response's JSON text.
    /// A bad request gets an error response; this never raises for it. An
    /// exception a signal handler raises while a POLL waits
    /// (`KeyboardInterrupt`) cancels the POLL and propagates.
    fn request(&self, py: Python<'_>, request_json: &str) -> PyResult<String> {
        wait::interruptible(py, |interrupted| {
            (self.inner)
                .respond_interruptible(request_json, interrupted)
                .into_text()
        })
    }

    /// Declares a dynamic component called `name` (a no-op if it exists).
    fn declare_component(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        py.detach(|| self.inner.declare_component(name))
            .map_err(|e| error::to_py(py, &e))
    }

    /// Runs the world's schedule once and advances its change tick.
    fn update(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.update())
            .map_err(|e| error::to_py(py, &e))
    }

    /// A new session: its own request-id scope on this world.
    fn session(&self) -> Session {
        Session {
            inner: self.inner.session(),
        }
    }

    /// Cancels every parked POLL (they answer CANCELLED) and refuses new ones.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close());
    }

    /// Starts an HTTP and WebSocket server of this world, configured by the
    /// JSON text of `brp::server::ServerConfig` (`None` or `""` for the
    /// default); it is listening when this returns.
    #[pyo3(signature = (config_json = None))]
    fn serve(&self, py: Python<'_>, config_json: Option<&str>) -> PyResult<crate::server::Server> {
        let config = config_json.unwrap_or("");
        py.detach(|| {
            let config = brp::server::ServerConfig::from_json(config)?;
            brp::server::Server::start(&self.inner, config)
        })
        .map(crate::server::Server::new)
        .map_err(|e| error::to_py(py, &e))
    }

    /// Applies one controller frame (FlatBuffers or JSON bytes) to the
    /// target given as JSON text (`None`: the entity named `Player`).
    #[pyo3(signature = (frame, target_json = None))]
    fn push_pose(&self, py: Python<'_>, frame: &[u8], target_json: Option<&str>) -> PyResult<()> {
        py.detach(|| {
            let target = brp::pose::Target::from_json(target_json.unwrap_or(""))?;
            brp::pose::push_frame(&self.inner, &target, frame)
        })
        .map_err(|e| error::to_py(py, &e))
    }
}

/// One client's request-id scope on an `App` (`brp::Session`).
///
/// Dropping it closes it, with the GIL released so running callbacks finish.
#[pyclass(module = "brp._native", frozen)]
pub(crate) struct Session {
    inner: brp::Session,
}

#[pymethods]
impl Session {
    /// Answers one request given as JSON text, like `App.request`; a request
    /// whose id is in flight in this session is answered with an error.
    fn request(&self, py: Python<'_>, request_json: &str) -> PyResult<String> {
        wait::interruptible(py, |interrupted| {
            (self.inner)
                .respond_interruptible(request_json, interrupted)
                .into_text()
        })
    }

    /// Submits one request like `submit`, but returns the answer's JSON text
    /// of a request refused before it is carried out (unreadable, its id in
    /// flight, the session closed) instead of delivering it; else `None`.
    fn try_submit(&self, py: Python<'_>, request_json: &str) -> Option<String> {
        py.detach(|| self.inner.try_submit(request_json).err())
            .map(|refused| refused.into_text())
    }

    /// Submits one request without waiting; its response's JSON text comes
    /// later from `receive` or the callback.
    fn submit(&self, py: Python<'_>, request_json: &str) {
        py.detach(|| self.inner.submit(request_json));
    }

    /// The next submitted response's JSON text, waiting up to `timeout`
    /// seconds (`None`: for ever); `None` on timeout or once closed and drained.
    #[pyo3(signature = (timeout = None))]
    fn receive(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<String>> {
        let timeout = timeout
            .map(|seconds| {
                Duration::try_from_secs_f64(seconds).map_err(|_| {
                    PyValueError::new_err(format!(
                        "timeout must be a finite number of seconds >= 0, got {seconds}"
                    ))
                })
            })
            .transpose()?;
        Ok(wait::receive(py, &self.inner, timeout)?
            .ok()
            .map(brp::Response::into_text))
    }

    /// Sends each submitted response's JSON text to `callback` (called with
    /// the GIL on the thread that completes the request) instead of the
    /// queue; `None` restores the queue. Exceptions it raises are reported
    /// as unraisable, never propagated.
    #[pyo3(signature = (callback))]
    fn set_callback(&self, py: Python<'_>, callback: Option<Py<PyAny>>) -> PyResult<()> {
        if let Some(callable) = &callback
            && !callable.bind(py).is_callable()
        {
            return Err(PyTypeError::new_err(
                "the callback must be callable or None",
            ));
        }
        let callback = callback.map(|callable| -> brp::Callback {
            Arc::new(move |response: Response| {
                let text = response.into_text();
                // Nothing can receive a response once the interpreter is gone.
                let _ = Python::try_attach(|py| {
                    if let Err(failure) = callable.call1(py, (text,)) {
                        failure.write_unraisable(py, Some(callable.bind(py)));
                    }
                });
            })
        });
        py.detach(|| self.inner.set_callback(callback));
        Ok(())
    }

    /// Cancels this session's parked POLL `id` (it answers CANCELLED);
    /// `False` if no such POLL is parked.
    fn cancel(&self, py: Python<'_>, id: u64) -> bool {
        py.detach(|| self.inner.cancel(id))
    }

    /// Cancels the session's parked POLLs (their responses are delivered
    /// first), refuses further requests and waits for running callbacks.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let inner = &self.inner;
        if Python::try_attach(|py| py.detach(|| inner.close())).is_none() {
            inner.close();
        }
    }
}
