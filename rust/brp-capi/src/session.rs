//! `brp_session`: one client's request-id scope on a world.

use crate::app::BrpApp;
use crate::boundary::{Failure, Handle, Out, call, free, handle, text};
use crate::status::BrpStatus;
use crate::string::into_c;
use brp::NoResponse;
use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

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

impl Handle for BrpSession {
    fn release(&self) {
        self.session.close();
    }
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
        out.give(BrpSession {
            session: app.app().session(),
        });
        Ok(())
    })
}

/// Closes and frees a session handle. NULL is accepted and ignored.
///
/// Closing cancels the session's parked POLLs: each answers error -23405
/// (CANCELLED) through the callback, or into the queue, before this
/// returns; it then waits until no callback of the session is running, so
/// no callback runs after it returns and the callback's `user_data` may be
/// freed. Submitted responses still queued are freed with the session.
///
/// Thread safety: no other thread may use this handle during or after the
/// call; never call it from the session's own callback (it would wait for
/// itself).
///
/// # Safety
/// `session` is NULL or a handle from `brp_session_new` not yet freed; it
/// must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_free(session: *mut BrpSession) {
    // SAFETY: guaranteed by the caller.
    unsafe { free("brp_session_free", session) }
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

/// Closes a session without freeing it: its parked POLLs answer error
/// -23405 (CANCELLED) through the callback or the queue before this
/// returns; later requests are refused with -23405; `brp_session_receive`
/// hands out the responses still queued, then fails with
/// `BRP_STATUS_CLOSED`. Returns once no callback of the session is
/// running. Closing again does nothing.
///
/// Thread safety: callable from any thread, concurrently with other calls
/// on the session (e.g. to wake a thread blocked in `brp_session_receive`),
/// but not from the session's own callback (it would wait for itself).
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_close(session: *const BrpSession) -> BrpStatus {
    call("brp_session_close", || {
        // SAFETY: guaranteed by the caller.
        let session = unsafe { handle(session, "session") }?;
        session.session.close();
        Ok(())
    })
}

/// Submits one BRP request within the session and returns at once, without
/// waiting for its response. The request is carried out before this returns
/// (side effects apply in submission order); only a POLL waits. Its
/// response arrives later, possibly after responses of later requests,
/// through `brp_session_receive` or the callback set with
/// `brp_session_set_callback`. Every submission gets exactly one response,
/// including a malformed request (its response has id `null`), a duplicate
/// id (error -23406) and a request to a closed session (error -23405).
///
/// Thread safety: callable from any number of threads at once, and from a
/// callback. Ownership: `request_json` is only read during the call.
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`;
/// `request_json` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_submit(
    session: *const BrpSession,
    request_json: *const c_char,
) -> BrpStatus {
    call("brp_session_submit", || {
        // SAFETY: guaranteed by the caller.
        let (session, request) = unsafe {
            (
                handle(session, "session")?,
                text(request_json, "request_json")?,
            )
        };
        session.session.submit(request);
        Ok(())
    })
}

/// Waits up to `timeout_ms` milliseconds (a negative value, or one too
/// large for the clock: for ever; 0: not at all) for the next queued response of a submitted request and
/// writes its JSON text to `*out_response`.
///
/// Fails with `BRP_STATUS_TIMEOUT` when nothing arrived in time, and with
/// `BRP_STATUS_CLOSED` once the session is closed and its queue drained.
/// While a callback is set, responses go to it rather than to the queue.
///
/// Thread safety: callable from any number of threads at once; each
/// response is received by exactly one of them. Ownership: the caller owns
/// the response and frees it with `brp_string_free`. `*out_response` is
/// written only on success.
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`;
/// `out_response` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_receive(
    session: *const BrpSession,
    timeout_ms: i64,
    out_response: *mut *mut c_char,
) -> BrpStatus {
    call("brp_session_receive", || {
        // SAFETY: guaranteed by the caller.
        let (session, out) = unsafe {
            (
                handle(session, "session")?,
                Out::new(out_response, "out_response")?,
            )
        };
        // Negative: wait for ever.
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match session.session.receive(timeout) {
            Ok(response) => {
                out.write(into_c(response.into_text())?);
                Ok(())
            }
            Err(NoResponse::Closed) => Err(Failure::new(
                BrpStatus::Closed,
                "the session is closed and its queue drained",
            )),
            Err(NoResponse::TimedOut) => Err(Failure::new(
                BrpStatus::Timeout,
                format!("no response within {timeout_ms} ms"),
            )),
        }
    })
}

/// Receives a session's responses: called with `user_data` as given to
/// `brp_session_set_callback` and one response's JSON text, valid only
/// during the call (copy it to keep it; never free it).
pub type BrpCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, response_json: *const c_char)>;

/// A C callback and its `user_data`, callable from any thread.
struct CCallback {
    function: unsafe extern "C" fn(*mut c_void, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: `brp_session_set_callback`'s caller guarantees that the callback
// may be called with `user_data` from any thread, concurrently.
unsafe impl Send for CCallback {}
// SAFETY: as above.
unsafe impl Sync for CCallback {}

impl CCallback {
    fn call(&self, response: brp::Response) {
        let text = CString::new(response.into_text()).unwrap_or_else(|_| nul_byte_error());
        // SAFETY: `brp_session_set_callback`'s caller guarantees the
        // function may be called with `user_data`; the text outlives the call.
        unsafe { (self.function)(self.user_data, text.as_ptr()) }
    }
}

/// What a callback gets instead of a response containing a NUL byte, which
/// a C string cannot carry: an INTERNAL_ERROR response.
fn nul_byte_error() -> CString {
    let error = brp::BrpError::internal("the response contains a NUL byte");
    let text = serde_json::json!({"id": null, "error": error.to_json()}).to_string();
    CString::new(text).unwrap_or_default()
}

/// Sends the responses of submitted requests to `callback` instead of the
/// queue; a NULL `callback` restores the queue. Responses already queued
/// stay there for `brp_session_receive`.
///
/// The callback runs on whichever thread completes the request: the
/// submitting thread (inside `brp_session_submit`) for a response given at
/// once, the thread whose change woke a parked POLL (inside its request,
/// `brp_app_update` or a pose being applied), or the thread that cancels,
/// closes or times it out (the library's timer thread for `timeout_ms`).
/// It may run on several threads at once. It runs with no lock of the
/// library held, so it may make any `brp_*` call (requests, submits, even
/// on this session) except `brp_session_close` or `brp_session_free` of its
/// own session (they wait for running callbacks). It must not unwind (a C++
/// exception) into the library.
///
/// Thread safety: callable from any thread. Lifetime: `user_data` must
/// stay valid, and usable from any thread, until `brp_session_free` of
/// this session returns: a replaced callback may still be running.
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`; `callback`
/// is NULL or a function that may be called as described, with `user_data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_set_callback(
    session: *const BrpSession,
    callback: BrpCallback,
    user_data: *mut c_void,
) -> BrpStatus {
    call("brp_session_set_callback", || {
        // SAFETY: guaranteed by the caller.
        let session = unsafe { handle(session, "session") }?;
        let callback = callback.map(|function| {
            let callback = CCallback {
                function,
                user_data,
            };
            Arc::new(move |response| callback.call(response)) as Arc<dyn Fn(_) + Send + Sync>
        });
        session.session.set_callback(callback);
        Ok(())
    })
}

/// Cancels the session's parked POLL with id `id`: it answers error -23405
/// (CANCELLED) through the queue or the callback (which may run inside
/// this call). Writes to `*out_found` whether such a POLL was parked.
///
/// Thread safety: callable from any thread, and from a callback.
/// `*out_found` is written only on success.
///
/// # Safety
/// `session` is NULL or a live handle from `brp_session_new`; `out_found`
/// is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn brp_session_cancel(
    session: *const BrpSession,
    id: u64,
    out_found: *mut bool,
) -> BrpStatus {
    call("brp_session_cancel", || {
        // SAFETY: guaranteed by the caller.
        let (session, out) = unsafe {
            (
                handle(session, "session")?,
                Out::new(out_found, "out_found")?,
            )
        };
        out.write(session.session.cancel(id));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::nul_byte_error;

    #[test]
    fn the_nul_byte_error_is_an_internal_error_response() {
        assert_eq!(
            nul_byte_error().to_str(),
            Ok(
                r#"{"id":null,"error":{"code":-32603,"message":"the response contains a NUL byte"}}"#
            )
        );
    }
}
