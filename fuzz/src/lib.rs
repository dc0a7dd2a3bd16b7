//! The checks behind libbrp's fuzz targets (docs/fuzzing.md). Each target
//! in `fuzz_targets/` is one `fuzz_target!` calling one function here; the
//! repository's tests replay `corpus/<target>/` through the same functions
//! (`rust/brp/tests/integration/fuzz_corpus.rs`,
//! `rust/brp-ffi/tests/fuzz_corpus.rs`), which include these modules by
//! path.

pub mod ffi;
pub mod pose;
pub mod replies;
pub mod requests;
pub mod server;
pub mod wire;

/// The C ABI linked from brp-ffi's rlib, through the declarations C sees.
pub mod linked {
    use super::ffi::{Abi, Handle, Status};
    use brp_ffi as _;
    use std::ffi::c_char;

    unsafe extern "C" {
        fn brp_app_new(config_json: *const c_char, out_app: *mut *mut Handle) -> Status;
        fn brp_app_free(app: *mut Handle);
        fn brp_app_update(app: *const Handle) -> Status;
        fn brp_app_register_component(app: *const Handle, name: *const c_char) -> Status;
        fn brp_request(app: *const Handle, json: *const c_char, out: *mut *mut c_char) -> Status;
        fn brp_last_error_message() -> *const c_char;
        fn brp_pose_push(
            app: *const Handle,
            target: *const c_char,
            bytes: *const u8,
            len: usize,
        ) -> Status;
        fn brp_session_new(app: *const Handle, out_session: *mut *mut Handle) -> Status;
        fn brp_session_free(session: *mut Handle);
        fn brp_session_close(session: *const Handle) -> Status;
        fn brp_session_submit(session: *const Handle, json: *const c_char) -> Status;
        fn brp_session_receive(
            session: *const Handle,
            timeout_ms: i64,
            out: *mut *mut c_char,
        ) -> Status;
        fn brp_session_cancel(session: *const Handle, id: u64, out_found: *mut bool) -> Status;
        fn brp_string_free(string: *mut c_char);
    }

    /// The functions of `include/brp.h`, linked in.
    pub fn abi() -> Abi {
        Abi {
            app_new: brp_app_new,
            app_free: brp_app_free,
            app_update: brp_app_update,
            app_register_component: brp_app_register_component,
            request: brp_request,
            last_error_message: brp_last_error_message,
            pose_push: brp_pose_push,
            session_new: brp_session_new,
            session_free: brp_session_free,
            session_close: brp_session_close,
            session_submit: brp_session_submit,
            session_receive: brp_session_receive,
            session_cancel: brp_session_cancel,
            string_free: brp_string_free,
        }
    }
}
