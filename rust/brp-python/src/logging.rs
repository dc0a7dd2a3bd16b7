//! libbrp's log messages in Python's `logging`: the records of the `log`
//! crate with a `brp` target (`brp::pose`) go to the logger of the same
//! dotted name (`brp.pose`), through the `pyo3-log` bridge.
//!
//! Each record takes the GIL on the thread that logs it (a pose client's
//! network thread, or a thread calling into the module with the GIL
//! released), so the module never logs while holding a lock that a thread
//! holding the GIL may wait for. Once the interpreter starts exiting
//! (`atexit`), records are dropped rather than wait for a GIL that may
//! never come back.

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by an `atexit` hook: from then on, records are dropped.
static EXITING: AtomicBool = AtomicBool::new(false);

/// The module's `log` logger: `pyo3-log`'s, attached only when Python can
/// be entered.
struct Bridge(pyo3_log::Logger);

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        !EXITING.load(Ordering::Acquire) && self.0.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Never panics into the caller (a panic here is a bug: the record
        // is lost); `try_attach` declines while the interpreter is not
        // running, where `pyo3-log`'s own `attach` would panic.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            Python::try_attach(|py| {
                let pending = PyErr::take(py);
                self.0.log(record);
                // A failure inside `logging` is not the caller's exception.
                drop(PyErr::take(py));
                if let Some(pending) = pending {
                    pending.restore(py);
                }
            })
        }));
    }

    fn flush(&self) {}
}

/// Routes libbrp's log records to Python's `logging` (once per native
/// module binary: `log` takes one logger per binary), and gives the `brp`
/// logger a `NullHandler`, so that nothing is printed unless the program
/// configures logging.
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    let logging = py.import("logging")?;
    let null_handler = logging.getattr("NullHandler")?.call0()?;
    let brp = logging.call_method1("getLogger", ("brp",))?;
    let handlers = brp.getattr("handlers")?;
    let has_null = handlers
        .try_iter()?
        .any(|h| h.is_ok_and(|h| h.get_type().is(null_handler.get_type())));
    if !has_null {
        brp.call_method1("addHandler", (null_handler,))?;
    }

    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| result = install_bridge(py));
    result
}

fn install_bridge(py: Python<'_>) -> PyResult<()> {
    let exiting = |_: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| {
        EXITING.store(true, Ordering::Release);
    };
    let hook = PyCFunction::new_closure(py, Some(c"_brp_stop_logging"), None, exiting)?;
    py.import("atexit")?.call_method1("register", (hook,))?;
    // Levels are asked of Python per record (no caching), so a level set
    // later applies at once; only `brp` targets pass, not the dependencies'.
    let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?
        .filter(LevelFilter::Off)
        .filter_target("brp".to_owned(), LevelFilter::Debug);
    if log::set_boxed_logger(Box::new(Bridge(logger))).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
    Ok(())
}
