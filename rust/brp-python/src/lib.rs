//! The native module of libbrp's Python package, as a library: a wheel's
//! artifact crate (a `cdylib`) writes [`module!`] once to make its
//! extension module `_native`.
//!
//! The `brp` wheel's module, `brp._native` (rust/brp-py), is
//! `brp_python::module!(|_app| {})`; a game's wheel makes `<game>._native`,
//! whose apps also hold the game's plugins:
//!
//! ```ignore
//! brp_python::module!(|app| {
//!     app.add_plugins(dance_game::DancePlugin);
//! });
//! ```
//!
//! The module only converts: Python strings in, the core's answers out,
//! core errors raised as the `brp.errors` exception of their code. The
//! Pythonic layer (dicts, helpers, typed exceptions) is the pure-Python
//! package `brp`, which drives any such module (`brp.module_app`). Every
//! call that works on the world releases the GIL.
//!
//! libbrp's log messages (the `log` crate's records of `brp` targets) go to
//! Python's `logging`, to the logger of the same dotted name (`brp.pose`).

mod app;
mod error;
mod logging;
mod pose;
mod server;
mod wait;

use pyo3::prelude::*;

/// The Bevy app crate of the `install` function of [`module!`].
pub use bevy_app;
/// The PyO3 the module is built with, for [`module!`].
pub use pyo3;

/// What a wheel adds to the built-in contents of each app its module makes:
/// its plugins, systems and types, as for `brp::Host::build_with`.
pub type Install = fn(&mut bevy_app::App);

/// Defines the extension module `_native` of a wheel (its `PyInit__native`)
/// in the crate that invokes it, once, in a `cdylib` that depends on
/// `brp-python` under that name. `install`, an expression of type
/// `fn(&mut brp_python::bevy_app::App)` (a closure that captures nothing),
/// is called on every app the module makes, after the built-in contents.
///
/// The module has the classes and constants of `brp._native`; the package
/// `brp` turns it into a `brp.App` subclass with `brp.module_app`.
#[macro_export]
macro_rules! module {
    ($install:expr $(,)?) => {
        /// The extension module `_native` of this wheel, made by
        /// `brp_python::module!`.
        #[$crate::pyo3::pymodule]
        #[pyo3(name = "_native", crate = "::brp_python::pyo3")]
        fn __brp_python_native(
            module: &$crate::pyo3::Bound<'_, $crate::pyo3::types::PyModule>,
        ) -> $crate::pyo3::PyResult<()> {
            let install: $crate::Install = $install;
            $crate::init(module, install)
        }
    };
}

/// Fills the module that [`module!`] defines: its version, its classes and
/// the error codes, with `install` run on every app it makes; and routes
/// libbrp's log messages to Python's `logging`.
#[doc(hidden)]
pub fn init(module: &Bound<'_, PyModule>, install: Install) -> PyResult<()> {
    app::set_install(install);
    logging::install(module.py())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<app::App>()?;
    module.add_class::<app::Session>()?;
    module.add_class::<pose::PoseClient>()?;
    module.add_class::<server::Server>()?;
    error::add_codes(module)
}
