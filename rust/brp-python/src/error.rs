//! Core errors as Python exceptions, and the error codes as module constants.

use brp::{BrpError, ErrorCode};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Adds every error code of the core's table to `module` as a constant
/// of the same name, and the table itself as `ERROR_CODES`, a tuple of
/// `(code, name, meaning)`, so the Python package never repeats it.
///
/// The constants are set, not added: they stay out of the module's
/// `__all__`, so its stub (`_native.pyi`) declares each of them once.
pub(crate) fn add_codes(module: &Bound<'_, PyModule>) -> PyResult<()> {
    for code in ErrorCode::ALL {
        module.setattr(code.name(), code.code())?;
    }
    let table: Vec<(i32, &str, &str)> = ErrorCode::ALL
        .iter()
        .map(|code| (code.code(), code.name(), code.meaning()))
        .collect();
    module.add("ERROR_CODES", PyTuple::new(module.py(), table)?)
}

/// The `brp.errors.BrpError` subclass for `error`'s code, made by
/// `brp.errors.error_from_json` from the error object as a response carries it.
pub(crate) fn to_py(py: Python<'_>, error: &BrpError) -> PyErr {
    let text = error.to_json().to_string();
    let exception = py
        .import("brp.errors")
        .and_then(|errors| errors.getattr("error_from_json"))
        .and_then(|from_json| from_json.call1((text,)));
    match exception {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}
