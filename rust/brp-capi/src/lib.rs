//! The C ABI of libbrp (`include/brp.h`): embed a Bevy world in a C or C++
//! program and drive it with BRP requests in-process.
//!
//! This crate only converts: C strings to `&str`, handles to the core's
//! [`brp::Host`] and [`brp::Session`], results to a [`BrpStatus`] and the
//! thread's last error message. Every export runs inside a panic boundary and
//! checks every pointer it is given.

mod app;
mod boundary;
mod error_code;
mod last_error;
mod pose;
mod session;
mod status;
mod string;

pub use app::{
    BrpApp, brp_app_free, brp_app_new, brp_app_register_component, brp_app_update, brp_request,
};
pub use error_code::BrpError;
pub use last_error::brp_last_error_message;
pub use pose::{
    BrpPoseCallback, BrpPoseClient, brp_pose_client_free, brp_pose_client_start,
    brp_pose_client_start_with_callback, brp_pose_client_stats, brp_pose_client_stop,
    brp_pose_push,
};
pub use session::{
    BrpCallback, BrpSession, brp_session_cancel, brp_session_close, brp_session_free,
    brp_session_new, brp_session_receive, brp_session_request, brp_session_set_callback,
    brp_session_submit,
};
pub use status::BrpStatus;
pub use string::brp_string_free;

use std::ffi::c_char;

/// The major version of the header; `brp_version()` gives the library's.
pub const BRP_VERSION_MAJOR: u32 = 0;
/// The minor version of the header; `brp_version()` gives the library's.
pub const BRP_VERSION_MINOR: u32 = 1;
/// The patch version of the header; `brp_version()` gives the library's.
pub const BRP_VERSION_PATCH: u32 = 0;

/// The library's version, `"MAJOR.MINOR.PATCH"`, e.g. `"0.1.0"`.
///
/// Compare it with the `BRP_VERSION_*` macros to check that the library
/// loaded at run time matches the header compiled against.
///
/// Thread safety: callable from any thread at any time.
/// Ownership: the string is static; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn brp_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_macros_match_the_package_version() {
        let macros = format!("{BRP_VERSION_MAJOR}.{BRP_VERSION_MINOR}.{BRP_VERSION_PATCH}");
        assert_eq!(macros, env!("CARGO_PKG_VERSION"));
        // SAFETY: brp_version returns a static NUL-terminated string.
        let runtime = unsafe { CStr::from_ptr(brp_version()) };
        assert_eq!(runtime.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }
}
