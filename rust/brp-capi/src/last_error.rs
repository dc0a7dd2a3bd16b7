//! The thread's last error message, read with [`brp_last_error_message`].

use std::cell::RefCell;
use std::ffi::{CString, c_char};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error.
pub(crate) fn set(message: String) {
    let message = CString::new(message.replace('\0', "\\0"))
        .unwrap_or_else(|_| c"error message unavailable".to_owned());
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(message));
}

/// Forgets this thread's last error.
pub(crate) fn clear() {
    LAST_ERROR.with(|last| *last.borrow_mut() = None);
}

/// The message describing why the last fallible `brp_*` call made on this
/// thread failed, or `""` if it succeeded (or none was made yet).
///
/// Every call that returns a `brp_status` first clears the message, then sets
/// it when it fails. Messages name the function and the offending argument,
/// e.g. `"brp_request: request_json is NULL"`.
///
/// Thread safety: each thread has its own last error; callable from any
/// thread. Ownership: the string belongs to the library and is never NULL.
/// Lifetime: valid until the next `brp_*` call on this thread (copy it to
/// keep it); never free it.
#[unsafe(no_mangle)]
pub extern "C" fn brp_last_error_message() -> *const c_char {
    LAST_ERROR
        .try_with(|last| {
            last.borrow()
                .as_ref()
                .map_or(c"".as_ptr(), |message| message.as_ptr())
        })
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn message() -> String {
        // SAFETY: the pointer is valid until the next call on this thread.
        unsafe { CStr::from_ptr(brp_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn set_clear_and_nul_bytes() {
        assert_eq!(message(), "");
        set("a\0b".to_owned());
        assert_eq!(message(), "a\\0b");
        clear();
        assert_eq!(message(), "");
    }

    #[test]
    fn each_thread_has_its_own() {
        set("main".to_owned());
        std::thread::spawn(|| assert_eq!(message(), ""))
            .join()
            .unwrap();
        assert_eq!(message(), "main");
    }
}
