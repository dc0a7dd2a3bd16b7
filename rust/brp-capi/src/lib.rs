//! The C ABI of libbrp (`include/brp.h`) as a Rust library: embed a Bevy
//! world in a C or C++ program and drive it with BRP requests in-process.
//!
//! This crate only converts: C strings to `&str`, handles to the core's
//! [`brp::Host`] and [`brp::Session`], results to a [`BrpStatus`] and the
//! thread's last error message. Every export runs inside a panic boundary and
//! checks every pointer it is given.
//!
//! It builds no library itself: a crate of type `cdylib` and/or `staticlib`
//! writes [`libbrp!`] once, naming what every app gets besides the built-in
//! contents (a game's plugins), and is then a libbrp with the same header.
//! libbrp itself (`rust/brp-ffi`) is such a crate with nothing to add.

mod app;
mod boundary;
mod error_code;
mod last_error;
mod log;
mod pose;
mod server;
mod session;
mod status;
mod string;

pub use self::log::{BrpLogCallback, BrpLogLevel, brp_set_log_callback};
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
pub use server::{
    BrpServer, brp_server_address, brp_server_free, brp_server_start, brp_server_stats,
    brp_server_stop,
};
pub use session::{
    BrpCallback, BrpSession, brp_session_cancel, brp_session_close, brp_session_free,
    brp_session_new, brp_session_receive, brp_session_request, brp_session_set_callback,
    brp_session_submit,
};
pub use status::BrpStatus;
pub use string::brp_string_free;

use std::ffi::c_char;

/// The Bevy crate of [`libbrp!`]'s `install` argument, `fn(&mut
/// bevy_app::App)`, for crates that do not depend on it themselves.
pub use bevy_app;

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

/// Makes the crate it is written in a libbrp whose every app also gets
/// `install`: the built library exports the whole C ABI of `include/brp.h`,
/// and `brp_app_new` builds each app with [`brp::Host::build_with`], passing
/// it `install`.
///
/// `install` is an expression of type `fn(&mut bevy_app::App)`: a function
/// or a closure that captures nothing. Write the macro once, in a crate of
/// type `cdylib` and/or `staticlib` (an `rlib` too, to call the exports from
/// Rust). It defines the symbol `brp_capi_install`, which `brp_app_new`
/// calls: linking this crate without the macro fails on that undefined
/// symbol, and with two of them on a duplicate.
///
/// ```
/// use brp_capi::bevy_app::{App, Plugin, Startup};
///
/// struct MyGame;
///
/// impl Plugin for MyGame {
///     fn build(&self, app: &mut App) {
///         app.add_systems(Startup, || println!("the game starts"));
///     }
/// }
///
/// brp_capi::libbrp!(|app| {
///     app.add_plugins(MyGame);
/// });
/// # fn main() {
/// #     let mut app = std::ptr::null_mut();
/// #     // SAFETY: a NULL config and a valid out-pointer; freed below.
/// #     unsafe {
/// #         assert_eq!(brp_capi::brp_app_new(std::ptr::null(), &mut app), brp_capi::BrpStatus::Ok);
/// #         assert_eq!(brp_capi::brp_app_update(app), brp_capi::BrpStatus::Ok);
/// #         brp_capi::brp_app_free(app);
/// #     }
/// # }
/// ```
#[macro_export]
macro_rules! libbrp {
    ($install:expr $(,)?) => {
        /// What `brp_app_new` adds to every app: `brp_capi::libbrp!`'s
        /// argument.
        #[unsafe(no_mangle)]
        fn brp_capi_install(app: &mut $crate::bevy_app::App) {
            const INSTALL: fn(&mut $crate::bevy_app::App) = $install;
            INSTALL(app)
        }
    };
}

// The unit tests' binary is a libbrp with nothing to add, except on a
// thread that asks its plugin to fail.
#[cfg(test)]
libbrp!(|_app| {
    if tests::FAILING_PLUGIN.get() {
        panic!("the test plugin fails");
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::ffi::CStr;

    thread_local! {
        /// Makes the test library's plugin panic while it builds.
        pub(crate) static FAILING_PLUGIN: Cell<bool> = const { Cell::new(false) };
    }

    #[test]
    fn a_plugin_that_panics_while_built_fails_brp_app_new_and_makes_nothing() {
        FAILING_PLUGIN.set(true);
        let mut app = std::ptr::null_mut();
        // SAFETY: a NULL config and a valid out-parameter.
        let status = unsafe { brp_app_new(std::ptr::null(), &mut app) };
        FAILING_PLUGIN.set(false);
        assert_eq!(status, BrpStatus::AppBuildFailed);
        assert!(app.is_null());
        // SAFETY: the message is a live NUL-terminated string on this thread.
        let message = unsafe { CStr::from_ptr(brp_last_error_message()) };
        let message = message.to_str().unwrap();
        assert!(message.contains("the test plugin fails"), "{message}");
        // SAFETY: a bad config and a valid out-parameter.
        let status = unsafe { brp_app_new(c"{\"manual_time_step\": -1}".as_ptr(), &mut app) };
        assert_eq!(status, BrpStatus::InvalidConfig);
    }

    #[test]
    fn version_macros_match_the_package_version() {
        let macros = format!("{BRP_VERSION_MAJOR}.{BRP_VERSION_MINOR}.{BRP_VERSION_PATCH}");
        assert_eq!(macros, env!("CARGO_PKG_VERSION"));
        // SAFETY: brp_version returns a static NUL-terminated string.
        let runtime = unsafe { CStr::from_ptr(brp_version()) };
        assert_eq!(runtime.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }
}
