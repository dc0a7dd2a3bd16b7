//! The panic boundary and the argument checks every export goes through.

use crate::last_error;
use crate::status::BrpStatus;
use std::any::Any;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

/// Why a call failed: its status and a message naming the problem.
#[derive(Debug)]
pub(crate) struct Failure {
    status: BrpStatus,
    message: String,
}

impl Failure {
    /// A failure with `status` described by `message`.
    pub(crate) fn new(status: BrpStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl Failure {
    /// Why making something from a config failed: a fault of the library
    /// (-32603 INTERNAL_ERROR) is `internal`, any other error the config's
    /// (`BRP_STATUS_INVALID_CONFIG`).
    pub(crate) fn starting(error: &brp::BrpError, internal: BrpStatus) -> Self {
        let status = match error.code {
            brp::ErrorCode::InternalError => internal,
            _ => BrpStatus::InvalidConfig,
        };
        Self::new(status, error.to_string())
    }

    /// A config that cannot be read: `BRP_STATUS_INVALID_CONFIG`.
    pub(crate) fn config(error: &brp::BrpError) -> Self {
        Self::new(BrpStatus::InvalidConfig, error.to_string())
    }
}

/// Runs the body of a fallible export named `function`: clears the thread's
/// last error, turns a panic into [`BrpStatus::Panic`], and records the
/// message of a failure.
pub(crate) fn call(function: &str, body: impl FnOnce() -> Result<(), Failure>) -> BrpStatus {
    last_error::clear();
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Failure::new(BrpStatus::Panic, panic_message(&*payload))));
    match outcome {
        Ok(()) => BrpStatus::Ok,
        Err(failure) => {
            last_error::set(format!("{function}: {}", failure.message));
            failure.status
        }
    }
}

/// Runs the body of an export that cannot report a status (`*_free`): a
/// panic is recorded as the thread's last error and yields `fallback`.
pub(crate) fn guard<T>(function: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        last_error::set(format!("{function}: {}", panic_message(&*payload)));
        fallback
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("libbrp panicked: {detail}")
}

/// Borrows the object behind the handle argument `name`.
///
/// # Safety
/// `ptr` is NULL or points to a live object for the returned lifetime.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees a non-NULL `ptr` is live.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(name))
}

/// Borrows the NUL-terminated string argument `name` as UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string live for the returned
/// lifetime.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|e| {
        Failure::new(
            BrpStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8: {e}"),
        )
    })
}

/// An opaque handle of the C ABI (`brp_app`, `brp_session`, …): made by its
/// `*_new` or `*_start` export with [`Out::give`], freed once by its
/// `*_free` with [`free`].
pub(crate) trait Handle {
    /// What freeing does before the memory goes: close or stop.
    fn release(&self);
}

/// Frees a handle made by [`Out::give`], after its [`Handle::release`];
/// NULL is ignored. `function` is the export, for a panic's message.
///
/// # Safety
/// `ptr` is NULL or a handle made by [`Out::give`] and not freed yet.
pub(crate) unsafe fn free<T: Handle>(function: &str, ptr: *mut T) {
    guard(function, (), || {
        if !ptr.is_null() {
            // SAFETY: made by `Out::give` (a `Box`), freed once, as the
            // caller guarantees.
            let handle = unsafe { Box::from_raw(ptr) };
            handle.release();
        }
    });
}

/// A checked out-parameter, written only once the call has succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks the out-parameter `name` for NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or valid for a write of `T` until the call returns.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> Result<Self, Failure> {
        NonNull::new(ptr).map(Self).ok_or_else(|| null(name))
    }

    /// Writes the result.
    pub(crate) fn write(self, value: T) {
        // SAFETY: `new`'s caller guaranteed the pointer is valid for a write.
        unsafe { self.0.as_ptr().write(value) }
    }
}

impl<T: Handle> Out<*mut T> {
    /// Hands `value` to C as a new handle, for [`free`] to free.
    pub(crate) fn give(self, value: T) {
        self.write(Box::into_raw(Box::new(value)));
    }
}

fn null(name: &str) -> Failure {
    Failure::new(BrpStatus::NullArgument, format!("{name} is NULL"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: valid until the next call on this thread.
        let message = unsafe { CStr::from_ptr(crate::brp_last_error_message()) };
        message.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = call("brp_test", || panic!("boom"));
        assert_eq!(status, BrpStatus::Panic);
        assert_eq!(last_error(), "brp_test: libbrp panicked: boom");
        assert_eq!(call("brp_test", || Ok(())), BrpStatus::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn a_panic_in_a_guard_yields_the_fallback() {
        let value = guard("brp_test_free", 7, || panic!("{}", String::from("owned")));
        assert_eq!(value, 7);
        assert_eq!(last_error(), "brp_test_free: libbrp panicked: owned");
    }

    #[test]
    fn arguments_are_checked() {
        // SAFETY: NULL and a static NUL-terminated string.
        unsafe {
            let status = call("f", || text(std::ptr::null(), "name").map(drop));
            assert_eq!(status, BrpStatus::NullArgument);
            assert_eq!(last_error(), "f: name is NULL");
            let bad = c"a\xffb";
            let status = call("f", || text(bad.as_ptr(), "name").map(drop));
            assert_eq!(status, BrpStatus::InvalidUtf8);
            assert!(last_error().starts_with("f: name is not valid UTF-8"));
            assert_eq!(text(c"ok".as_ptr(), "name").ok(), Some("ok"));
        }
    }
}
