//! Core errors as Python exceptions, and the error codes as module constants.

use brp::{BrpError, code};
use pyo3::prelude::*;

/// The error codes of `brp::code`, exported under the same names so the
/// Python package never repeats the numbers.
const CODES: &[(&str, i32)] = &[
    ("PARSE_ERROR", code::PARSE_ERROR),
    ("INVALID_REQUEST", code::INVALID_REQUEST),
    ("UNKNOWN_REQUEST", code::UNKNOWN_REQUEST),
    ("INVALID_PARAMS", code::INVALID_PARAMS),
    ("INTERNAL_ERROR", code::INTERNAL_ERROR),
    ("ENTITY_NOT_FOUND", code::ENTITY_NOT_FOUND),
    ("COMPONENT_ERROR", code::COMPONENT_ERROR),
    ("COMPONENT_NOT_PRESENT", code::COMPONENT_NOT_PRESENT),
    ("SELF_REPARENT", code::SELF_REPARENT),
    ("CANCELLED", code::CANCELLED),
    ("DUPLICATE_ID", code::DUPLICATE_ID),
    ("TIMEOUT", code::TIMEOUT),
];

/// Adds every error code to `module`.
pub fn add_codes(module: &Bound<'_, PyModule>) -> PyResult<()> {
    CODES
        .iter()
        .try_for_each(|(name, value)| module.add(*name, *value))
}

/// The `brp.errors.BrpError` subclass for `error`'s code, made by
/// `brp.errors.error_from_json` from the error object as a response carries it.
pub fn to_py(py: Python<'_>, error: &BrpError) -> PyErr {
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
