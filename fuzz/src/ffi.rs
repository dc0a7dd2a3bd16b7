//! The C ABI's string inputs (`include/brp.h`): arbitrary bytes as the
//! NUL-terminated strings of `brp_app_new`, `brp_request`,
//! `brp_session_submit`, `brp_app_register_component` and `brp_pose_push`
//! (the `ffi` target).
//!
//! An input is a script of calls, separated by NUL bytes:
//!
//! - the first piece is `brp_app_new`'s config (when it is refused, the
//!   script goes on with the default app);
//! - each later piece is one call, chosen by its first byte:
//!   `C` `brp_app_register_component(rest)`, `U` `brp_app_update`,
//!   `S` `brp_session_submit(rest)` (then receive what has arrived),
//!   `X` `brp_session_cancel(decimal id in rest)`, `T` sets the target JSON
//!   of later pushes, `P` `brp_pose_push` of every remaining byte (NULs
//!   included; this ends the script); any other piece is `brp_request` of
//!   the whole piece (a POLL that may park is submitted to the session
//!   instead, so it cannot block).
//!
//! Invariants: no panic across the boundary (`BRP_STATUS_PANIC`) and no
//! `BRP_STATUS_INTERNAL`; each call returns OK or one of the statuses its
//! documentation names, with `brp_last_error_message` empty on OK and naming
//! the function otherwise; out-parameters are written only on OK; every
//! response is valid JSON with the request's id (or null) and never an
//! internal error; a request answered with an error leaves the entities as
//! they were, and so does a rejected push; every submission gets exactly
//! one response by the time the session is closed and drained.
//!
//! The functions are reached through [`Abi`]: the fuzz target links them
//! from brp-ffi's rlib, the replay test loads them from the built library.

use super::wire;
use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr::{null, null_mut};
use std::thread;
use std::time::{Duration, Instant};

/// A `brp_status`.
pub type Status = c_int;

const OK: Status = 0;
const INVALID_UTF8: Status = 2;
const INVALID_CONFIG: Status = 3;
const INVALID_COMPONENT: Status = 4;
const TIMEOUT: Status = 8;
const CLOSED: Status = 9;
const POSE_REJECTED: Status = 10;

/// `brp::Config`'s default `max_request_bytes`.
const DEFAULT_MAX_REQUEST_BYTES: usize = 8 << 20;

/// At most this many calls of an input are made.
const MAX_CALLS: usize = 32;

/// How long to wait for a response delivered by another thread.
const DELIVERY_WAIT: Duration = Duration::from_secs(2);

/// A request that lists every entity, to see whether a failed call changed
/// the world.
const ENTITIES: &CStr = cr#"{"id": 0, "request": "QUERY", "params": {"data": {}}}"#;

/// An opaque handle: `brp_app` or `brp_session`.
#[repr(C)]
pub struct Handle {
    _private: [u8; 0],
}

/// The functions of `include/brp.h` the checks call, as C declares them.
pub struct Abi {
    /// `brp_app_new`
    pub app_new: unsafe extern "C" fn(*const c_char, *mut *mut Handle) -> Status,
    /// `brp_app_free`
    pub app_free: unsafe extern "C" fn(*mut Handle),
    /// `brp_app_update`
    pub app_update: unsafe extern "C" fn(*const Handle) -> Status,
    /// `brp_app_register_component`
    pub app_register_component: unsafe extern "C" fn(*const Handle, *const c_char) -> Status,
    /// `brp_request`
    pub request: unsafe extern "C" fn(*const Handle, *const c_char, *mut *mut c_char) -> Status,
    /// `brp_last_error_message`
    pub last_error_message: unsafe extern "C" fn() -> *const c_char,
    /// `brp_pose_push`
    pub pose_push: unsafe extern "C" fn(*const Handle, *const c_char, *const u8, usize) -> Status,
    /// `brp_session_new`
    pub session_new: unsafe extern "C" fn(*const Handle, *mut *mut Handle) -> Status,
    /// `brp_session_free`
    pub session_free: unsafe extern "C" fn(*mut Handle),
    /// `brp_session_close`
    pub session_close: unsafe extern "C" fn(*const Handle) -> Status,
    /// `brp_session_submit`
    pub session_submit: unsafe extern "C" fn(*const Handle, *const c_char) -> Status,
    /// `brp_session_receive`
    pub session_receive: unsafe extern "C" fn(*const Handle, i64, *mut *mut c_char) -> Status,
    /// `brp_session_cancel`
    pub session_cancel: unsafe extern "C" fn(*const Handle, u64, *mut bool) -> Status,
    /// `brp_string_free`
    pub string_free: unsafe extern "C" fn(*mut c_char),
}

/// The `ffi` target: runs the script `data` (see the module documentation).
pub fn calls(abi: &Abi, data: &[u8]) {
    let mut rest = data;
    let config = CString::new(piece(&mut rest)).expect("a piece has no NUL");
    let mut run = Run::new(abi, &config);
    for _ in 0..MAX_CALLS {
        let Some(&op) = rest.first() else { break };
        if op == b'P' {
            run.push(&rest[1..]);
            break;
        }
        let piece = piece(&mut rest);
        let text = CString::new(piece.get(1..).unwrap_or_default()).expect("a piece has no NUL");
        match op {
            b'C' => run.register_component(&text),
            b'U' => run.update(),
            b'S' => run.submit(&text),
            b'X' => run.cancel(&text),
            b'T' => run.target = Some(text),
            _ => run.request(&CString::new(piece).expect("a piece has no NUL")),
        }
    }
    run.finish();
}

/// The bytes up to the next NUL (or the end), taking them and the NUL off
/// `rest`.
fn piece<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let piece = &rest[..end];
    *rest = rest.get(end + 1..).unwrap_or_default();
    piece
}

/// One script's app, session and bookkeeping.
struct Run<'a> {
    abi: &'a Abi,
    app: *mut Handle,
    max_bytes: usize,
    session: *mut Handle,
    target: Option<CString>,
    /// The ids the submitted requests' responses must carry.
    submitted: Vec<Option<u64>>,
    /// The ids of the responses received.
    received: Vec<Option<u64>>,
    /// The ids of the submitted watches, which answer once or more.
    watches: Vec<Option<u64>>,
}

impl<'a> Run<'a> {
    /// `brp_app_new(config)`, or the default app when it is refused.
    fn new(abi: &'a Abi, config: &CStr) -> Self {
        let mut app = null_mut();
        // SAFETY: a NUL-terminated string and a valid out-pointer.
        let status = unsafe { (abi.app_new)(config.as_ptr(), &mut app) };
        let mut run = Self {
            abi,
            app,
            max_bytes: DEFAULT_MAX_REQUEST_BYTES,
            session: null_mut(),
            target: None,
            submitted: Vec::new(),
            received: Vec::new(),
            watches: Vec::new(),
        };
        run.status("brp_app_new", status, &[INVALID_CONFIG, INVALID_UTF8]);
        if status == OK {
            assert!(!run.app.is_null(), "brp_app_new wrote no app");
            let text = config.to_str().expect("a valid config is UTF-8");
            let config = serde_json::from_str::<serde_json::Value>(text).ok();
            let max = config
                .as_ref()
                .and_then(|c| c["max_request_bytes"].as_u64());
            run.max_bytes = max.map_or(DEFAULT_MAX_REQUEST_BYTES, |m| m as usize);
        } else {
            assert!(run.app.is_null(), "brp_app_new wrote an app and failed");
            // SAFETY: as above.
            let status = unsafe { (abi.app_new)(c"".as_ptr(), &mut run.app) };
            run.status("brp_app_new", status, &[]);
        }
        run
    }

    /// Checks a call's status and the thread's last error message.
    fn status(&self, function: &str, status: Status, allowed: &[Status]) {
        // SAFETY: the library returns a NUL-terminated string valid until the
        // thread's next call, which comes after this copy.
        let message = unsafe { CStr::from_ptr((self.abi.last_error_message)()) };
        let message = message.to_string_lossy();
        assert!(
            status == OK || allowed.contains(&status),
            "{function} returned status {status}: {message}"
        );
        if status == OK {
            assert!(
                message.is_empty(),
                "{function} succeeded with an error: {message}"
            );
        } else {
            let named = message
                .strip_prefix(function)
                .is_some_and(|m| m.starts_with(": "));
            assert!(named, "{function} failed with the message {message:?}");
        }
    }

    /// Takes a string the library returned, freeing it.
    fn take(&self, text: *mut c_char) -> String {
        assert!(!text.is_null(), "a NULL result with BRP_STATUS_OK");
        // SAFETY: the library returned this NUL-terminated string, which is
        // freed once, after the copy.
        unsafe {
            let copy = CStr::from_ptr(text).to_str().map(str::to_owned);
            (self.abi.string_free)(text);
            copy.expect("responses are UTF-8")
        }
    }

    /// `brp_request(text)` and its response, or `None` on invalid UTF-8.
    fn raw_request(&self, text: &CStr) -> Option<String> {
        let mut out = null_mut();
        // SAFETY: a live app, a NUL-terminated string, a valid out-pointer.
        let status = unsafe { (self.abi.request)(self.app, text.as_ptr(), &mut out) };
        self.status("brp_request", status, &[INVALID_UTF8]);
        if status != OK {
            assert!(out.is_null(), "brp_request wrote a response and failed");
            return None;
        }
        Some(self.take(out))
    }

    /// The world's entities, as the response text of [`ENTITIES`].
    fn entities(&self) -> String {
        self.raw_request(ENTITIES)
            .expect("the entity query is UTF-8")
    }

    fn request(&mut self, text: &CStr) {
        if wire::may_park(&text.to_string_lossy()) {
            return self.submit(text);
        }
        let before = self.entities();
        let Some(response) = self.raw_request(text) else {
            return;
        };
        let request = text.to_str().expect("a request answered is UTF-8");
        let expected = wire::expected_id(request, self.max_bytes);
        let response = wire::check_response(&response, expected)
            .unwrap_or_else(|why| panic!("brp_request({request:?}): {why}"));
        if wire::error_code(&response).is_some() {
            assert_eq!(self.entities(), before, "a failed request {request:?}");
        }
    }

    fn register_component(&mut self, name: &CStr) {
        // SAFETY: a live app and a NUL-terminated string.
        let status = unsafe { (self.abi.app_register_component)(self.app, name.as_ptr()) };
        let allowed = [INVALID_COMPONENT, INVALID_UTF8];
        self.status("brp_app_register_component", status, &allowed);
    }

    fn update(&mut self) {
        // SAFETY: a live app.
        let status = unsafe { (self.abi.app_update)(self.app) };
        self.status("brp_app_update", status, &[]);
    }

    fn push(&mut self, bytes: &[u8]) {
        let before = self.entities();
        let target = self.target.as_ref().map_or(null(), |t| t.as_ptr());
        // SAFETY: a live app, NULL or a NUL-terminated string, and `bytes`.
        let status = unsafe { (self.abi.pose_push)(self.app, target, bytes.as_ptr(), bytes.len()) };
        let allowed = [POSE_REJECTED, INVALID_CONFIG, INVALID_UTF8];
        self.status("brp_pose_push", status, &allowed);
        if status != OK {
            assert_eq!(self.entities(), before, "a rejected push changed the world");
        }
    }

    /// The session, made on first use.
    fn session(&mut self) -> *mut Handle {
        if self.session.is_null() {
            // SAFETY: a live app and a valid out-pointer.
            let status = unsafe { (self.abi.session_new)(self.app, &mut self.session) };
            self.status("brp_session_new", status, &[]);
            assert!(!self.session.is_null(), "brp_session_new wrote no session");
        }
        self.session
    }

    fn submit(&mut self, text: &CStr) {
        let session = self.session();
        // SAFETY: a live session and a NUL-terminated string.
        let status = unsafe { (self.abi.session_submit)(session, text.as_ptr()) };
        self.status("brp_session_submit", status, &[INVALID_UTF8]);
        if status == OK {
            let request = text.to_str().expect("a request submitted is UTF-8");
            let id = wire::expected_id(request, self.max_bytes);
            self.submitted.push(id);
            if wire::is_watch(request) {
                self.watches.push(id);
            }
        }
        while self.receive(TIMEOUT) {}
    }

    /// Receives one response without waiting; false when there is none
    /// (the status is then `empty`, TIMEOUT or CLOSED).
    fn receive(&mut self, empty: Status) -> bool {
        let mut out = null_mut();
        // SAFETY: a live session and a valid out-pointer.
        let status = unsafe { (self.abi.session_receive)(self.session, 0, &mut out) };
        self.status("brp_session_receive", status, &[empty]);
        if status != OK {
            assert!(out.is_null(), "brp_session_receive wrote and failed");
            return false;
        }
        let text = self.take(out);
        let id = wire::expected_id(&text, usize::MAX); // read as a request's
        wire::check_response(&text, id).unwrap_or_else(|why| panic!("received {why}"));
        self.received.push(id);
        true
    }

    fn cancel(&mut self, id: &CStr) {
        let id = id.to_string_lossy().trim().parse().unwrap_or(0);
        let session = self.session();
        let mut found = false;
        // SAFETY: a live session and a valid out-pointer.
        let status = unsafe { (self.abi.session_cancel)(session, id, &mut found) };
        self.status("brp_session_cancel", status, &[]);
        while self.receive(TIMEOUT) {}
    }

    /// Closes and drains the session, checks that every submission was
    /// answered once, and frees the handles.
    fn finish(mut self) {
        if !self.session.is_null() {
            // SAFETY: a live session.
            let status = unsafe { (self.abi.session_close)(self.session) };
            self.status("brp_session_close", status, &[]);
            let deadline = Instant::now() + DELIVERY_WAIT;
            loop {
                while self.receive(CLOSED) {}
                if self.received.len() >= self.submitted.len() || Instant::now() > deadline {
                    break;
                }
                thread::sleep(Duration::from_millis(1));
            }
            // A watch answers once or more; every other submission once.
            let watched = |id: &Option<u64>| self.watches.contains(id);
            let (streamed, mut received): (Vec<Option<u64>>, Vec<_>) =
                self.received.iter().partition(|id| watched(id));
            let (streams, mut submitted): (Vec<Option<u64>>, Vec<_>) =
                self.submitted.iter().partition(|id| watched(id));
            submitted.sort_unstable();
            received.sort_unstable();
            assert_eq!(received, submitted, "one response per submission");
            for id in streams {
                assert!(streamed.contains(&id), "the watch {id:?} never answered");
            }
            // SAFETY: a session from brp_session_new, freed once.
            unsafe { (self.abi.session_free)(self.session) };
        }
        // SAFETY: an app from brp_app_new, freed once.
        unsafe { (self.abi.app_free)(self.app) };
    }
}
