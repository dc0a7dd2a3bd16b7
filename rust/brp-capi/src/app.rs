//! `brp_app`: an embedded world, and the requests answered outside a session.

use crate::boundary::{Failure, Handle, Out, call, free, handle, text};
use crate::status::BrpStatus;
use crate::string::into_c;
use std::ffi::c_char;

unsafe extern "Rust" {
    /// Adds the library's own contents to a new app: defined by the
    /// [`libbrp!`](crate::libbrp) of the crate that builds the library.
    fn brp_capi_install(app: &mut bevy_app::App);
}

/// An embedded Bevy ECS world that answers BRP requests in the caller's
/// thread. Opaque: made by `brp_app_new`, freed by `brp_app_free`.
///
/// Thread safety: every function taking a `const brp_app *` may be called
/// from any number of threads at once. Requests that change the world apply
/// one at a time, in the order they arrive.
pub struct BrpApp {
    app: brp::Host,
}

impl Handle for BrpApp {
    fn release(&self) {
        self.app.close();
    }
}

impl BrpApp {
    /// The core app behind the handle.
    pub(crate) fn app(&self) -> &brp::Host {
        &self.app
    }
}

/// Makes a world and writes its handle to `*out_app`.
///
/// `config_json` is the app's configuration as JSON text, e.g.
/// `{"components": ["Position", "Player"], "auto_declare": false}`:
/// `components` are dynamic components declared at start, and `auto_declare`
/// declares unknown component names met in SPAWN and INSERT instead of
/// rejecting them. NULL, `""` and `"null"` give the default (no components,
/// strict); `manual_time_step` and `multi_threaded` choose the app's clock
/// and executor (docs/modules.md). The app holds the built-in contents and
/// the plugins of the library's `libbrp!` hook. Fails with
/// `BRP_STATUS_INVALID_CONFIG` on malformed JSON, an unknown field, a bad
/// value or a component that cannot be declared, and with
/// `BRP_STATUS_APP_BUILD_FAILED` when a plugin panics while it is built.
///
/// Thread safety: callable from any thread. Ownership: the caller owns the
/// new app and frees it with `brp_app_free`; `config_json` is only read
/// during the call. `*out_app` is written only on success.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out_app` is NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_app_new(
    config_json: *const c_char,
    out_app: *mut *mut BrpApp,
) -> BrpStatus {
    call("brp_app_new", || {
        // SAFETY: guaranteed by the caller.
        let out = unsafe { Out::new(out_app, "out_app") }?;
        let config = if config_json.is_null() {
            ""
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { text(config_json, "config_json") }?
        };
        // SAFETY: `libbrp!` defines the function with this signature, as a
        // safe Rust function.
        let install = |app: &mut bevy_app::App| unsafe { brp_capi_install(app) };
        let config = brp::Config::from_json(config).map_err(|e| Failure::config(&e))?;
        let app = brp::Host::build_with(config, install)
            .map_err(|e| Failure::starting(&e, BrpStatus::AppBuildFailed))?;
        out.give(BrpApp { app });
        Ok(())
    })
}

/// Closes and frees an app handle. NULL is accepted and ignored.
///
/// Closing wakes every parked POLL of every session with error -23405
/// (CANCELLED), delivered through each session's callback or queue before
/// this returns, and refuses later POLLs; other requests of the sessions
/// keep working. Sessions and pose clients made from the app keep its world
/// alive: the world is dropped when its app, sessions and pose clients are
/// all freed.
///
/// Thread safety: no other thread may use this handle during or after the
/// call (sessions made from it may still be used).
///
/// # Safety
/// `app` is NULL or a handle from `brp_app_new` not yet freed; it must not be
/// used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_app_free(app: *mut BrpApp) {
    // SAFETY: guaranteed by the caller.
    unsafe { free("brp_app_free", app) }
}

/// Runs one frame of the app (`Startup` the first time, then `First` …
/// `Last`, with `FixedUpdate` as time says) and advances its change tick,
/// so `changed` filters and POLL watermarks see what happened since the
/// last update.
///
/// Fails with `BRP_STATUS_UPDATE_FAILED` if a system returned an error or
/// panicked (the message names it); the world stays usable.
///
/// Thread safety: callable from any thread, concurrently with requests.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_app_update(app: *const BrpApp) -> BrpStatus {
    call("brp_app_update", || {
        // SAFETY: guaranteed by the caller.
        let app = unsafe { handle(app, "app") }?;
        app.app
            .update()
            .map_err(|e| Failure::new(BrpStatus::UpdateFailed, e.to_string()))
    })
}

/// Declares a dynamic component named `name` that holds a JSON value, so
/// requests can use it like a Rust component (`with`, `without` and
/// `changed` filters included). Declaring a name again is a no-op.
///
/// Fails with `BRP_STATUS_INVALID_COMPONENT` if the name is not an
/// identifier (or a `::` path of identifiers), is reserved (`id`), or
/// already names a registered Rust type.
///
/// Thread safety: callable from any thread, concurrently with requests.
/// Ownership: `name` is only read during the call.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `name` is NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_app_register_component(
    app: *const BrpApp,
    name: *const c_char,
) -> BrpStatus {
    call("brp_app_register_component", || {
        // SAFETY: guaranteed by the caller.
        let (app, name) = unsafe { (handle(app, "app")?, text(name, "name")?) };
        app.app
            .declare_component(name)
            .map_err(|e| Failure::new(BrpStatus::InvalidComponent, e.to_string()))
    })
}

/// Answers one BRP request, outside any session, and writes the response
/// JSON text to `*out_response`.
///
/// `request_json` is a request such as
/// `{"id": 1, "request": "GET", "params": {...}}`. A request the protocol
/// rejects (bad JSON, unknown entity, ...) still succeeds: its response
/// carries an `"error"` object with a code and message. Only a failed call
/// (NULL argument, invalid UTF-8) returns a status other than
/// `BRP_STATUS_OK`.
///
/// Thread safety: callable from any number of threads at once; requests
/// that change the world apply in the order they arrive.
/// Ownership: `request_json` is only read during the call; the caller owns
/// the response and frees it with `brp_string_free`. `*out_response` is
/// written only on success.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `request_json` is NULL
/// or a NUL-terminated string; `out_response` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_request(
    app: *const BrpApp,
    request_json: *const c_char,
    out_response: *mut *mut c_char,
) -> BrpStatus {
    call("brp_request", || {
        // SAFETY: guaranteed by the caller.
        let (app, request, out) = unsafe {
            (
                handle(app, "app")?,
                text(request_json, "request_json")?,
                Out::new(out_response, "out_response")?,
            )
        };
        out.write(into_c(app.app.request(request))?);
        Ok(())
    })
}
