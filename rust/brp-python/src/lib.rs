//! `brp._native`: the Python module of libbrp, built into the `brp` wheel.
//!
//! It only converts: Python strings in, the core's answers out, core errors
//! raised as the `brp.errors` exception of their code. The Pythonic layer
//! (dicts, helpers, typed exceptions) is the pure-Python package `brp`.
//! Every call that works on the world releases the GIL.

mod app;
mod error;
mod pose;
mod wait;

use pyo3::prelude::*;

/// The native module `brp._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<app::App>()?;
    module.add_class::<app::Session>()?;
    module.add_class::<pose::PoseClient>()?;
    error::add_codes(module)
}
