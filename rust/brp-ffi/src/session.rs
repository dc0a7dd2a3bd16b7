//! `brp_session`: one client's request-id scope on a world.

use crate::app::BrpApp;
use crate::boundary::{Out, call, guard, handle, text};
use crate::status::BrpStatus;
use crate::string::into_c;
use std::ffi::c_char;

/// One client's session on a world: request ids are scoped to it, so two
/// sessions may both use id 1, and a request whose id is still in flight
/// in the same session is answered with an error. Opaque: made by
/// `brp_session_new`, freed by `brp_session_free`.
///
/// Thread safety: every function taking a `const brp_session *` may be
/// called from any number of threads at once.
pub struct BrpSession {
    session: brp::Session,
}

/// Opens a session on `app`'s world and writes its handle to `*out_session`.
///
/// Thread safety: callable from any thread. Ownership: the caller owns the
/// session and frees it with `brp_session_free`. Lifetime: the session
/// keeps the world alive, so it may outlive `app`'s handle.
/// `*out_session` is written only on success.
///
/// # Safety
/// `app` is NULL or a live handle from `brp_app_new`; `out_session` is NULL
/// or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_new(
    app: *const BrpApp,
    out_session: *mut *mut BrpSession,
) -> BrpStatus {
    call("brp_session_new", || {
        // SAFETY: guaranteed by the caller.
        let (app, out) = unsafe { (handle(app, "app")?, Out::new(out_session, "out_session")?) };
        out.write(Box::into_raw(Box::new(BrpSession {
            session: app.app().session(),
        })));
        Ok(())
    })
}

/// Frees a session handle. NULL is accepted and ignored.
///
/// Thread safety: no other thread may use this handle during or after the
/// call.
///
/// # Safety
/// `session` is NULL or a handle from `brp_session_new` not yet freed; it
/// must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_free(session: *mut BrpSession) {
    guard("brp_session_free", (), || {
        if !session.is_null() {
            // SAFETY: the caller passes a handle made by `brp_session_new`, once.
            drop(unsafe { Box::from_raw(session) });
        }
    });
}

/// Answers one BRP request within the session and writes the response JSON
/// text to `*out_response`. Like `brp_request`, except that the request id
/// is scoped to the session.
///
/// Thread safety: callable from any number of threads at once.
/// Ownership: `request_json` is only read during the call; the caller owns
/// the response and frees it with `brp_string_free`. `*out_response` is
/// written only on success.
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`;
/// `request_json` is NULL or a NUL-terminated string; `out_response` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_request(
    session: *const BrpSession,
    request_json: *const c_char,
    out_response: *mut *mut c_char,
) -> BrpStatus {
    call("brp_session_request", || {
        // SAFETY: guaranteed by the caller.
        let (session, request, out) = unsafe {
            (
                handle(session, "session")?,
                text(request_json, "request_json")?,
                Out::new(out_response, "out_response")?,
            )
        };
        out.write(into_c(session.session.request(request))?);
        Ok(())
    })
}
