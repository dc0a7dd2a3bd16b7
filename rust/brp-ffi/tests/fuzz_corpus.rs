//! Replays the fuzz corpus of the C ABI's target (`fuzz/corpus/ffi`)
//! through the same checks the fuzz target runs, included here from
//! `fuzz/src/` (docs/fuzzing.md).
//!
//! It loads the shared library cargo built beside it and calls it as a C
//! program does, so it also checks what that library exports (the exports
//! are brp-capi's, linked in by this crate's `libbrp!`).

#![cfg(unix)]

use std::ffi::{CStr, c_char, c_int, c_void};

// The fuzz crate's modules: public there, private here.
#[allow(unreachable_pub)]
#[path = "../../../fuzz/src/wire.rs"]
mod wire;

#[allow(unreachable_pub)]
#[path = "../../../fuzz/src/ffi.rs"]
mod ffi;

#[path = "../../../fuzz/replay.rs"]
mod replay;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}

/// `RTLD_NOW` on Linux and macOS.
const RTLD_NOW: c_int = 2;

/// The message of the last failed `dlopen`/`dlsym`.
fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string.
    let message = unsafe { dlerror() };
    if message.is_null() {
        return "no message".into();
    }
    // SAFETY: non-NULL, NUL-terminated; copied at once.
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned()
}

/// The function `name` of the loaded library, as the function pointer `F`.
///
/// # Safety
/// `F` is the function's type as `include/brp.h` declares it.
unsafe fn symbol<F: Copy>(library: *mut c_void, name: &CStr) -> F {
    // SAFETY: a handle from dlopen and a NUL-terminated name.
    let address = unsafe { dlsym(library, name.as_ptr()) };
    assert!(!address.is_null(), "{name:?}: {}", dl_error());
    assert_eq!(size_of::<F>(), size_of::<*mut c_void>());
    // SAFETY: a non-NULL address of the function, whose type the caller
    // guarantees; function pointers are pointer-sized.
    unsafe { std::mem::transmute_copy(&address) }
}

/// The C ABI of the shared library cargo built for this test (it sits
/// beside the test binary, in `target/<profile>/deps`).
fn load() -> ffi::Abi {
    let exe = std::env::current_exe().expect("the test binary's path");
    let name = format!(
        "{}brp{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = exe.with_file_name(name);
    let text = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a path");
    // SAFETY: a NUL-terminated path. The library stays loaded for the
    // process's life (it is never closed).
    let library = unsafe { dlopen(text.as_ptr(), RTLD_NOW) };
    assert!(!library.is_null(), "{}: {}", path.display(), dl_error());
    // SAFETY: each type is the function's declaration in include/brp.h.
    unsafe {
        ffi::Abi {
            app_new: symbol(library, c"brp_app_new"),
            app_free: symbol(library, c"brp_app_free"),
            app_update: symbol(library, c"brp_app_update"),
            app_register_component: symbol(library, c"brp_app_register_component"),
            request: symbol(library, c"brp_request"),
            last_error_message: symbol(library, c"brp_last_error_message"),
            pose_push: symbol(library, c"brp_pose_push"),
            session_new: symbol(library, c"brp_session_new"),
            session_free: symbol(library, c"brp_session_free"),
            session_close: symbol(library, c"brp_session_close"),
            session_submit: symbol(library, c"brp_session_submit"),
            session_receive: symbol(library, c"brp_session_receive"),
            session_cancel: symbol(library, c"brp_session_cancel"),
            string_free: symbol(library, c"brp_string_free"),
        }
    }
}

#[test]
fn ffi_corpus() {
    let abi = load();
    replay::replay("ffi", |data| ffi::calls(&abi, data));
}
