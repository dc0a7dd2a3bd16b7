//! Strings the library hands to C, freed with [`brp_string_free`].

use crate::boundary::{Failure, guard};
use crate::status::BrpStatus;
use std::ffi::{CString, c_char};

/// Moves `text` into a NUL-terminated string owned by the caller.
pub(crate) fn into_c(text: String) -> Result<*mut c_char, Failure> {
    CString::new(text).map(CString::into_raw).map_err(|e| {
        Failure::new(
            BrpStatus::Internal,
            format!("the result contains a NUL byte: {e}"),
        )
    })
}

/// Frees a string returned by libbrp (e.g. a response of `brp_request`).
/// NULL is accepted and ignored.
///
/// Thread safety: callable from any thread, for a string no other thread uses.
///
/// # Safety
/// `string` is NULL or a string returned by libbrp that has not been freed;
/// it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_string_free(string: *mut c_char) {
    guard("brp_string_free", (), || {
        if !string.is_null() {
            // SAFETY: the caller passes a string made by `into_c`, once.
            drop(unsafe { CString::from_raw(string) });
        }
    });
}
