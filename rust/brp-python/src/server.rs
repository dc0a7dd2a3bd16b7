//! The native `Server`: a handle on `brp::server::Server`, made by
//! `App.serve`.

use brp::server::ServerStats;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// An HTTP and WebSocket server of one `App`'s world (docs/server.md),
/// made by `App.serve`. Dropping it stops it.
#[pyclass(module = "brp._native", frozen)]
pub(crate) struct Server {
    /// Stopped only with the GIL released: stopping may wait for a
    /// connection whose log message waits for the GIL.
    inner: brp::server::Server,
    /// Its address, `"<ip>:<port>"`, read without the lock.
    address: String,
}

impl Server {
    /// The handle on `server`, which is running.
    pub(crate) fn new(server: brp::server::Server) -> Self {
        Self {
            address: server.address().to_string(),
            inner: server,
        }
    }
}

#[pymethods]
impl Server {
    /// The address it listens on, `"<ip>:<port>"` (with the port picked for
    /// port 0).
    fn address(&self) -> &str {
        &self.address
    }

    /// What it has done so far, as a dict keyed like `brp::server::ServerStats`;
    /// works after `stop`, and never waits for a `stop` under way.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    /// Stops accepting, cancels the parked POLLs and watches of its
    /// connections (they answer -23405), and returns once every connection
    /// is closed or `stop_timeout_ms` has passed. Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }
}

impl Drop for Server {
    /// Stops with the GIL released, as `stop` does.
    fn drop(&mut self) {
        let server = &self.inner;
        if Python::try_attach(|py| py.detach(|| server.stop())).is_none() {
            server.stop();
        }
    }
}

/// `stats` as a dict keyed like its JSON.
fn stats_dict<'py>(py: Python<'py>, stats: &ServerStats) -> PyResult<Bound<'py, PyDict>> {
    // Destructured, so that a new counter does not go unnoticed here.
    let ServerStats {
        connections,
        open_connections,
        refused_connections,
        requests,
        unauthorized,
        forbidden,
        oversized,
        busy,
        timeouts,
        slow_disconnects,
        accept_errors,
    } = *stats;
    let dict = PyDict::new(py);
    dict.set_item("connections", connections)?;
    dict.set_item("open_connections", open_connections)?;
    dict.set_item("refused_connections", refused_connections)?;
    dict.set_item("requests", requests)?;
    dict.set_item("unauthorized", unauthorized)?;
    dict.set_item("forbidden", forbidden)?;
    dict.set_item("oversized", oversized)?;
    dict.set_item("busy", busy)?;
    dict.set_item("timeouts", timeouts)?;
    dict.set_item("slow_disconnects", slow_disconnects)?;
    dict.set_item("accept_errors", accept_errors)?;
    Ok(dict)
}
