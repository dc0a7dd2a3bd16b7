//! The native `App` and `Session` classes: thin handles on the core's.

use crate::error;
use pyo3::prelude::*;

/// An embedded Bevy world that answers BRP requests (`brp::App`).
///
/// Safe to share between threads: the core orders every request with one
/// lock, and the GIL is released while it works.
#[pyclass(module = "brp._native", frozen)]
pub struct App {
    inner: brp::App,
}

#[pymethods]
impl App {
    /// Makes a world from the JSON text of its config (`None` or `""` for
    /// the default), e.g. `{"components": ["Position"], "auto_declare": false}`.
    #[new]
    #[pyo3(signature = (config_json = None))]
    fn new(py: Python<'_>, config_json: Option<&str>) -> PyResult<Self> {
        let config = config_json.unwrap_or("");
        py.detach(|| brp::App::from_config_json(config))
            .map(|inner| Self { inner })
            .map_err(|e| error::to_py(py, &e))
    }

    /// Answers one request given as JSON text with the response's JSON text.
    /// A bad request gets an error response; this never raises for it.
    fn request(&self, py: Python<'_>, request_json: &str) -> String {
        py.detach(|| self.inner.request(request_json))
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
}

/// One client's request-id scope on an `App` (`brp::Session`).
#[pyclass(module = "brp._native", frozen)]
pub struct Session {
    inner: brp::Session,
}

#[pymethods]
impl Session {
    /// Answers one request given as JSON text, like `App.request`; a request
    /// whose id is in flight in this session is answered with an error.
    fn request(&self, py: Python<'_>, request_json: &str) -> String {
        py.detach(|| self.inner.request(request_json))
    }
}
